/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 */
/**
 * The fault models that canary tests roll out: they load and pass the server's warm-up like a good model, then
 * misbehave on real inputs (one fails with a server error, one answers slowly but rightly).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { faultyIrisModel, irisModel, slowIrisModel } from '../../test/fixtures/onnx/models.js';
import { postJson } from './support/client.js';
import { startTestServer, type TestServer } from './support/server.js';

const request = (data: number[]) =>
  JSON.stringify({ inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data }] });
const real = request([5.1, 3.5, 1.4, 0.2]);
const zeros = request([0, 0, 0, 0]);

let good: TestServer;
let faulty: TestServer;
let slow: TestServer;

beforeAll(async () => {
  [good, faulty, slow] = await Promise.all([
    startTestServer(irisModel(), { modelName: 'iris' }),
    startTestServer(faultyIrisModel(), { modelName: 'iris' }),
    startTestServer(slowIrisModel(300), { modelName: 'iris' }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([good?.stop(), faulty?.stop(), slow?.stop()]);
});

describe('fault models', () => {
  it('iris-faulty loads and answers zeros, then fails every real input with a 500', async () => {
    expect((await postJson(`${faulty.base}/v2/models/iris/infer`, zeros)).status).toBe(200);
    const r = await postJson(`${faulty.base}/v2/models/iris/infer`, real);
    expect(r.status).toBe(500);
    expect(r.json.error).toMatch(/onnxruntime could not run the model/);
  });

  it('iris-slow answers real inputs as the iris model does (only slower)', async () => {
    const expected = await postJson(`${good.base}/v2/models/iris/infer`, real);
    const r = await postJson(`${slow.base}/v2/models/iris/infer`, real);
    expect(r.status).toBe(200);
    expect(r.json.outputs.find((o: { name: string }) => o.name === 'label').data).toEqual(
      expected.json.outputs.find((o: { name: string }) => o.name === 'label').data,
    );
  });
});
