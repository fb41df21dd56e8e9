/**
 * Rollouts with real pods and real traffic: a version switch under continuous load fails zero requests, a broken
 * model never takes traffic and the status shows the container's own termination message, and a pod deleted under
 * load with two replicas costs nothing while the Deployment replaces it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { tabularModel } from '../fixtures/onnx/models.js';
import { createNamespace, eventually, installCrds, kubectlOk } from '../support/cluster.js';
import { installRbac, operatorKubeconfig, startOperator, type OperatorProcess } from '../support/operator.js';
import {
  applyYaml,
  clusterIp,
  core,
  custom,
  irisRequest,
  loadGenerator,
  modelClaim,
  post,
  waitForPhase,
  writeModel,
} from './support.js';

let operator: OperatorProcess;
let ns: string;
let url: string;
const body = irisRequest([[5.1, 3.5, 1.4, 0.2]]);

interface Md {
  status?: {
    phase?: string;
    stable?: { version?: string; revision?: string };
    conditions?: { type: string; status: string; message: string }[];
  };
}
const getMd = async () =>
  (await custom.getNamespacedCustomObject({
    group: 'modelship.dev',
    version: 'v1alpha1',
    plural: 'modeldeployments',
    namespace: ns,
    name: 'churn',
  })) as Md;

async function deploy(version: string, file: string, replicas = 1): Promise<void> {
  await applyYaml(ns, [
    {
      apiVersion: 'modelship.dev/v1alpha1',
      kind: 'ModelDeployment',
      metadata: { name: 'churn' },
      spec: { model: { version, storageUri: `pvc://models/${file}` }, runtime: { replicas } },
    },
  ]);
}

async function revisionsRunning(): Promise<string[]> {
  const pods = (
    await core.listNamespacedPod({ namespace: ns, labelSelector: 'modelship.dev/deployment=churn' })
  ).items;
  return [...new Set(pods.map((p) => p.metadata!.labels!['modelship.dev/revision']!))].sort();
}

beforeAll(async () => {
  await installCrds();
  await installRbac();
  operator = await startOperator({ kubeconfig: await operatorKubeconfig(), args: ['--no-leader-elect'] });
  ns = await createNamespace('e2e-rollout');
  writeModel('churn-v1.onnx', tabularModel({ name: 'churn', features: 4, hidden: [8], classes: 3, seed: 1 }));
  writeModel('churn-v2.onnx', tabularModel({ name: 'churn', features: 4, hidden: [8], classes: 3, seed: 2 }));
  writeModel('broken.onnx', new TextEncoder().encode('this is not an ONNX model\n'));
  await modelClaim(ns, 'models');
  await deploy('1', 'churn-v1.onnx');
  await waitForPhase(ns, 'churn', 'Ready');
  url = `http://${await clusterIp(ns, 'churn')}/v2/models/churn/infer`;
  // Endpoints reach kube-proxy a moment after the pods turn ready: wait for the first answer before measuring.
  await eventually(async () => (await post(url, body)).status === 200, 30_000, 200);
}, 300_000);

afterAll(async () => {
  await operator?.stop();
});

describe('a version switch under continuous load', () => {
  it('fails zero requests, with fresh connections and with keep-alive ones', async () => {
    const fresh = loadGenerator(url, body, 4, false);
    const kept = loadGenerator(url, body, 4, true);
    await new Promise((r) => setTimeout(r, 2000));
    await deploy('2', 'churn-v2.onnx');
    await eventually(async () => (await getMd()).status?.stable?.version === '2', 120_000, 250);
    // Until the old revision's pods are gone (preStop, drain), and a little after.
    await eventually(async () => (await revisionsRunning()).length === 1, 120_000, 250);
    await new Promise((r) => setTimeout(r, 2000));
    const [a, b] = [await fresh.stop(), await kept.stop()];
    for (const report of [a, b]) {
      expect({ failed: report.failed, errors: report.errors }).toEqual({ failed: 0, errors: [] });
      expect(report.ok).toBeGreaterThan(50);
      expect(Object.keys(report.versions).sort()).toEqual(['1', '2']);
    }
  });
});

describe('a broken model', () => {
  it('never takes traffic; the status quotes the container', async () => {
    const load = loadGenerator(url, body, 2, true);
    const before = (await getMd()).status?.stable?.revision;
    await deploy('3', 'broken.onnx');
    const degraded = await eventually(
      async () => {
        const md = await getMd();
        return md.status?.phase === 'Degraded' && md;
      },
      180_000,
      500,
    );
    const report = await load.stop();
    const message = degraded.status!.conditions!.find((c) => c.type === 'Degraded')!.message;
    // The server's own words, from the container's termination message.
    expect(message).toMatch(/version 3/);
    expect(message).toMatch(/onnx|protobuf|model/i);
    expect(message).toMatch(/last exit code [1-9]/);
    expect(degraded.status?.stable).toMatchObject({ revision: before, version: '2' });
    expect({ failed: report.failed, errors: report.errors }).toEqual({ failed: 0, errors: [] });
    expect(report.versions).toEqual({ '2': report.ok });
  });
});

describe('a pod deleted under load', () => {
  it('costs no request with two replicas, and the Deployment replaces it', async () => {
    await deploy('2', 'churn-v2.onnx', 2);
    await eventually(
      async () => {
        const md = await getMd();
        return (
          md.status?.phase === 'Ready' &&
          (await revisionsRunning()).length === 1 &&
          md.status.stable?.version === '2'
        );
      },
      120_000,
      250,
    );
    await eventually(
      async () =>
        (
          await core.listNamespacedPod({ namespace: ns, labelSelector: 'modelship.dev/deployment=churn' })
        ).items.filter((p) => p.status?.containerStatuses?.[0]?.ready).length === 2,
      120_000,
      250,
    );
    const load = loadGenerator(url, body, 4, false);
    await new Promise((r) => setTimeout(r, 1500));
    const victim = (
      await core.listNamespacedPod({ namespace: ns, labelSelector: 'modelship.dev/deployment=churn' })
    ).items[0]!.metadata!.name!;
    await kubectlOk(['delete', 'pod', victim, '-n', ns, '--wait=false']);
    await eventually(
      async () => {
        const pods = (
          await core.listNamespacedPod({ namespace: ns, labelSelector: 'modelship.dev/deployment=churn' })
        ).items;
        return (
          pods.every((p) => p.metadata!.name !== victim) &&
          pods.filter((p) => p.status?.containerStatuses?.[0]?.ready).length === 2
        );
      },
      120_000,
      250,
    );
    const report = await load.stop();
    expect({ failed: report.failed, errors: report.errors }).toEqual({ failed: 0, errors: [] });
    expect(report.ok).toBeGreaterThan(50);
  });
});
