/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 *
 * The README's promise, as a person meets it on the local cluster: with the operator running,
 * `kubectl apply -f examples/` (the files in the repository, unchanged) gives Running pods that load the local
 * model store's sample models and answer inference through their Services, like in-process onnxruntime.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as ort from 'onnxruntime-node';
import { sampleModels } from '../../cluster/src/node/model-store.js';
import { eventually, installCrds, kubectlOk, repoRoot } from '../support/cluster.js';
import { installRbac, operatorKubeconfig, startOperator, type OperatorProcess } from '../support/operator.js';
import { clusterIp, core, infer, irisRequest, waitForPhase } from './support.js';

const examples = join(repoRoot, 'examples');
const rows = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
];
let operator: OperatorProcess;

beforeAll(async () => {
  await installCrds();
  await installRbac();
  operator = await startOperator({ kubeconfig: await operatorKubeconfig(), args: ['--no-leader-elect'] });
}, 120_000);

afterAll(async () => {
  await kubectlOk(['delete', '-f', examples, '--ignore-not-found', '--wait=true', '--timeout=120s']);
  await operator?.stop();
}, 180_000);

/** What onnxruntime in this process answers for the same model file and rows, by output name. */
async function inProcess(model: Uint8Array): Promise<Record<string, number[]>> {
  const session = await ort.InferenceSession.create(model);
  const out = await session.run({
    features: new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 4]),
  });
  return Object.fromEntries(
    Object.entries(out).map(([name, t]) => [name, Array.from(t.data as ArrayLike<number | bigint>, Number)]),
  );
}

describe('kubectl apply -f examples/', () => {
  it('creates ModelDeployments that turn Ready with Running pods', async () => {
    const out = await kubectlOk(['apply', '-f', examples]);
    expect(out).toMatch(/modeldeployment.modelship.dev\/iris created/);
    expect(out).toMatch(/modeldeployment.modelship.dev\/iris-http created/);
    await waitForPhase('default', 'iris', 'Ready', 180_000);
    await waitForPhase('default', 'iris-http', 'Ready', 180_000);
    const pods = (
      await core.listNamespacedPod({
        namespace: 'default',
        labelSelector: 'app.kubernetes.io/managed-by=modelship',
      })
    ).items.filter((p) => p.status?.phase === 'Running' && p.status.containerStatuses?.[0]?.ready);
    const byRole = (role: string) =>
      pods.filter((p) => (p.metadata?.labels?.['app.kubernetes.io/component'] ?? '') === role).length;
    // iris asks for two replicas, iris-http for the default one; iris rolls out as a canary, behind two routers.
    expect(byRole('model-server')).toBe(3);
    await eventually(async () => {
      const routers = (
        await core.listNamespacedPod({
          namespace: 'default',
          labelSelector: 'modelship.dev/deployment=iris,app.kubernetes.io/component=router',
        })
      ).items.filter((p) => p.status?.containerStatuses?.[0]?.ready);
      return routers.length === 2;
    }, 120_000);
    expect(await kubectlOk(['get', 'md', 'iris', 'iris-http', '--no-headers'])).toMatch(
      /iris\s+iris\s+1\s+Ready\s+True.*\n.*iris-http\s+iris\s+2\s+Ready\s+True/s,
    );
  }, 400_000);

  it.each([
    ['iris', '1', 'iris/1/model.onnx'],
    ['iris-http', '2', 'iris/2/model.onnx'],
  ])('%s answers through its Service with version %s of the sample model', async (service, version, file) => {
    const expected = await inProcess(sampleModels[file]!());
    const ip = await clusterIp('default', service);
    // Endpoints reach kube-proxy a moment after the pods turn ready (iris: its router's, once they are).
    const r = await eventually(
      () => infer(`http://${ip}/v2/models/iris/infer`, irisRequest(rows)),
      60_000,
      200,
    );
    expect(r.model_name).toBe('iris');
    expect(r.model_version).toBe(version);
    expect(r.outputs.map((o) => o.name).sort()).toEqual(Object.keys(expected).sort());
    for (const output of r.outputs) {
      const want = expected[output.name]!;
      expect(output.data).toHaveLength(want.length);
      output.data.forEach((v, i) => expect(Number(v)).toBeCloseTo(want[i]!, 5));
    }
  });
});
