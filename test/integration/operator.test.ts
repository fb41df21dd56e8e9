/**
 * The operator against a real control plane, running as its own process under its own RBAC. The tests play
 * the kubelet (pods are marked Ready or crash-looping through the status subresource); kube-controller-manager
 * turns Deployments into ReplicaSets and pods and garbage-collects owned objects, as in any cluster.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import yaml from 'js-yaml';
import type { ModelDeployment } from '../../operator/src/api/v1alpha1/schema.js';
import {
  createNamespace,
  eventually,
  installCrds,
  kubeConfig,
  kubectl,
  kubectlOk,
} from '../support/cluster.js';
import {
  installRbac,
  markPodsCrashLooping,
  markPodsReady,
  operatorKubeconfig,
  operatorUser,
  startOperator,
  writesBy,
  type OperatorProcess,
} from '../support/operator.js';

let operator: OperatorProcess;
let operatorConfig: string;
const kc = kubeConfig();
const apps = kc.makeApiClient(k8s.AppsV1Api);
const core = kc.makeApiClient(k8s.CoreV1Api);
const policy = kc.makeApiClient(k8s.PolicyV1Api);
const autoscaling = kc.makeApiClient(k8s.AutoscalingV2Api);
const networking = kc.makeApiClient(k8s.NetworkingV1Api);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);

beforeAll(async () => {
  await installCrds();
  await installRbac();
  operatorConfig = await operatorKubeconfig();
  operator = await startOperator({
    kubeconfig: operatorConfig,
    args: ['--no-leader-elect', '--log-level=debug'],
  });
}, 60_000);

afterAll(async () => {
  const code = await operator?.stop();
  expect(code).toBe(0);
}, 30_000);

function manifest(name: string, spec: object): string {
  return yaml.dump({
    apiVersion: 'modelship.dev/v1alpha1',
    kind: 'ModelDeployment',
    metadata: { name },
    spec,
  });
}

async function apply(ns: string, name: string, spec: object): Promise<void> {
  await kubectlOk(['apply', '-n', ns, '-f', '-'], manifest(name, spec));
}

async function getMd(ns: string, name: string): Promise<ModelDeployment> {
  return (await custom.getNamespacedCustomObject({
    group: 'modelship.dev',
    version: 'v1alpha1',
    plural: 'modeldeployments',
    namespace: ns,
    name,
  })) as ModelDeployment;
}

async function deploymentsOf(ns: string, name: string): Promise<k8s.V1Deployment[]> {
  return (
    await apps.listNamespacedDeployment({ namespace: ns, labelSelector: `modelship.dev/deployment=${name}` })
  ).items.filter((d) => !d.metadata?.deletionTimestamp);
}

async function onlyRevision(ns: string, name: string): Promise<string> {
  return eventually(async () => {
    const ds = await deploymentsOf(ns, name);
    return ds.length === 1 && ds[0]!.metadata!.labels!['modelship.dev/revision'];
  });
}

/** Replicas per revision, as the operator scaled each revision's Deployment. */
async function replicasByRevision(ns: string, name: string): Promise<Record<string, number | undefined>> {
  return Object.fromEntries(
    (await deploymentsOf(ns, name)).map((d) => [
      d.metadata!.labels!['modelship.dev/revision']!,
      d.spec?.replicas,
    ]),
  );
}

async function mainSelector(ns: string, name: string): Promise<string | undefined> {
  const svc = await core.readNamespacedService({ namespace: ns, name });
  return svc.spec?.selector?.['modelship.dev/revision'];
}

const condition = (md: ModelDeployment, type: string) => md.status?.conditions?.find((c) => c.type === type);

async function eventsOf(ns: string, name: string): Promise<k8s.CoreV1Event[]> {
  return (
    await core.listNamespacedEvent({
      namespace: ns,
      fieldSelector: `involvedObject.name=${name},involvedObject.kind=ModelDeployment`,
    })
  ).items;
}

const model = (version: string, extra: object = {}) => ({
  version,
  storageUri: `file:///models/m-${version}.onnx`,
  ...extra,
});

describe('creating a ModelDeployment', () => {
  let ns: string;
  let rev: string;
  beforeAll(async () => {
    ns = await createNamespace('create');
    await core.createNamespacedServiceAccount({
      namespace: ns,
      body: { metadata: { name: 'model-reader' } },
    });
    await apply(ns, 'web', {
      model: model('1.0.0', { name: 'churn', sha256: 'a'.repeat(64) }),
      runtime: {
        replicas: 2,
        resources: { requests: { cpu: '250m', memory: '128Mi' }, limits: { memory: '256Mi' } },
        batching: { maxBatchSize: 16 },
        threads: { intraOp: 2 },
        env: [{ name: 'EXTRA', value: 'yes' }],
        nodeSelector: { 'kubernetes.io/os': 'linux' },
        tolerations: [{ key: 'gpu', operator: 'Exists', effect: 'NoSchedule' }],
        serviceAccountName: 'model-reader',
      },
    });
    rev = await onlyRevision(ns, 'web');
  }, 60_000);

  it('makes a Deployment for the revision with the serving pod, probes and locked-down security', async () => {
    const d = await apps.readNamespacedDeployment({ namespace: ns, name: `web-${rev}` });
    expect(rev).toMatch(/^[0-9a-z]{10}$/);
    expect(d.metadata?.labels).toMatchObject({
      'modelship.dev/deployment': 'web',
      'modelship.dev/revision': rev,
      'app.kubernetes.io/instance': 'web',
      'app.kubernetes.io/version': '1.0.0',
      'app.kubernetes.io/managed-by': 'modelship',
    });
    const md = await getMd(ns, 'web');
    expect(d.metadata?.ownerReferences).toEqual([
      {
        apiVersion: 'modelship.dev/v1alpha1',
        kind: 'ModelDeployment',
        name: 'web',
        uid: md.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(d.spec?.replicas).toBe(2);
    expect(d.spec?.selector.matchLabels).toEqual({
      'modelship.dev/deployment': 'web',
      'modelship.dev/revision': rev,
    });
    const pod = d.spec!.template.spec!;
    const c = pod.containers[0]!;
    expect(c.image).toBe('modelship/server:0.1.0');
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({
      MODELSHIP_MODEL_NAME: 'churn',
      MODELSHIP_MODEL_VERSION: '1.0.0',
      MODELSHIP_MODEL_URI: 'file:///models/m-1.0.0.onnx',
      MODELSHIP_MODEL_SHA256: 'a'.repeat(64),
      MODELSHIP_MAX_BATCH_SIZE: '16',
      MODELSHIP_MAX_QUEUE_DELAY_MS: '0',
      MODELSHIP_MAX_QUEUE_SIZE: '1024',
      MODELSHIP_INTRA_OP_THREADS: '2',
      MODELSHIP_REVISION: rev,
      EXTRA: 'yes',
    });
    expect(c.readinessProbe?.httpGet).toMatchObject({ path: '/v2/health/ready', port: 'http' });
    expect(c.livenessProbe?.httpGet).toMatchObject({ path: '/v2/health/live', port: 'http' });
    expect(
      (c.startupProbe?.failureThreshold ?? 0) * (c.startupProbe?.periodSeconds ?? 0),
    ).toBeGreaterThanOrEqual(300);
    expect(c.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(c.resources).toEqual({ requests: { cpu: '250m', memory: '128Mi' }, limits: { memory: '256Mi' } });
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(pod.tolerations).toEqual([{ key: 'gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(pod.serviceAccountName).toBe('model-reader');
    expect(c.volumeMounts?.map((m) => m.mountPath).sort()).toEqual(['/tmp', '/var/cache/modelship']);
    expect(d.spec?.template.metadata?.annotations).toMatchObject({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '9090',
    });
    expect(c.lifecycle?.preStop?.sleep?.seconds).toBeGreaterThan(0);
    expect(c.terminationMessagePolicy).toBe('FallbackToLogsOnError');
  });

  it('makes the model Service, a Service per revision and a PodDisruptionBudget for two replicas', async () => {
    // The same reconcile applies them right after the Deployment the set-up waited for.
    const main = await eventually(() => core.readNamespacedService({ namespace: ns, name: 'web' }), 10_000);
    expect(main.spec?.selector).toEqual({ 'modelship.dev/deployment': 'web', 'modelship.dev/revision': rev });
    expect(main.spec?.ports?.[0]).toMatchObject({ name: 'http', port: 80, targetPort: 'http' });
    const perRevision = await eventually(
      () => core.readNamespacedService({ namespace: ns, name: `web-${rev}` }),
      10_000,
    );
    expect(perRevision.spec?.selector).toEqual(main.spec?.selector);
    const pdb = await eventually(
      () => policy.readNamespacedPodDisruptionBudget({ namespace: ns, name: `web-${rev}` }),
      10_000,
    );
    expect(pdb.spec?.maxUnavailable).toBe(1);
    expect(pdb.spec?.selector?.matchLabels).toEqual(main.spec?.selector);
  });

  it('isolates the serving pods with a NetworkPolicy the API server accepts (spec.networkPolicy is on by default)', async () => {
    const np = await eventually(
      () => networking.readNamespacedNetworkPolicy({ namespace: ns, name: 'web' }),
      10_000,
    );
    expect(np.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'ModelDeployment', name: 'web' });
    expect(np.spec?.podSelector?.matchLabels).toEqual({
      'modelship.dev/deployment': 'web',
      'app.kubernetes.io/component': 'model-server',
    });
    expect(np.spec?.ingress?.map((r) => r.ports?.map((p) => p.port))).toEqual([[8080], [9090]]);
  });

  it('records an Event for the new revision', async () => {
    const events = await eventually(async () => {
      const all = await eventsOf(ns, 'web');
      return all.some((e) => e.reason === 'RevisionCreated') && all;
    });
    expect(events.map((e) => [e.type, e.reason, e.message])).toContainEqual([
      'Normal',
      'RevisionCreated',
      `Created revision ${rev} (version 1.0.0)`,
    ]);
  });
});

describe('status of a new ModelDeployment', () => {
  it('reports Pending until pods are ready, then Ready, in status and in kubectl get', async () => {
    const ns = await createNamespace('status');
    await apply(ns, 'web', { model: model('1.0.0', { name: 'churn' }), runtime: { replicas: 2 } });
    const rev = await onlyRevision(ns, 'web');
    const pending = await eventually(async () => {
      const md = await getMd(ns, 'web');
      return md.status?.phase === 'Pending' && md;
    });
    expect(condition(pending, 'Ready')).toMatchObject({ status: 'False', reason: 'NoReadyReplicas' });
    expect(pending.status?.url).toBe(`http://web.${ns}.svc.cluster.local/v2/models/churn`);
    expect(pending.status?.observedGeneration).toBe(pending.metadata.generation);

    await markPodsReady(ns, `modelship.dev/revision=${rev}`, 2);
    const ready = await eventually(async () => {
      const md = await getMd(ns, 'web');
      return md.status?.phase === 'Ready' && md;
    });
    expect(condition(ready, 'Ready')).toMatchObject({ status: 'True', reason: 'Serving' });
    expect(condition(ready, 'Progressing')).toMatchObject({ status: 'False', reason: 'RolloutComplete' });
    expect(condition(ready, 'Degraded')).toMatchObject({ status: 'False' });
    expect(ready.status?.stable).toEqual({ revision: rev, version: '1.0.0', weight: 100, readyReplicas: 2 });
    const row = (await kubectlOk(['get', 'md', 'web', '-n', ns, '--no-headers'])).trim().split(/\s+/);
    expect(row.slice(0, 5)).toEqual(['web', 'churn', '1.0.0', 'Ready', 'True']);
  });

  it('removes the NetworkPolicy when spec.networkPolicy.enabled is false, and puts it back when it is not', async () => {
    const ns = await createNamespace('netpol');
    const read = () =>
      networking.readNamespacedNetworkPolicy({ namespace: ns, name: 'web' }).then(
        (p) => p,
        () => undefined,
      );
    await apply(ns, 'web', { model: model('1.0.0') });
    await onlyRevision(ns, 'web');
    await eventually(read, 10_000);
    await apply(ns, 'web', { model: model('1.0.0'), networkPolicy: { enabled: false } });
    await eventually(async () => (await read()) === undefined, 10_000);
    await apply(ns, 'web', {
      model: model('1.0.0'),
      networkPolicy: { from: [{ namespaceSelector: { matchLabels: { team: 'risk' } } }] },
    });
    const np = await eventually(read, 10_000);
    expect(np.spec?.ingress?.[0]?._from?.at(-1)).toEqual({
      namespaceSelector: { matchLabels: { team: 'risk' } },
    });
  });

  it('scales without a new revision, and drops the PodDisruptionBudget at one replica', async () => {
    const ns = await createNamespace('scale');
    await apply(ns, 'web', { model: model('1.0.0'), runtime: { replicas: 2 } });
    const rev = await onlyRevision(ns, 'web');
    await eventually(() =>
      policy.readNamespacedPodDisruptionBudget({ namespace: ns, name: `web-${rev}` }).catch(() => undefined),
    );
    await apply(ns, 'web', { model: model('1.0.0'), runtime: { replicas: 1 } });
    await eventually(
      async () =>
        (await apps.readNamespacedDeployment({ namespace: ns, name: `web-${rev}` })).spec?.replicas === 1,
    );
    await eventually(
      async () => (await policy.listNamespacedPodDisruptionBudget({ namespace: ns })).items.length === 0,
    );
    expect(await onlyRevision(ns, 'web')).toBe(rev);
  });
});

describe('a revision whose pods cannot be created', () => {
  it('reports Failed with the reason the API server gave', async () => {
    const ns = await createNamespace('nosa');
    await apply(ns, 'orphan', { model: model('1'), runtime: { serviceAccountName: 'does-not-exist' } });
    const md = await eventually(async () => {
      const m = await getMd(ns, 'orphan');
      return m.status?.phase === 'Failed' && m;
    });
    expect(condition(md, 'Ready')).toMatchObject({ status: 'False' });
    expect(condition(md, 'Degraded')).toMatchObject({ status: 'True', reason: 'RevisionFailed' });
    expect(condition(md, 'Degraded')?.message).toMatch(/FailedCreate.*serviceaccount.*does-not-exist/i);
  });
});

describe('autoscaling and volumes', () => {
  it('creates a HorizontalPodAutoscaler and leaves replicas to it', async () => {
    const ns = await createNamespace('hpa');
    await apply(ns, 'auto', {
      model: model('1'),
      runtime: { autoscaling: { minReplicas: 2, maxReplicas: 7, targetCPUUtilizationPercentage: 65 } },
    });
    const rev = await onlyRevision(ns, 'auto');
    const hpa = await eventually(() =>
      autoscaling
        .readNamespacedHorizontalPodAutoscaler({ namespace: ns, name: `auto-${rev}` })
        .catch(() => undefined),
    );
    expect(hpa.spec).toMatchObject({
      minReplicas: 2,
      maxReplicas: 7,
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: `auto-${rev}` },
    });
    expect(hpa.spec?.metrics?.[0]?.resource).toMatchObject({
      name: 'cpu',
      target: { type: 'Utilization', averageUtilization: 65 },
    });
    const d = await apps.readNamespacedDeployment({ namespace: ns, name: `auto-${rev}` });
    const ours = d.metadata?.managedFields?.find((f) => f.manager === 'modelship-operator');
    expect(JSON.stringify(ours?.fieldsV1)).not.toContain('f:replicas');
    // The PDB follows minReplicas.
    await eventually(() =>
      policy.readNamespacedPodDisruptionBudget({ namespace: ns, name: `auto-${rev}` }).catch(() => undefined),
    );
    // kube-controller-manager's HPA controller keeps acting on what it scales (it sets the replicas to
    // minReplicas at its next sync, up to 15 s later), which changes this ModelDeployment's status: remove it so
    // that it cannot write during the steady-state test below.
    await kubectlOk(['delete', 'md', 'auto', '-n', ns, '--wait=true', '--timeout=60s']);
  });

  it('mounts a pvc:// model read-only', async () => {
    const ns = await createNamespace('pvc');
    await apply(ns, 'vol', { model: { version: '3', storageUri: 'pvc://models/team/a/model.onnx' } });
    const rev = await onlyRevision(ns, 'vol');
    const pod = (await apps.readNamespacedDeployment({ namespace: ns, name: `vol-${rev}` })).spec!.template
      .spec!;
    expect(pod.volumes).toContainEqual({
      name: 'model-pvc',
      persistentVolumeClaim: { claimName: 'models', readOnly: true },
    });
    expect(pod.containers[0]!.volumeMounts).toContainEqual({
      name: 'model-pvc',
      mountPath: '/mnt/pvc/models',
      readOnly: true,
    });
    const env = pod.containers[0]!.env!.find((e) => e.name === 'MODELSHIP_MODEL_URI');
    expect(env?.value).toBe('pvc://models/team/a/model.onnx');
  });
});

describe('changing the model', () => {
  /** A fresh namespace where `sw` serves version 1 from a ready revision. */
  async function servingV1(): Promise<{ ns: string; v1: string }> {
    const ns = await createNamespace('switch');
    await apply(ns, 'sw', { model: model('1') });
    const v1 = await onlyRevision(ns, 'sw');
    await markPodsReady(ns, `modelship.dev/revision=${v1}`, 1);
    await eventually(async () => (await getMd(ns, 'sw')).status?.phase === 'Ready');
    return { ns, v1 };
  }

  /** Applies `version` and resolves with its revision once its Deployment stands beside `beside`. */
  async function startRevision(ns: string, version: string, beside: string): Promise<string> {
    await apply(ns, 'sw', { model: model(version) });
    return eventually(async () => {
      const revs = (await deploymentsOf(ns, 'sw')).map((d) => d.metadata!.labels!['modelship.dev/revision']!);
      return revs.length === 2 && revs.includes(beside) && revs.find((r) => r !== beside);
    });
  }

  it('starts the new revision beside the old one, which keeps all traffic until the new one is ready', async () => {
    const { ns, v1 } = await servingV1();
    const v2 = await startRevision(ns, '2', v1);
    // The status says the operator has seen v2 not yet ready; the same reconcile decided where traffic goes.
    const md = await eventually(async () => {
      const m = await getMd(ns, 'sw');
      return m.status?.phase === 'Progressing' && m;
    });
    expect(condition(md, 'Progressing')).toMatchObject({ status: 'True', reason: 'NewRevisionProgressing' });
    expect(condition(md, 'Progressing')?.message).toContain(`waiting for revision ${v2} (version 2)`);
    expect(condition(md, 'Ready')?.status).toBe('True');
    expect(md.status?.stable?.version).toBe('1');
    expect(await mainSelector(ns, 'sw')).toBe(v1);
  });

  it('moves traffic once the new revision is ready, then keeps the old one scaled to 0 for undo', async () => {
    const { ns, v1 } = await servingV1();
    const v2 = await startRevision(ns, '2', v1);
    await markPodsReady(ns, `modelship.dev/revision=${v2}`, 1);
    await eventually(async () => (await mainSelector(ns, 'sw')) === v2);
    await eventually(async () => {
      const replicas = await replicasByRevision(ns, 'sw');
      return replicas[v1] === 0 && replicas[v2] === 1;
    });
    const md = await eventually(async () => {
      const m = await getMd(ns, 'sw');
      return m.status?.phase === 'Ready' && m.status.stable?.version === '2' && m;
    });
    expect(md.status?.stable?.revision).toBe(v2);
    expect(md.status?.history?.map((h) => [h.revision, h.outcome])).toEqual([
      [v2, 'Promoted'],
      [v1, 'Promoted'],
    ]);
    // The old revision's Service stays with its Deployment: an undo is a scale-up and a switch.
    const services = (await core.listNamespacedService({ namespace: ns })).items.map((s) => s.metadata!.name);
    expect(services.sort()).toEqual(['sw', `sw-${v1}`, `sw-${v2}`].sort());
    const reasons = (await eventsOf(ns, 'sw')).map((e) => `${e.reason}: ${e.message}`);
    expect(reasons).toContain(
      `TrafficSwitched: Traffic moved from revision ${v1} (version 1) to revision ${v2} (version 2)`,
    );
    expect(reasons.filter((r) => r.startsWith('RevisionRemoved'))).toEqual([]);
  });

  it('with revisionHistoryLimit 0, removes the old revision once traffic moved', async () => {
    const ns = await createNamespace('switch-nohistory');
    const rollout = { revisionHistoryLimit: 0 };
    await apply(ns, 'sw', { model: model('1'), rollout });
    const v1 = await onlyRevision(ns, 'sw');
    await markPodsReady(ns, `modelship.dev/revision=${v1}`, 1);
    await eventually(async () => (await getMd(ns, 'sw')).status?.phase === 'Ready');
    await apply(ns, 'sw', { model: model('2'), rollout });
    const v2 = await eventually(async () => {
      const revs = (await deploymentsOf(ns, 'sw')).map((d) => d.metadata!.labels!['modelship.dev/revision']!);
      return revs.length === 2 && revs.find((r) => r !== v1);
    });
    await markPodsReady(ns, `modelship.dev/revision=${v2}`, 1);
    await eventually(async () => (await mainSelector(ns, 'sw')) === v2);
    expect(await onlyRevision(ns, 'sw')).toBe(v2);
    await eventually(async () =>
      (await core.listNamespacedService({ namespace: ns })).items.every(
        (s) => !s.metadata?.name?.includes(v1),
      ),
    );
    const reasons = await eventually(async () => {
      const all = (await eventsOf(ns, 'sw')).map((e) => `${e.reason}: ${e.message}`);
      return all.some((r) => r.startsWith('RevisionRemoved')) && all;
    });
    expect(reasons).toEqual(
      expect.arrayContaining([
        `TrafficSwitched: Traffic moved from revision ${v1} (version 1) to revision ${v2} (version 2)`,
        `RevisionRemoved: Removed revision ${v1} (version 1)`,
      ]),
    );
  });

  it('never sends traffic to a failing revision, and says why in conditions and Events', async () => {
    const { ns, v1 } = await servingV1();
    const v3 = await startRevision(ns, '3', v1);
    const why = 'model load failed: sha256 mismatch for file:///models/m-3.onnx (expected aaaa, got bbbb)';
    await markPodsCrashLooping(ns, `modelship.dev/revision=${v3}`, why);
    const md = await eventually(async () => {
      const m = await getMd(ns, 'sw');
      return m.status?.phase === 'Degraded' && m;
    });
    expect(condition(md, 'Degraded')).toMatchObject({ status: 'True', reason: 'RevisionFailed' });
    expect(condition(md, 'Degraded')?.message).toContain('CrashLoopBackOff');
    expect(condition(md, 'Degraded')?.message).toContain(why);
    expect(condition(md, 'Progressing')).toMatchObject({ status: 'False', reason: 'RevisionFailed' });
    expect(condition(md, 'Ready')?.status).toBe('True');
    expect(md.status?.stable).toMatchObject({ revision: v1, version: '1' });
    expect(await mainSelector(ns, 'sw')).toBe(v1);
    const warning = await eventually(async () =>
      (await eventsOf(ns, 'sw')).find((e) => e.reason === 'RevisionFailed'),
    );
    expect(warning.type).toBe('Warning');
    expect(warning.message).toContain(why);
    expect(await kubectlOk(['describe', 'md', 'sw', '-n', ns])).toContain('RevisionFailed');
  });

  it('replaces a failed revision when the spec changes again, keeping the serving one', async () => {
    const { ns, v1 } = await servingV1();
    const failing = await startRevision(ns, '3', v1);
    await markPodsCrashLooping(ns, `modelship.dev/revision=${failing}`, 'model load failed');
    await eventually(async () => (await getMd(ns, 'sw')).status?.phase === 'Degraded');
    await apply(ns, 'sw', { model: model('4') });
    const v4 = await eventually(async () => {
      const revs = (await deploymentsOf(ns, 'sw')).map((d) => d.metadata!.labels!['modelship.dev/revision']!);
      return revs.length === 2 && !revs.includes(failing) && revs.find((r) => r !== v1);
    });
    expect(await mainSelector(ns, 'sw')).toBe(v1);
    await markPodsReady(ns, `modelship.dev/revision=${v4}`, 1);
    await eventually(async () => (await mainSelector(ns, 'sw')) === v4);
    const md = await eventually(async () => {
      const m = await getMd(ns, 'sw');
      return m.status?.phase === 'Ready' && m;
    });
    expect(condition(md, 'Degraded')?.status).toBe('False');
  });
});

describe('repairs', () => {
  /** A fresh namespace with `fix` (two replicas) and its revision, its PodDisruptionBudget in place. */
  async function fresh(): Promise<{ ns: string; rev: string }> {
    const ns = await createNamespace('repair');
    await apply(ns, 'fix', { model: model('1'), runtime: { replicas: 2 } });
    const rev = await onlyRevision(ns, 'fix');
    await eventually(() =>
      policy.readNamespacedPodDisruptionBudget({ namespace: ns, name: `fix-${rev}` }).catch(() => undefined),
    );
    return { ns, rev };
  }

  it('puts back a Deployment edited by hand', async () => {
    const { ns, rev } = await fresh();
    await kubectlOk([
      'patch',
      'deployment',
      `fix-${rev}`,
      '-n',
      ns,
      '--type=merge',
      '-p',
      '{"spec":{"replicas":5}}',
    ]);
    await kubectlOk(['set', 'image', `deployment/fix-${rev}`, '-n', ns, 'server=evil/image:latest']);
    await eventually(async () => {
      const d = await apps.readNamespacedDeployment({ namespace: ns, name: `fix-${rev}` });
      return (
        d.spec?.replicas === 2 && d.spec.template.spec?.containers[0]?.image === 'modelship/server:0.1.0'
      );
    });
  });

  it('recreates owned objects deleted by hand', async () => {
    const { ns, rev } = await fresh();
    await eventually(async () => (await mainSelector(ns, 'fix').catch(() => undefined)) === rev);
    await kubectlOk(['delete', 'service', 'fix', '-n', ns]);
    await kubectlOk(['delete', 'deployment', `fix-${rev}`, '-n', ns]);
    await kubectlOk(['delete', 'pdb', `fix-${rev}`, '-n', ns]);
    await eventually(async () => (await mainSelector(ns, 'fix').catch(() => undefined)) === rev);
    await eventually(
      async () =>
        (await apps.readNamespacedDeployment({ namespace: ns, name: `fix-${rev}` }).catch(() => undefined))
          ?.metadata?.deletionTimestamp === undefined,
    );
    await eventually(() =>
      policy.readNamespacedPodDisruptionBudget({ namespace: ns, name: `fix-${rev}` }).catch(() => undefined),
    );
  });

  it('puts back a Service selector pointed elsewhere by hand', async () => {
    const { ns, rev } = await fresh();
    await eventually(async () => (await mainSelector(ns, 'fix').catch(() => undefined)) === rev);
    await kubectlOk([
      'patch',
      'service',
      'fix',
      '-n',
      ns,
      '--type=merge',
      '-p',
      '{"spec":{"selector":{"modelship.dev/revision":"other"}}}',
    ]);
    await eventually(async () => (await mainSelector(ns, 'fix')) === rev);
  });
});

describe('deleting a ModelDeployment', () => {
  it('removes everything it owned, through garbage collection', async () => {
    const ns = await createNamespace('delete');
    await apply(ns, 'gone', { model: model('1'), runtime: { replicas: 2 } });
    const rev = await onlyRevision(ns, 'gone');
    await markPodsReady(ns, `modelship.dev/revision=${rev}`, 2);
    await eventually(async () => (await getMd(ns, 'gone')).status?.phase === 'Ready');
    await kubectlOk(['delete', 'md', 'gone', '-n', ns, '--wait=false']);
    await eventually(async () => {
      const [d, s, p, pods] = await Promise.all([
        apps.listNamespacedDeployment({ namespace: ns }),
        core.listNamespacedService({ namespace: ns }),
        policy.listNamespacedPodDisruptionBudget({ namespace: ns }),
        core.listNamespacedPod({ namespace: ns }),
      ]);
      return d.items.length + s.items.length + p.items.length + pods.items.length === 0;
    }, 60_000);
  }, 90_000);
});

describe('steady state', () => {
  it('makes no writes at all for 30 s when nothing changes', async () => {
    const ns = await createNamespace('steady');
    for (const name of ['a', 'b', 'c'])
      await apply(ns, name, { model: model('1'), runtime: { replicas: 2 } });
    for (const name of ['a', 'b', 'c']) {
      await markPodsReady(
        ns,
        `modelship.dev/deployment=${name},modelship.dev/revision=${await onlyRevision(ns, name)}`,
        2,
      );
    }
    await eventually(async () => {
      for (const name of ['a', 'b', 'c']) if ((await getMd(ns, name)).status?.phase !== 'Ready') return false;
      return true;
    });
    // Settled: a quiet stretch with no write by the operator (on a busy machine the last writes may lag).
    await eventually(async () => {
      const from = new Date().toISOString();
      await new Promise((r) => setTimeout(r, 2000));
      return writesBy(operatorUser, from).length === 0;
    }, 60_000);
    const since = new Date().toISOString();
    const before = await operator.metrics();
    await new Promise((r) => setTimeout(r, 30_000));
    const writes = writesBy(operatorUser, since);
    expect(writes.map((w) => `${w.verb} ${w.requestURI}`)).toEqual([]);
    // The operator's own request counter agrees.
    const count = (m: string) =>
      m
        .split('\n')
        .filter((l) => l.startsWith('modelship_operator_api_requests_total'))
        .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    expect(count(await operator.metrics())).toBe(count(before));
  }, 150_000);
});

describe('restarting the operator mid-switch', () => {
  it('picks up where it was, without duplicates', async () => {
    const ns = await createNamespace('restart');
    await apply(ns, 'rs', { model: model('1') });
    const v1 = await onlyRevision(ns, 'rs');
    await markPodsReady(ns, `modelship.dev/revision=${v1}`, 1);
    await eventually(async () => (await getMd(ns, 'rs')).status?.phase === 'Ready');
    await apply(ns, 'rs', { model: model('2') });
    const v2 = await eventually(async () => {
      const revs = (await deploymentsOf(ns, 'rs')).map((d) => d.metadata!.labels!['modelship.dev/revision']!);
      return revs.length === 2 && revs.find((r) => r !== v1);
    });
    await operator.kill();
    await markPodsReady(ns, `modelship.dev/revision=${v2}`, 1);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await mainSelector(ns, 'rs')).toBe(v1); // nobody switched while the operator was down
    operator = await startOperator({ kubeconfig: operatorConfig, args: ['--no-leader-elect'] });
    await eventually(async () => (await mainSelector(ns, 'rs')) === v2);
    await eventually(async () => {
      const replicas = await replicasByRevision(ns, 'rs');
      return replicas[v1] === 0 && replicas[v2] === 1;
    });
    const services = (await core.listNamespacedService({ namespace: ns })).items
      .map((s) => s.metadata!.name)
      .sort();
    expect(services).toEqual(['rs', `rs-${v1}`, `rs-${v2}`].sort());
    const rss = await apps.listNamespacedReplicaSet({
      namespace: ns,
      labelSelector: `modelship.dev/revision=${v2}`,
    });
    expect(rss.items.filter((r) => !r.metadata?.deletionTimestamp)).toHaveLength(1);
  }, 90_000);
});

describe('observability', () => {
  it('logs JSON with the namespace and name of the object in every line about it', async () => {
    const ns = await createNamespace('logs');
    await apply(ns, 'logged', { model: model('1') });
    await onlyRevision(ns, 'logged');
    const ours = await eventually(async () => {
      const found = operator.logLines().filter((l) => l.namespace === ns && l.name === 'logged');
      return found.some((l) => String(l.message).startsWith('created Deployment')) && found;
    });
    expect(ours.length).toBeGreaterThan(0);
    const lines = operator
      .logLines()
      .filter(
        (l) => typeof l.message === 'string' && /^(created|updated|deleted) /.test(l.message as string),
      );
    for (const l of lines)
      expect(l).toEqual(
        expect.objectContaining({ namespace: expect.any(String), name: expect.any(String), level: 'info' }),
      );
  });

  it('exposes reconcile, queue, watch and API request metrics', async () => {
    const m = await operator.metrics();
    for (const name of [
      'modelship_operator_reconcile_total',
      'modelship_operator_reconcile_duration_seconds_bucket',
      'modelship_operator_workqueue_depth',
      'modelship_operator_workqueue_queue_duration_seconds_bucket',
      'modelship_operator_watch_restarts_total',
      'modelship_operator_api_requests_total',
      'modelship_operator_scrape_failures_total',
      'modelship_operator_process_resident_memory_bytes',
    ]) {
      expect(m).toContain(name);
    }
    expect(m).toMatch(
      /modelship_operator_api_requests_total\{verb="[a-z-]+",resource="[a-z]+",code="200"\} [1-9]/,
    );
  });

  it('answers /healthz and /readyz', async () => {
    const r = await kubectl(['version']); // keeps the cluster honest, too
    expect(r.code).toBe(0);
    const { httpGet } = await import('../../cluster/src/process.js');
    expect((await httpGet(`http://127.0.0.1:${operator.healthPort}/healthz`)).status).toBe(200);
    expect((await httpGet(`http://127.0.0.1:${operator.healthPort}/readyz`)).status).toBe(200);
  });
});
