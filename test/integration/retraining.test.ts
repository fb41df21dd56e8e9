/**
 * Retraining on the real control plane, the operator running as its own process under its RBAC: the CronJob the
 * operator owns (real kube-controller-manager makes Jobs and pods from it), a run started by the real plugin, its
 * summary read from the pod's termination message into a ModelVersion, the validation Job, the quality gate, a
 * promotion, and cleanup. The tests play the kubelet (pods end through the status subresource, with the messages a
 * trainer and `modelship-server inspect` write); the Job controller turns those into finished Jobs. The real node
 * tier (test/e2e/retraining.test.ts) runs the real trainer and inspect.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import type { ModelVersion } from '../../operator/src/api/v1alpha1/model-version.js';
import type { ModelDeployment } from '../../operator/src/api/v1alpha1/schema.js';
import {
  createNamespace,
  deleteCreatedNamespaces,
  eventually,
  installCrds,
  kubeConfig,
  kubeconfigPath,
  kubectl,
  kubectlOk,
  repoRoot,
} from '../support/cluster.js';
import {
  installRbac,
  markPodsReady,
  markPodsTerminated,
  operatorKubeconfig,
  startOperator,
  type OperatorProcess,
} from '../support/operator.js';

const run = promisify(execFile);
let operator: OperatorProcess;
const kc = kubeConfig();
const batch = kc.makeApiClient(k8s.BatchV1Api);
const apps = kc.makeApiClient(k8s.AppsV1Api);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const sha = 'c'.repeat(64);
const MINUTE = 60_000;

const signature = {
  inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }],
  outputs: [{ name: 'label', datatype: 'INT64', shape: [-1] }],
};

function spec(promotion: object = { mode: 'Manual', metrics: [{ name: 'accuracy', min: 0.9 }] }) {
  return {
    model: { version: '1', storageUri: 'pvc://models/v1/model.onnx' },
    retraining: {
      schedule: '0 3 * * *',
      output: 'pvc://models/runs',
      template: { image: 'modelship/example-trainer:0.1.0', args: ['--fast'] },
      promotion,
    },
  };
}

async function apply(ns: string, name: string, s: object): Promise<void> {
  await kubectlOk(
    ['apply', '-n', ns, '-f', '-'],
    yaml.dump({ apiVersion: 'modelship.dev/v1alpha1', kind: 'ModelDeployment', metadata: { name }, spec: s }),
  );
}

const getMd = async (ns: string, name: string) =>
  (await custom.getNamespacedCustomObject({
    group: 'modelship.dev',
    version: 'v1alpha1',
    plural: 'modeldeployments',
    namespace: ns,
    name,
  })) as ModelDeployment;

async function versions(ns: string): Promise<ModelVersion[]> {
  const list = (await custom.listNamespacedCustomObject({
    group: 'modelship.dev',
    version: 'v1alpha1',
    plural: 'modelversions',
    namespace: ns,
  })) as { items: ModelVersion[] };
  return list.items;
}

/** The first version a run produced (not spec.model's own) that is in `phase`. */
async function versionIn(ns: string, phase: string): Promise<ModelVersion> {
  return eventually(
    async () => (await versions(ns)).find((v) => v.spec.source.kind === 'Job' && v.status?.phase === phase),
    MINUTE,
    200,
  );
}

/** kubectl modelship, as a user runs it (from the sources). */
async function plugin(args: string[]): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', 'operator/src/plugin/cli.ts', `--kubeconfig=${kubeconfigPath()}`, ...args],
    { cwd: repoRoot },
  );
  return stdout;
}

/** Starts a run with the plugin and ends its pod with `message` as the trainer's summary. */
async function trainingRun(ns: string, name: string, message: string, exitCode = 0): Promise<string> {
  const out = await plugin(['-n', ns, 'retrain', name]);
  const job = /started training run (\S+)/.exec(out)![1]!;
  await markPodsTerminated(ns, `batch.kubernetes.io/job-name=${job}`, 'trainer', exitCode, message);
  return job;
}

const summary = (accuracy: number) =>
  JSON.stringify({
    model: 'model.onnx',
    sha256: sha,
    metrics: { accuracy },
    data: { ref: 'iris@1', rows: 120 },
  });

beforeAll(async () => {
  await installCrds();
  await installRbac();
  operator = await startOperator({
    kubeconfig: await operatorKubeconfig(),
    args: ['--no-leader-elect', '--log-level=debug'],
  });
}, MINUTE);

afterAll(async () => {
  expect(await operator?.stop()).toBe(0);
  await deleteCreatedNamespaces();
}, 3 * MINUTE);

describe('spec.retraining', () => {
  it('is refused with a message naming the field when it is wrong', async () => {
    const ns = await createNamespace('retrain-invalid');
    const bad = (r: object) =>
      kubectl(
        ['apply', '--dry-run=server', '-n', ns, '-f', '-'],
        yaml.dump({
          apiVersion: 'modelship.dev/v1alpha1',
          kind: 'ModelDeployment',
          metadata: { name: 'x' },
          spec: { ...spec(), retraining: { ...spec().retraining, ...r } },
        }),
      );
    const cases: [object, RegExp][] = [
      [{ schedule: 'every day' }, /spec.retraining.schedule.*cron schedule/],
      [{ output: 'http://example.com/runs' }, /spec.retraining.output.*pvc:\/\/<claim>\/<prefix> or s3:\/\//],
      [
        { template: { image: 't', env: [{ name: 'MODELSHIP_RUN_ID', value: 'x' }] } },
        /MODELSHIP_RUN_ID is set by the operator for every run/,
      ],
      [{ promotion: { mode: 'Sometimes' } }, /spec.retraining.promotion.mode/],
      [{ promotion: { metrics: [{ name: 'accuracy', min: 0.9, max: 0.5 }] } }, /min must not exceed max/],
      [{ concurrencyPolicy: 'Never' }, /spec.retraining.concurrencyPolicy/],
    ];
    for (const [r, message] of cases) {
      const res = await bad(r);
      expect({ r, code: res.code }).toEqual({ r, code: 1 });
      expect(res.stderr).toMatch(message);
    }
  });

  it('gets a CronJob the operator owns, follows its changes, and removes it with spec.retraining', async () => {
    const ns = await createNamespace('retrain-cronjob');
    await apply(ns, 'churn', spec());
    const cj = await eventually(
      async () =>
        (await batch.listNamespacedCronJob({ namespace: ns })).items.find(
          (c) => c.metadata?.name === 'churn-retrain',
        ),
      MINUTE,
    );
    expect(cj.spec).toMatchObject({ schedule: '0 3 * * *', concurrencyPolicy: 'Forbid', suspend: false });
    expect(cj.metadata!.ownerReferences![0]).toMatchObject({
      kind: 'ModelDeployment',
      name: 'churn',
      controller: true,
    });
    const pod = cj.spec!.jobTemplate.spec!.template.spec!;
    expect(pod.containers[0]!.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
    });

    await apply(ns, 'churn', {
      ...spec(),
      retraining: { ...spec().retraining, schedule: '*/30 * * * *', suspend: true },
    });
    await eventually(async () => {
      const c = await batch.readNamespacedCronJob({ namespace: ns, name: 'churn-retrain' });
      return c.spec?.schedule === '*/30 * * * *' && c.spec.suspend === true;
    }, MINUTE);

    await apply(ns, 'churn', { model: spec().model });
    await eventually(
      async () => (await batch.listNamespacedCronJob({ namespace: ns })).items.length === 0,
      MINUTE,
    );
  });
});

describe('a retraining run', () => {
  it(
    'becomes a ModelVersion that is validated, gated, promoted by the plugin and served',
    async () => {
      const ns = await createNamespace('retrain-promote');
      await apply(ns, 'churn', spec());
      await eventually(async () => (await deploymentsOf(ns)).length === 1, MINUTE);
      await markPodsReady(ns, 'modelship.dev/deployment=churn,app.kubernetes.io/component=model-server');
      await eventually(async () => (await getMd(ns, 'churn')).status?.phase === 'Ready', MINUTE, 200);

      // spec.model is a version too: validated (never gated), then Stable as it serves.
      const specVersion = await eventually(
        async () => (await versions(ns)).find((v) => v.spec.source.kind === 'Spec'),
        MINUTE,
        200,
      );
      expect(specVersion.spec.model).toMatchObject({
        version: '1',
        storageUri: 'pvc://models/v1/model.onnx',
      });
      await markPodsTerminated(
        ns,
        `batch.kubernetes.io/job-name=${specVersion.metadata.name}-validate`,
        'inspect',
        0,
        JSON.stringify({ ok: true, signature, loadMs: 30 }),
      );
      await eventually(
        async () =>
          (await versions(ns)).find((v) => v.metadata.name === specVersion.metadata.name)?.status?.phase ===
          'Stable',
        MINUTE,
        200,
      );

      const job = await trainingRun(ns, 'churn', summary(0.95));
      // Registered from the run, then validated by a Job of the serving image.
      const validating = await versionIn(ns, 'Validating');
      expect(validating.metadata.name).toBe(job);
      expect(validating.spec).toMatchObject({
        deployment: 'churn',
        model: { storageUri: `pvc://models/runs/${job}/model.onnx`, sha256: sha },
        source: { kind: 'Job', name: job, parentVersion: '1' },
        metrics: { accuracy: 0.95 },
        data: { ref: 'iris@1', rows: 120 },
      });
      const validation = await batch.readNamespacedJob({ namespace: ns, name: `${job}-validate` });
      const container = validation.spec!.template.spec!.containers[0]!;
      expect(container.args).toEqual(['inspect']);
      expect(container.env).toEqual(
        expect.arrayContaining([
          { name: 'MODELSHIP_MODEL_URI', value: `pvc://models/runs/${job}/model.onnx` },
          { name: 'MODELSHIP_MODEL_SHA256', value: sha },
        ]),
      );
      await markPodsTerminated(
        ns,
        `batch.kubernetes.io/job-name=${job}-validate`,
        'inspect',
        0,
        JSON.stringify({ ok: true, signature, sha256: sha, loadMs: 40 }),
      );
      const approved = await versionIn(ns, 'Approved');
      expect(approved.status).toMatchObject({ signature, keyMetric: 'accuracy=0.95' });
      const version = approved.spec.model.version;
      // Mode Manual: nothing rolls out until someone promotes it.
      expect((await getMd(ns, 'churn')).status?.model).toMatchObject({ source: 'Spec', version: '1' });

      const out = await plugin(['-n', ns, 'promote', 'churn', '--version', version]);
      expect(out).toMatch(`version ${version} (ModelVersion ${job}) rolls out`);
      // The new revision runs the version's model; the spec is untouched (GitOps: no diff).
      const md = await getMd(ns, 'churn');
      expect(md.spec.model).toEqual({ ...spec().model, format: 'onnx' });
      expect(md.status?.model).toMatchObject({ source: 'ModelVersion', modelVersion: job, version });
      const revision = await eventually(
        async () =>
          (await deploymentsOf(ns)).find((d) =>
            d.spec!.template.spec!.containers[0]!.env!.some(
              (e) => e.name === 'MODELSHIP_MODEL_URI' && e.value === `pvc://models/runs/${job}/model.onnx`,
            ),
          ),
        MINUTE,
      );
      await markPodsReady(
        ns,
        `modelship.dev/revision=${revision.metadata!.labels!['modelship.dev/revision']}`,
      );
      await versionIn(ns, 'Stable');
      await eventually(
        async () => (await getMd(ns, 'churn')).status?.stable?.version === version,
        MINUTE,
        200,
      );
      // The gate compared the run's signature with spec.model's, which it replaced.
      const served = (await versions(ns)).find((v) => v.metadata.name === job)!;
      expect(served.status?.gate).toContainEqual(
        expect.objectContaining({ name: 'signature.inputs', passed: true }),
      );
      await eventually(
        async () =>
          (await versions(ns)).find((v) => v.metadata.name === specVersion.metadata.name)?.status?.phase ===
          'Retired',
        MINUTE,
        200,
      );

      const history = await plugin(['-n', ns, 'history', 'churn']);
      expect(history).toMatch(
        new RegExp(`${version} \\*\\s+Stable\\s+accuracy=0.95\\s+${job}\\s+1\\s+iris@1 \\(120 rows\\)`),
      );

      // A later change of spec.model by the user wins over the promoted version, and the status says so.
      await apply(ns, 'churn', {
        ...spec(),
        model: { version: '2', storageUri: 'pvc://models/v2/model.onnx' },
      });
      await eventually(
        async () => {
          const m = (await getMd(ns, 'churn')).status?.model;
          return (
            m?.source === 'Spec' && m.version === '2' && m.reason.includes(`it wins over ModelVersion ${job}`)
          );
        },
        MINUTE,
        200,
      );
      await eventually(
        async () =>
          (await deploymentsOf(ns)).some((d) =>
            d.spec!.template.spec!.containers[0]!.env!.some(
              (e) => e.name === 'MODELSHIP_MODEL_URI' && e.value === 'pvc://models/v2/model.onnx',
            ),
          ),
        MINUTE,
      );

      // Deleting the ModelDeployment removes its CronJob and versions (owner references).
      await kubectlOk(['delete', 'modeldeployment', 'churn', '-n', ns, '--wait=true']);
      await eventually(async () => (await versions(ns)).length === 0, 2 * MINUTE, 500);
      await eventually(
        async () => (await batch.listNamespacedCronJob({ namespace: ns })).items.length === 0,
        MINUTE,
      );
    },
    10 * MINUTE,
  );

  it(
    'is Rejected with the reason when it fails, writes nonsense or fails the gate, and nothing rolls out',
    async () => {
      const ns = await createNamespace('retrain-reject');
      await apply(ns, 'churn', spec({ mode: 'Auto', metrics: [{ name: 'accuracy', min: 0.9 }] }));
      await eventually(async () => (await deploymentsOf(ns)).length === 1, MINUTE);

      const failed = await trainingRun(
        ns,
        'churn',
        'Traceback (most recent call last): ValueError: no data',
        1,
      );
      const garbage = await trainingRun(ns, 'churn', 'training done!');
      const worse = await trainingRun(ns, 'churn', summary(0.5));
      await markPodsTerminated(
        ns,
        `batch.kubernetes.io/job-name=${worse}-validate`,
        'inspect',
        0,
        JSON.stringify({ ok: true, signature, sha256: sha, loadMs: 40 }),
      );
      const reasons = await eventually(
        async () => {
          const vs = await versions(ns);
          const rejected = vs.filter((v) => v.status?.phase === 'Rejected');
          return (
            rejected.length === 3 &&
            new Map(rejected.map((v) => [v.metadata.name!, v.status!.conditions!.at(-1)!.message]))
          );
        },
        2 * MINUTE,
        300,
      );
      expect(reasons.get(failed)).toMatch(
        /training job .* failed: .*; last output: Traceback .*ValueError: no data/,
      );
      expect(reasons.get(garbage)).toMatch(/summary is unusable: .*JSON/);
      expect(reasons.get(worse)).toMatch(/failed the quality gate: accuracy 0.5 is below the minimum 0.9/);
      // Mode Auto, yet nothing rolled out: one revision, spec.model serves.
      expect(await deploymentsOf(ns)).toHaveLength(1);
      expect((await getMd(ns, 'churn')).status?.model).toMatchObject({ source: 'Spec', version: '1' });
      const events = await kubectlOk([
        'get',
        'events',
        '-n',
        ns,
        '--field-selector',
        'reason=VersionRejected',
        '-o',
        'name',
      ]);
      expect(events.trim().split('\n').length).toBeGreaterThanOrEqual(3);
    },
    10 * MINUTE,
  );
});

async function deploymentsOf(ns: string): Promise<k8s.V1Deployment[]> {
  return (
    await apps.listNamespacedDeployment({ namespace: ns, labelSelector: 'modelship.dev/deployment=churn' })
  ).items.filter((d) => !d.metadata?.deletionTimestamp && d.metadata?.labels?.['modelship.dev/revision']);
}
