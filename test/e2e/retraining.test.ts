/**
 * The retraining loop on the real node, with the real example trainer (examples/retraining: scikit-learn → ONNX in its
 * own image) and the real validation (`modelship-server inspect` in the serving image): kube-controller-manager runs
 * the operator's CronJob on its schedule, the run's model becomes a ModelVersion that is validated, gated and rolled
 * out as a canary under live traffic, and inference answers from the new version without a failed request. A run
 * that trains a worse model, and one that writes a file that is not ONNX, are Rejected with the reason while the
 * serving version stays. Deleting the ModelDeployment removes its CronJob, Jobs and ModelVersions.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ModelVersion } from '../../operator/src/api/v1alpha1/model-version.js';
import type { ModelDeployment } from '../../operator/src/api/v1alpha1/schema.js';
import { importImages } from '../../cluster/src/node/images.js';
import { tabularModel } from '../fixtures/onnx/models.js';
import {
  createNamespace,
  deleteCreatedNamespaces,
  eventually,
  installCrds,
  kubeconfigPath,
  kubectlOk,
  repoRoot,
} from '../support/cluster.js';
import { installRbac, operatorKubeconfig, startOperator, type OperatorProcess } from '../support/operator.js';
import {
  applyYaml,
  clusterIp,
  custom,
  infer,
  kc,
  loadGenerator,
  modelClaim,
  modelsDir,
  waitForPhase,
  writeModel,
} from './support.js';

const run = promisify(execFile);
const MINUTE = 60_000;
const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string })
  .version;
const batch = kc.makeApiClient(k8s.BatchV1Api);
let operator: OperatorProcess;
let ns: string;
let output: string;
// One breast-cancer row (30 features), as the trainer's dataset has them.
const body = {
  inputs: [
    {
      name: 'features',
      shape: [1, 30],
      datatype: 'FP32',
      data: Array.from({ length: 30 }, (_, i) => (i % 7) + 0.5),
    },
  ],
};

function cancer(o: { schedule?: string; suspend?: boolean; env?: object[] } = {}): object {
  return {
    apiVersion: 'modelship.dev/v1alpha1',
    kind: 'ModelDeployment',
    metadata: { name: 'cancer' },
    spec: {
      model: { name: 'cancer', version: 'initial', storageUri: 'pvc://models/cancer-initial.onnx' },
      rollout: { strategy: 'Canary', steps: [{ setWeight: 50 }, { analysis: { duration: '10s' } }] },
      analysis: { interval: '2s', window: '10s', minSamples: 5, metrics: [{ name: 'errorRate', max: 0.01 }] },
      retraining: {
        schedule: o.schedule ?? '* * * * *',
        suspend: o.suspend ?? false,
        output,
        template: {
          image: `modelship/example-trainer:${version}`,
          imagePullPolicy: 'IfNotPresent',
          env: [{ name: 'TRAINER_DATASET', value: 'breast_cancer' }, ...(o.env ?? [])],
        },
        promotion: {
          mode: 'Auto',
          metrics: [
            { name: 'accuracy', min: 0.9, notWorseThanStable: true, tolerance: 0.05 },
            { name: 'holdout.accuracy', min: 0.9 },
          ],
        },
      },
    },
  };
}

async function versions(): Promise<ModelVersion[]> {
  const list = (await custom.listNamespacedCustomObject({
    group: 'modelship.dev',
    version: 'v1alpha1',
    plural: 'modelversions',
    namespace: ns,
  })) as { items: ModelVersion[] };
  return list.items;
}

const getMd = async () =>
  (await custom.getNamespacedCustomObject({
    group: 'modelship.dev',
    version: 'v1alpha1',
    plural: 'modeldeployments',
    namespace: ns,
    name: 'cancer',
  })) as ModelDeployment;

async function plugin(args: string[]): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', 'operator/src/plugin/cli.ts', `--kubeconfig=${kubeconfigPath()}`, '-n', ns, ...args],
    { cwd: repoRoot },
  );
  return stdout;
}

/** The ModelVersion of a run once it reached a final phase for this test (Stable or Rejected). */
async function settled(job: string, timeoutMs = 5 * MINUTE): Promise<ModelVersion> {
  return eventually(
    async () => {
      const v = (await versions()).find((x) => x.metadata.name === job);
      return (v?.status?.phase === 'Stable' || v?.status?.phase === 'Rejected') && v;
    },
    timeoutMs,
    1000,
  );
}

beforeAll(async () => {
  const dir = process.env.MODELSHIP_TEST_CLUSTER_DIR!;
  await importImages(dir, ['trainer']);
  await installCrds();
  await installRbac();
  operator = await startOperator({ kubeconfig: await operatorKubeconfig(), args: ['--no-leader-elect'] });
  ns = await createNamespace('e2e-retrain');
  // The first version: an untrained stand-in with the trainer's signature (30 features, 2 classes).
  writeModel(
    'cancer-initial.onnx',
    tabularModel({ name: 'cancer', features: 30, hidden: [8], classes: 2, seed: 5 }),
  );
  // Runs write as the trainer's non-root user into their own folders (sticky, like /tmp).
  const runs = join(modelsDir(), `runs-${ns}`);
  mkdirSync(runs, { recursive: true });
  chmodSync(runs, 0o1777);
  output = `pvc://models/runs-${ns}`;
  await modelClaim(ns, 'models');
}, 20 * MINUTE);

afterAll(async () => {
  expect(await operator?.stop()).toBe(0);
  await deleteCreatedNamespaces();
}, 5 * MINUTE);

describe('retraining on the node', () => {
  it(
    'runs on schedule, and a good model is validated, gated and rolled out as a canary under traffic without a failed request',
    async () => {
      await applyYaml(ns, [cancer()]);
      await waitForPhase(ns, 'cancer', 'Ready', 5 * MINUTE);
      const url = `http://${await clusterIp(ns, 'cancer')}/v2/models/cancer/infer`;
      // A Service just created answers once kube-proxy has programmed it (a moment after the pods are Ready).
      await eventually(async () => (await infer(url, body)).model_name === 'cancer', MINUTE, 200);
      const load = loadGenerator(url, body, 2, true);

      // kube-controller-manager starts the CronJob's first run at the next minute.
      const job = await eventually(
        async () =>
          (
            await batch.listNamespacedJob({
              namespace: ns,
              labelSelector: 'app.kubernetes.io/component=retraining',
            })
          ).items[0]?.metadata?.name,
        3 * MINUTE,
        1000,
      );
      // A later scheduled run would compete with the assertions below: stop scheduling.
      await applyYaml(ns, [cancer({ suspend: true })]);
      const mv = await settled(job);
      expect({ phase: mv.status?.phase, why: mv.status?.conditions?.at(-1)?.message }).toMatchObject({
        phase: 'Stable',
      });
      expect(mv.spec.source).toMatchObject({
        kind: 'Job',
        name: job,
        schedule: '* * * * *',
        parentVersion: 'initial',
      });
      expect(mv.spec.metrics!.accuracy).toBeGreaterThan(0.9);
      expect(mv.status!.validation!.holdout!['holdout.accuracy']).toBeGreaterThan(0.9);
      // The signature as the serving runtime read it from the ONNX file.
      expect(mv.status!.signature!.inputs).toEqual([{ name: 'features', datatype: 'FP32', shape: [-1, 30] }]);

      // Served: the stable revision is the new version, and inference answers from it.
      await eventually(
        async () => (await getMd()).status?.stable?.version === mv.spec.model.version,
        2 * MINUTE,
        500,
      );
      const before = load.report.versions[mv.spec.model.version] ?? 0;
      await eventually(
        async () => (load.report.versions[mv.spec.model.version] ?? 0) >= before + 20,
        MINUTE,
        100,
      );
      const report = await load.stop();
      expect({ failed: report.failed, errors: report.errors }).toEqual({ failed: 0, errors: [] });
      expect(Object.keys(report.versions).sort()).toEqual(['initial', mv.spec.model.version].sort());
      const md = await getMd();
      expect(md.spec.model.version).toBe('initial'); // the spec is never written
      expect(md.status?.model).toMatchObject({ source: 'ModelVersion', modelVersion: job });
    },
    20 * MINUTE,
  );

  it(
    'rejects a worse model and a file that is not ONNX, with the reasons, and the serving version stays',
    async () => {
      const serving = (await getMd()).status!.stable!.version;
      await applyYaml(ns, [cancer({ suspend: true, env: [{ name: 'TRAINER_QUALITY', value: 'bad' }] })]);
      await eventually(async () => {
        const cj = await batch.readNamespacedCronJob({ namespace: ns, name: 'cancer-retrain' });
        return cj.spec!.jobTemplate.spec!.template.spec!.containers[0]!.env!.some((e) => e.value === 'bad');
      }, MINUTE);
      const worse = /started training run (\S+)/.exec(await plugin(['retrain', 'cancer']))![1]!;
      const rejectedWorse = await settled(worse);
      expect(rejectedWorse.status?.phase).toBe('Rejected');
      expect(rejectedWorse.status?.conditions?.at(-1)?.message).toMatch(
        /failed the quality gate: accuracy 0\.\d+ is below the minimum 0.9/,
      );

      await applyYaml(ns, [cancer({ suspend: true, env: [{ name: 'TRAINER_OUTPUT', value: 'garbage' }] })]);
      await eventually(async () => {
        const cj = await batch.readNamespacedCronJob({ namespace: ns, name: 'cancer-retrain' });
        return cj.spec!.jobTemplate.spec!.template.spec!.containers[0]!.env!.some(
          (e) => e.value === 'garbage',
        );
      }, MINUTE);
      const garbage = /started training run (\S+)/.exec(await plugin(['retrain', 'cancer']))![1]!;
      const rejectedGarbage = await settled(garbage);
      expect(rejectedGarbage.status?.phase).toBe('Rejected');
      expect(rejectedGarbage.status?.conditions?.at(-1)?.message).toMatch(/validation failed: .*not ONNX/);

      // Nothing changed for the users.
      const md = await getMd();
      expect(md.status?.stable?.version).toBe(serving);
      expect(md.status?.canary).toBeUndefined();
      const history = await plugin(['history', 'cancer']);
      expect(history).toMatch(new RegExp(`${serving} \\*\\s+Stable`));
      expect(history).toMatch(/Rejected/);
    },
    15 * MINUTE,
  );

  it(
    'removes the CronJob, its Jobs and the ModelVersions with the ModelDeployment',
    async () => {
      await kubectlOk(['delete', 'modeldeployment', 'cancer', '-n', ns, '--wait=true', '--timeout=120s']);
      await eventually(
        async () =>
          (await versions()).length === 0 &&
          (await batch.listNamespacedCronJob({ namespace: ns })).items.length === 0 &&
          (await batch.listNamespacedJob({ namespace: ns })).items.length === 0,
        3 * MINUTE,
        1000,
      );
    },
    5 * MINUTE,
  );
});
