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
const body = irisRequest([[5.1, 3.5, 1.4, 0.2]]);

interface Md {
  status?: {
    phase?: string;
    stable?: { version?: string; revision?: string };
    conditions?: { type: string; status: string; message: string }[];
  };
}

/** One ModelDeployment `churn` in a namespace of its own, with the test's models on its claim. */
class Churn {
  private constructor(readonly ns: string) {}

  static async create(replicas = 1): Promise<{ churn: Churn; url: string }> {
    const churn = new Churn(await createNamespace('e2e-rollout'));
    await modelClaim(churn.ns, 'models');
    await churn.deploy('1', 'churn-v1.onnx', replicas);
    await waitForPhase(churn.ns, 'churn', 'Ready');
    const url = `http://${await clusterIp(churn.ns, 'churn')}/v2/models/churn/infer`;
    // Endpoints reach kube-proxy a moment after the pods turn ready: wait for the first answer before measuring.
    await eventually(async () => (await post(url, body)).status === 200, 30_000, 200);
    return { churn, url };
  }

  async get(): Promise<Md> {
    return (await custom.getNamespacedCustomObject({
      group: 'modelship.dev',
      version: 'v1alpha1',
      plural: 'modeldeployments',
      namespace: this.ns,
      name: 'churn',
    })) as Md;
  }

  async deploy(version: string, file: string, replicas = 1): Promise<void> {
    await applyYaml(this.ns, [
      {
        apiVersion: 'modelship.dev/v1alpha1',
        kind: 'ModelDeployment',
        metadata: { name: 'churn' },
        spec: { model: { version, storageUri: `pvc://models/${file}` }, runtime: { replicas } },
      },
    ]);
  }

  async pods() {
    return (
      await core.listNamespacedPod({ namespace: this.ns, labelSelector: 'modelship.dev/deployment=churn' })
    ).items;
  }

  async revisionsRunning(): Promise<string[]> {
    return [
      ...new Set((await this.pods()).map((p) => p.metadata!.labels!['modelship.dev/revision']!)),
    ].sort();
  }
}

/** Resolves once the load generator has had `n` more answers: traffic is flowing. */
async function answered(load: ReturnType<typeof loadGenerator>, n: number): Promise<void> {
  const target = load.report.ok + n;
  await eventually(async () => load.report.ok >= target, 60_000, 50);
}

beforeAll(async () => {
  await installCrds();
  await installRbac();
  operator = await startOperator({ kubeconfig: await operatorKubeconfig(), args: ['--no-leader-elect'] });
  writeModel('churn-v1.onnx', tabularModel({ name: 'churn', features: 4, hidden: [8], classes: 3, seed: 1 }));
  writeModel('churn-v2.onnx', tabularModel({ name: 'churn', features: 4, hidden: [8], classes: 3, seed: 2 }));
  writeModel('broken.onnx', new TextEncoder().encode('this is not an ONNX model\n'));
}, 300_000);

afterAll(async () => {
  await operator?.stop();
});

describe('a version switch under continuous load', () => {
  it('fails zero requests, with fresh connections and with keep-alive ones', async () => {
    const { churn, url } = await Churn.create();
    const fresh = loadGenerator(url, body, 4, false);
    const kept = loadGenerator(url, body, 4, true);
    await Promise.all([answered(fresh, 20), answered(kept, 20)]);
    await churn.deploy('2', 'churn-v2.onnx');
    await eventually(async () => (await churn.get()).status?.stable?.version === '2', 120_000, 250);
    // Until the old revision's pods are gone (preStop, drain), and some answers after that.
    await eventually(async () => (await churn.revisionsRunning()).length === 1, 120_000, 250);
    await Promise.all([answered(fresh, 20), answered(kept, 20)]);
    const [a, b] = [await fresh.stop(), await kept.stop()];
    for (const report of [a, b]) {
      expect({ failed: report.failed, errors: report.errors }).toEqual({ failed: 0, errors: [] });
      expect(report.ok).toBeGreaterThan(50);
      expect(Object.keys(report.versions).sort()).toEqual(['1', '2']);
    }
  }, 300_000);
});

describe('a broken model', () => {
  it('never takes traffic; the status quotes the container', async () => {
    const { churn, url } = await Churn.create();
    const load = loadGenerator(url, body, 2, true);
    const before = (await churn.get()).status?.stable?.revision;
    await churn.deploy('3', 'broken.onnx');
    const degraded = await eventually(
      async () => {
        const md = await churn.get();
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
    expect(degraded.status?.stable).toMatchObject({ revision: before, version: '1' });
    expect({ failed: report.failed, errors: report.errors }).toEqual({ failed: 0, errors: [] });
    expect(report.versions).toEqual({ '1': report.ok });
  }, 300_000);
});

describe('a pod deleted under load', () => {
  it('costs no request with two replicas, and the Deployment replaces it', async () => {
    const { churn, url } = await Churn.create(2);
    const readyPods = async () => (await churn.pods()).filter((p) => p.status?.containerStatuses?.[0]?.ready);
    await eventually(async () => (await readyPods()).length === 2, 120_000, 250);
    const load = loadGenerator(url, body, 4, false);
    await answered(load, 20);
    const victim = (await churn.pods())[0]!.metadata!.name!;
    await kubectlOk(['delete', 'pod', victim, '-n', churn.ns, '--wait=false']);
    await eventually(
      async () => {
        const pods = await churn.pods();
        return (
          pods.every((p) => p.metadata!.name !== victim) &&
          pods.filter((p) => p.status?.containerStatuses?.[0]?.ready).length === 2
        );
      },
      120_000,
      250,
    );
    await answered(load, 20);
    const report = await load.stop();
    expect({ failed: report.failed, errors: report.errors }).toEqual({ failed: 0, errors: [] });
    expect(report.ok).toBeGreaterThan(50);
  }, 300_000);
});
