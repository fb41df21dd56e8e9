/**
 * Canary rollouts against a real control plane, with the real CRDs of every traffic provider installed so that the
 * API server validates what the operator writes: the router's ConfigMap, the Gateway API HTTPRoute and the Istio
 * VirtualService carry the right weights at each step; a failed canary goes back to 0 % with the reason in status
 * and Events; the kubectl plugin drives pauses, promotions, aborts, retries and undo; the spec is never written.
 * The tests play the kubelet (pods are marked ready or crash-looping); no model runs here, so the analysis sees no
 * traffic and the noData policy decides (the end-to-end tier judges real traffic).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import yaml from 'js-yaml';
import type { ModelDeployment } from '../../operator/src/api/v1alpha1/schema.js';
import {
  createNamespace,
  deleteCreatedNamespaces,
  eventually,
  installCrds,
  kubeconfigPath,
  kubectlOk,
  repoRoot,
} from '../support/cluster.js';
import { installGatewayApiCrds, installIstioVirtualServiceCrd } from '../support/foreign-crds.js';
import {
  installRbac,
  markPodsCrashLooping,
  markPodsReady,
  operatorKubeconfig,
  startOperator,
  type OperatorProcess,
} from '../support/operator.js';

const run = promisify(execFile);
let operator: OperatorProcess;
const kc = (() => {
  const k = new k8s.KubeConfig();
  return k;
})();
let apps: k8s.AppsV1Api;
let core: k8s.CoreV1Api;
let custom: k8s.CustomObjectsApi;

beforeAll(async () => {
  kc.loadFromFile(kubeconfigPath());
  apps = kc.makeApiClient(k8s.AppsV1Api);
  core = kc.makeApiClient(k8s.CoreV1Api);
  custom = kc.makeApiClient(k8s.CustomObjectsApi);
  await installCrds();
  await installGatewayApiCrds();
  await installIstioVirtualServiceCrd();
  await installRbac();
  operator = await startOperator({
    kubeconfig: await operatorKubeconfig(),
    args: ['--no-leader-elect', '--log-level=debug'],
  });
}, 180_000);

afterAll(async () => {
  await deleteCreatedNamespaces();
  expect(await operator?.stop()).toBe(0);
}, 150_000);

/** Steps that run by themselves in a few seconds; no traffic here, so no data passes. */
const fastSteps = [
  { setWeight: 20 },
  { pause: { duration: '2s' } },
  { setWeight: 60 },
  { pause: { duration: '2s' } },
];
const passWithoutData = { interval: '1s', noData: { policy: 'Pass' } };

async function apply(ns: string, name: string, spec: object): Promise<void> {
  await kubectlOk(
    ['apply', '-n', ns, '-f', '-'],
    yaml.dump({ apiVersion: 'modelship.dev/v1alpha1', kind: 'ModelDeployment', metadata: { name }, spec }),
  );
}

const model = (version: string) => ({ version, storageUri: `file:///models/m-${version}.onnx` });

async function getMd(ns: string, name: string): Promise<ModelDeployment> {
  return (await custom.getNamespacedCustomObject({
    group: 'modelship.dev',
    version: 'v1alpha1',
    plural: 'modeldeployments',
    namespace: ns,
    name,
  })) as ModelDeployment;
}

async function revisionOfVersion(ns: string, name: string, version: string): Promise<string> {
  return eventually(async () => {
    const ds = (
      await apps.listNamespacedDeployment({
        namespace: ns,
        labelSelector: `modelship.dev/deployment=${name}`,
      })
    ).items;
    const d = ds.find(
      (x) =>
        x.metadata?.labels?.['app.kubernetes.io/version'] === version &&
        x.metadata.labels['modelship.dev/revision'],
    );
    return d?.metadata?.labels?.['modelship.dev/revision'];
  });
}

/** A ModelDeployment serving version 1 from a ready revision (and, with the router, a ready router). */
async function servingV1(ns: string, name: string, spec: object, router = false): Promise<string> {
  await apply(ns, name, { model: model('1'), ...spec });
  const r1 = await revisionOfVersion(ns, name, '1');
  await markPodsReady(ns, `modelship.dev/revision=${r1}`);
  if (router)
    await markPodsReady(ns, `modelship.dev/deployment=${name},app.kubernetes.io/component=router`, 2);
  await eventually(async () => (await getMd(ns, name)).status?.phase === 'Ready').catch((err: Error) => {
    // Say what the operator said about it: the reason is usually there.
    const said = operator
      .logLines()
      .filter((l) => l.namespace === ns && (l.level === 'error' || l.level === 'warn'))
      .map((l) => String(l.message));
    throw new Error(`${err.message}; operator: ${said.slice(-3).join(' | ') || 'nothing'}`);
  });
  return r1;
}

/** The router's weights as its ConfigMap states them: revision → weight. */
async function routerWeights(ns: string, name: string): Promise<Record<string, number>> {
  const cm = await core.readNamespacedConfigMap({ namespace: ns, name: `${name}-router` });
  const t = JSON.parse(cm.data!['routes.json']!) as { backends: { revision: string; weight: number }[] };
  return Object.fromEntries(t.backends.filter((b) => b.weight > 0).map((b) => [b.revision, b.weight]));
}

/** Polls `read` until `done` holds, collecting every distinct value seen on the way. */
async function watchValues<T>(
  read: () => Promise<T>,
  done: (v: T) => boolean,
  timeoutMs = 60_000,
): Promise<T[]> {
  const seen: T[] = [];
  await eventually(
    async () => {
      const v = await read().catch(() => undefined);
      if (v === undefined) return false;
      if (JSON.stringify(seen.at(-1)) !== JSON.stringify(v)) seen.push(v);
      return done(v);
    },
    timeoutMs,
    100,
  );
  return seen;
}

/**
 * The weights a gateway's route went through from the moment it named the canary `r2`; the route may first be
 * seen as it was before (`r1` alone), but never with a weight for `r2` before it named `r2` at 0.
 */
function canaryNamedFromTheStart(
  seen: Record<string, number>[],
  r1: string,
  r2: string,
): Record<string, number>[] {
  const first = seen.findIndex((w) => r2 in w);
  expect(seen.slice(0, first)).toEqual(first === 0 ? [] : [{ [r1]: 100 }]);
  return seen.slice(first);
}

/** kubectl modelship, as a user runs it (from the sources). */
async function plugin(args: string[]): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', 'operator/src/plugin/cli.ts', `--kubeconfig=${kubeconfigPath()}`, ...args],
    {
      cwd: repoRoot,
    },
  );
  return stdout;
}

describe('provider Router', () => {
  it('puts a router in front and walks the canary through every weight, then keeps the old revision at 0', async () => {
    const ns = await createNamespace('canary-router');
    const spec = { rollout: { strategy: 'Canary', steps: fastSteps }, analysis: passWithoutData };
    const r1 = await servingV1(ns, 'iris', spec, true);
    // The <name> Service selects the router once the router is available.
    await eventually(
      async () =>
        (await core.readNamespacedService({ namespace: ns, name: 'iris' })).spec?.selector?.[
          'app.kubernetes.io/component'
        ] === 'router',
    );
    const role = await kc
      .makeApiClient(k8s.RbacAuthorizationV1Api)
      .readNamespacedRole({ namespace: ns, name: 'iris-router' });
    expect(role.rules).toEqual([
      {
        apiGroups: [''],
        resources: ['configmaps'],
        resourceNames: ['iris-router'],
        verbs: ['get', 'list', 'watch'],
      },
    ]);
    expect(await routerWeights(ns, 'iris')).toEqual({ [r1]: 100 });

    await apply(ns, 'iris', { model: model('2'), ...spec });
    const r2 = await revisionOfVersion(ns, 'iris', '2');
    // Starting: no weight yet.
    await eventually(async () => (await getMd(ns, 'iris')).status?.canary?.revision === r2);
    expect(await routerWeights(ns, 'iris')).toEqual({ [r1]: 100 });
    // Watched from before the canary is ready, so that the first value seen is the one before any step.
    const watching = watchValues(
      () => routerWeights(ns, 'iris'),
      (w) => w[r2] === 100,
    );
    await markPodsReady(ns, `modelship.dev/revision=${r2}`);
    const seen = await watching;
    expect(seen).toEqual([{ [r1]: 100 }, { [r1]: 80, [r2]: 20 }, { [r1]: 40, [r2]: 60 }, { [r2]: 100 }]);
    const md = await eventually(async () => {
      const m = await getMd(ns, 'iris');
      return m.status?.phase === 'Ready' && m.status.stable?.revision === r2 && m;
    });
    expect(md.status?.history?.[0]).toMatchObject({
      revision: r2,
      outcome: 'Promoted',
      reason: 'every step passed',
    });
    const old = await apps.readNamespacedDeployment({ namespace: ns, name: `iris-${r1}` });
    expect(old.spec?.replicas).toBe(0);
  }, 180_000);

  it('rolls a failing canary back to 0 % at once, says why, and retries only when asked', async () => {
    const ns = await createNamespace('canary-fail');
    const spec = {
      rollout: { strategy: 'Canary', steps: [{ setWeight: 50 }, { pause: {} }] },
      analysis: passWithoutData,
    };
    const r1 = await servingV1(ns, 'churn', spec, true);
    await apply(ns, 'churn', { model: model('2'), ...spec });
    const r2 = await revisionOfVersion(ns, 'churn', '2');
    await markPodsReady(ns, `modelship.dev/revision=${r2}`);
    await eventually(async () => (await routerWeights(ns, 'churn'))[r2] === 50);
    expect((await getMd(ns, 'churn')).status?.phase).toBe('Paused');
    const columns = (await kubectlOk(['get', 'md', 'churn', '-n', ns, '--no-headers'])).trim().split(/\s+/);
    // NAME STABLE CANARY WEIGHT PHASE READY AGE (MODEL is empty: spec.model.name is not set)
    expect(columns.slice(1, 5)).toEqual(['1', '2', '50', 'Paused']);

    await markPodsCrashLooping(ns, `modelship.dev/revision=${r2}`, 'model load failed: boom');
    await eventually(
      async () => JSON.stringify(await routerWeights(ns, 'churn')) === JSON.stringify({ [r1]: 100 }),
    );
    const md = await eventually(async () => {
      const m = await getMd(ns, 'churn');
      return m.status?.phase === 'RolledBack' && m;
    });
    expect(md.status?.rejected).toMatchObject({ revision: r2, fallback: { revision: r1 } });
    expect(md.status?.rejected?.reason).toMatch(
      /the revision failed \((CrashLoopBackOff|RepeatedRestarts)\)/,
    );
    const degraded = md.status?.conditions?.find((c) => c.type === 'Degraded');
    expect(degraded).toMatchObject({ status: 'True', reason: 'RolledBack' });
    expect(md.status?.canary).toBeUndefined();
    await eventually(
      async () =>
        (await apps.readNamespacedDeployment({ namespace: ns, name: `churn-${r2}` })).spec?.replicas === 0,
    );
    const events = await core.listNamespacedEvent({
      namespace: ns,
      fieldSelector: 'involvedObject.name=churn',
    });
    expect(events.items.find((e) => e.reason === 'RolledBack')?.message).toMatch(
      /Rolled back revision .* at 50%: the revision failed/,
    );
    // The spec still names version 2 (nobody rewrote it), and it stays rolled back.
    expect((await getMd(ns, 'churn')).spec.model.version).toBe('2');

    expect(await plugin(['retry', 'churn', '-n', ns])).toMatch(/^retry: retrying revision/);
    const retried = await eventually(async () => {
      const m = await getMd(ns, 'churn');
      return m.status?.canary?.revision === r2 && m;
    });
    // Its Deployment was at 0: no traffic until its pods are back and ready.
    expect(retried.status?.canary).toMatchObject({ weight: 0, readyReplicas: 0 });
    expect(await routerWeights(ns, 'churn')).toEqual({ [r1]: 100 });
    await eventually(
      async () =>
        (await apps.readNamespacedDeployment({ namespace: ns, name: `churn-${r2}` })).spec?.replicas === 1,
    );
    await markPodsReady(ns, `modelship.dev/revision=${r2}`);
    await eventually(async () => (await routerWeights(ns, 'churn'))[r2] === 50);
  }, 180_000);
});

describe('provider GatewayAPI', () => {
  it('writes an HTTPRoute with weighted backendRefs and a header rule, validated by the real CRD', async () => {
    const ns = await createNamespace('canary-gateway');
    const spec = {
      rollout: { strategy: 'Canary', steps: fastSteps },
      analysis: passWithoutData,
      traffic: {
        provider: 'GatewayAPI',
        gatewayAPI: { parentRefs: [{ name: 'public', namespace: 'infra' }], hostnames: ['iris.example.com'] },
        match: [{ header: 'x-model-version', value: 'canary' }],
      },
    };
    const r1 = await servingV1(ns, 'iris', spec);
    const routes = kc.makeApiClient(k8s.CustomObjectsApi);
    const route = () =>
      routes.getNamespacedCustomObject({
        group: 'gateway.networking.k8s.io',
        version: 'v1',
        plural: 'httproutes',
        namespace: ns,
        name: 'iris',
      }) as Promise<{
        spec: {
          parentRefs: object[];
          hostnames: string[];
          rules: { matches?: object[]; backendRefs: { name: string; weight: number }[] }[];
        };
      }>;
    const weights = async () => {
      const r = await route();
      const last = r.spec.rules.at(-1)!;
      return Object.fromEntries(last.backendRefs.map((b) => [b.name.replace('iris-', ''), b.weight]));
    };
    const first = await eventually(() => route().catch(() => undefined));
    expect(first.spec.parentRefs).toEqual([
      { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public', namespace: 'infra' },
    ]);
    expect(first.spec.hostnames).toEqual(['iris.example.com']);
    expect(await weights()).toEqual({ [r1]: 100 });
    await apply(ns, 'iris', { ...spec, model: model('2') });
    const r2 = await revisionOfVersion(ns, 'iris', '2');
    await markPodsReady(ns, `modelship.dev/revision=${r2}`);
    const seen = await watchValues(weights, (w) => w[r2] === 100);
    expect(canaryNamedFromTheStart(seen, r1, r2)).toEqual([
      { [r1]: 100, [r2]: 0 },
      { [r1]: 80, [r2]: 20 },
      { [r1]: 40, [r2]: 60 },
      { [r2]: 100 },
    ]);
  }, 180_000);

  it('refuses a GatewayAPI provider without parentRefs, naming the field', async () => {
    const ns = await createNamespace('canary-gateway-bad');
    const r = await kubectlOk(
      ['apply', '-n', ns, '-f', '-'],
      yaml.dump({
        apiVersion: 'modelship.dev/v1alpha1',
        kind: 'ModelDeployment',
        metadata: { name: 'bad' },
        spec: { model: model('1'), traffic: { provider: 'GatewayAPI' } },
      }),
    ).catch((e: Error) => e.message);
    expect(r).toMatch(/spec\.traffic\.gatewayAPI: .*set exactly when the provider is GatewayAPI/);
  });
});

describe('provider Istio', () => {
  it('writes a VirtualService with weighted routes, validated by the real CRD', async () => {
    const ns = await createNamespace('canary-istio');
    const spec = {
      rollout: { strategy: 'Canary', steps: fastSteps },
      analysis: passWithoutData,
      traffic: {
        provider: 'Istio',
        istio: { gateways: ['mesh'] },
        match: [{ header: 'x-canary', value: '1' }],
      },
    };
    const r1 = await servingV1(ns, 'iris', spec);
    const vs = () =>
      custom.getNamespacedCustomObject({
        group: 'networking.istio.io',
        version: 'v1',
        plural: 'virtualservices',
        namespace: ns,
        name: 'iris',
      }) as Promise<{
        spec: {
          hosts: string[];
          http: { name: string; route: { destination: { host: string }; weight: number }[] }[];
        };
      }>;
    const weights = async () => {
      const v = await vs();
      const weighted = v.spec.http.find((h) => h.name === 'weighted')!;
      return Object.fromEntries(
        weighted.route.map((r) => [r.destination.host.split('.')[0]!.replace('iris-', ''), r.weight]),
      );
    };
    const first = await eventually(() => vs().catch(() => undefined));
    expect(first.spec.hosts).toEqual([`iris.${ns}.svc.cluster.local`]);
    await apply(ns, 'iris', { ...spec, model: model('2') });
    const r2 = await revisionOfVersion(ns, 'iris', '2');
    await markPodsReady(ns, `modelship.dev/revision=${r2}`);
    const seen = await watchValues(weights, (w) => w[r2] === 100);
    expect(canaryNamedFromTheStart(seen, r1, r2)).toEqual([
      { [r1]: 100, [r2]: 0 },
      { [r1]: 80, [r2]: 20 },
      { [r1]: 40, [r2]: 60 },
      { [r2]: 100 },
    ]);
  }, 180_000);
});

describe('kubectl modelship', () => {
  it('pauses, promotes, aborts and undoes through the request annotation, and shows status and history', async () => {
    const ns = await createNamespace('plugin');
    const spec = {
      rollout: {
        strategy: 'Canary',
        steps: [{ setWeight: 10 }, { pause: {} }, { setWeight: 50 }, { pause: {} }],
      },
      analysis: passWithoutData,
    };
    const r1 = await servingV1(ns, 'iris', spec, true);
    await apply(ns, 'iris', { model: model('2'), ...spec });
    const r2 = await revisionOfVersion(ns, 'iris', '2');
    await markPodsReady(ns, `modelship.dev/revision=${r2}`);
    await eventually(async () => (await getMd(ns, 'iris')).status?.phase === 'Paused');

    const status = await plugin(['status', 'iris', '-n', ns]);
    expect(status).toContain(`Canary:       revision ${r2} (version 2), 10% of traffic`);
    expect(status).toMatch(/^Progressing: +True \(CanaryPaused\) /m);
    expect(status).toMatch(/▶ {2}2\. pause \(until promoted\)/);

    expect(await plugin(['promote', 'iris', '-n', ns])).toMatch(
      /^promote: revision .* goes on to step 3 \(resumed\)$/m,
    );
    await eventually(async () => (await routerWeights(ns, 'iris'))[r2] === 50);
    expect(await plugin(['abort', 'iris', '-n', ns])).toMatch(/^abort: aborted the canary/m);
    await eventually(
      async () => JSON.stringify(await routerWeights(ns, 'iris')) === JSON.stringify({ [r1]: 100 }),
    );
    expect((await getMd(ns, 'iris')).status?.rejected?.reason).toBe('aborted by a user');

    // Promote version 3 fully, then undo back to version 1 (kept at 0 replicas: a scale-up and a switch).
    await apply(ns, 'iris', { model: model('3'), ...spec });
    const r3 = await revisionOfVersion(ns, 'iris', '3');
    await markPodsReady(ns, `modelship.dev/revision=${r3}`);
    await eventually(async () => (await getMd(ns, 'iris')).status?.canary?.revision === r3);
    expect(await plugin(['promote', 'iris', '--full', '-n', ns])).toMatch(
      /^promote: promoting revision .* fully$/m,
    );
    await eventually(async () => (await getMd(ns, 'iris')).status?.stable?.revision === r3);
    await eventually(
      async () =>
        (await apps.readNamespacedDeployment({ namespace: ns, name: `iris-${r1}` })).spec?.replicas === 0,
    );
    expect(await plugin(['undo', 'iris', '-n', ns])).toMatch(/^undo: going back to revision/m);
    await eventually(
      async () =>
        ((await apps.readNamespacedDeployment({ namespace: ns, name: `iris-${r1}` })).spec?.replicas ?? 0) >
        0,
    );
    await markPodsReady(ns, `modelship.dev/revision=${r1}`);
    const undone = await eventually(async () => {
      const m = await getMd(ns, 'iris');
      return m.status?.stable?.revision === r1 && m.status.phase === 'RolledBack' && m;
    });
    expect(undone.spec.model.version).toBe('3');
    const history = await plugin(['history', 'iris', '-n', ns]);
    expect(history.split('\n')[0]).toMatch(/^REVISION +VERSION +OUTCOME +FINISHED +REASON$/);
    expect(history).toMatch(new RegExp(`${r1} +1 +Promoted .*undo`));
    expect(history).toMatch(new RegExp(`${r2} +2 +RolledBack .*aborted by a user`));
  }, 240_000);
});

describe('GitOps safety', () => {
  it('never writes the spec or metadata of a ModelDeployment: its field manager owns status alone', async () => {
    const ns = await createNamespace('gitops');
    await kubectlOk(
      ['apply', '--server-side', '--field-manager=argocd-controller', '-n', ns, '-f', '-'],
      yaml.dump({
        apiVersion: 'modelship.dev/v1alpha1',
        kind: 'ModelDeployment',
        metadata: { name: 'g', labels: { team: 'a' } },
        spec: { model: model('1'), rollout: { strategy: 'Canary' } },
      }),
    );
    const r1 = await revisionOfVersion(ns, 'g', '1');
    await markPodsReady(ns, `modelship.dev/revision=${r1}`);
    await eventually(async () => (await getMd(ns, 'g')).status?.phase === 'Ready');
    const md = JSON.parse(
      await kubectlOk(['get', 'md', 'g', '-n', ns, '-o', 'json', '--show-managed-fields']),
    ) as ModelDeployment;
    const ours = md.metadata.managedFields!.filter((f) => f.manager === 'modelship-operator');
    expect(ours.map((f) => f.subresource)).toEqual(['status']);
    // Re-applying the same manifest with the GitOps tool's manager changes nothing: no diff to sync.
    const before = md.metadata.resourceVersion;
    await kubectlOk(
      ['apply', '--server-side', '--field-manager=argocd-controller', '-n', ns, '-f', '-'],
      yaml.dump({
        apiVersion: 'modelship.dev/v1alpha1',
        kind: 'ModelDeployment',
        metadata: { name: 'g', labels: { team: 'a' } },
        spec: { model: model('1'), rollout: { strategy: 'Canary' } },
      }),
    );
    expect((await getMd(ns, 'g')).metadata.resourceVersion).toBe(before);
  }, 120_000);
});

describe('autoscaling', () => {
  it("starts a new revision at the live revision's current replica count, not at minReplicas", async () => {
    const ns = await createNamespace('canary-hpa');
    const spec = { runtime: { autoscaling: { minReplicas: 1, maxReplicas: 6 } } };
    const r1 = await servingV1(ns, 'auto', spec);
    // The autoscaler has scaled the live revision to 4 (as kube-controller-manager's HPA would under load).
    await kubectlOk(['scale', 'deployment', `auto-${r1}`, '-n', ns, '--replicas=4']);
    await apply(ns, 'auto', { model: model('2'), ...spec });
    const r2 = await revisionOfVersion(ns, 'auto', '2');
    await eventually(
      async () =>
        (await apps.readNamespacedDeployment({ namespace: ns, name: `auto-${r2}` })).spec?.replicas === 4,
    );
    await kubectlOk(['delete', 'md', 'auto', '-n', ns, '--wait=true', '--timeout=60s']);
  }, 120_000);
});
