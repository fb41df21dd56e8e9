/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 */
/** Conformance of every REST endpoint of the Open Inference Protocol V2 (and the statistics/config extensions). */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { addSubModel } from '../../test/fixtures/onnx/models.js';
import { getJson, http, postJson } from './support/client.js';
import { startTestServer, type TestServer } from './support/server.js';

let s: TestServer;
const A = [1, 2, 3, 4, 5, 6, 7, 8];
const B = [10, 20, 30, 40, 50, 60, 70, 80];
const request = (extra: object = {}) => ({
  inputs: [
    { name: 'a', shape: [2, 4], datatype: 'FP32', data: A },
    { name: 'b', shape: [2, 4], datatype: 'FP32', data: B },
  ],
  ...extra,
});

beforeAll(async () => {
  // A queue delay other than the default 0, so the configuration endpoint shows its conversion to microseconds.
  s = await startTestServer(addSubModel(), { modelName: 'add_sub', modelVersion: '3', maxQueueDelayMs: 2 });
});
afterAll(async () => {
  await s.stop();
});

describe('health', () => {
  it('GET /v2/health/live answers 200', async () => {
    expect((await getJson(`${s.base}/v2/health/live`)).status).toBe(200);
  });
  it('GET /v2/health/ready answers 200 once the model is loaded', async () => {
    const r = await getJson(`${s.base}/v2/health/ready`);
    expect(r).toMatchObject({ status: 200, json: { ready: true } });
  });
  it.each(['/v2/models/add_sub/ready', '/v2/models/add_sub/versions/3/ready'])(
    'GET %s answers 200',
    async (p) => {
      expect((await getJson(`${s.base}${p}`)).status).toBe(200);
    },
  );
  it('model ready for an unknown model or version is 404 with an error', async () => {
    const unknown = await getJson(`${s.base}/v2/models/nope/ready`);
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toMatch(/model 'nope'/);
    const version = await getJson(`${s.base}/v2/models/add_sub/versions/9/ready`);
    expect(version.status).toBe(404);
    expect(version.json.error).toMatch(/no version '9'/);
  });
});

describe('metadata', () => {
  it('server metadata lists the extensions', async () => {
    const r = await getJson(`${s.base}/v2`);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      name: 'modelship',
      version: expect.any(String),
      extensions: expect.arrayContaining(['binary_tensor_data', 'statistics', 'model_configuration']),
    });
  });
  it.each(['/v2/models/add_sub', '/v2/models/add_sub/versions/3'])(
    '%s gives platform, versions and -1 for dynamic dims',
    async (p) => {
      const r = await getJson(`${s.base}${p}`);
      expect(r.status).toBe(200);
      expect(r.json).toEqual({
        name: 'add_sub',
        versions: ['3'],
        platform: 'onnx_onnxv1',
        inputs: [
          { name: 'a', datatype: 'FP32', shape: [-1, 4] },
          { name: 'b', datatype: 'FP32', shape: [-1, 4] },
        ],
        outputs: [
          { name: 'sum', datatype: 'FP32', shape: [-1, 4] },
          { name: 'diff', datatype: 'FP32', shape: [-1, 4] },
        ],
      });
    },
  );
  it('metadata of an unknown model is 404', async () => {
    const r = await getJson(`${s.base}/v2/models/other`);
    expect(r.status).toBe(404);
    expect(r.json.error).toContain("'other'");
  });
  it('model configuration describes batching the way Triton does', async () => {
    const r = await getJson(`${s.base}/v2/models/add_sub/config`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      name: 'add_sub',
      max_batch_size: 32,
      input: [{ name: 'a', data_type: 'TYPE_FP32', dims: [4] }, { name: 'b' }],
      dynamic_batching: { max_queue_delay_microseconds: 2000 },
    });
  });
});

describe('inference', () => {
  it.each(['/v2/models/add_sub/infer', '/v2/models/add_sub/versions/3/infer'])(
    'POST %s returns every output',
    async (p) => {
      const r = await postJson(`${s.base}${p}`, request());
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.json.model_name).toBe('add_sub');
      expect(r.json.model_version).toBe('3');
      expect(r.json.outputs).toEqual([
        { name: 'sum', datatype: 'FP32', shape: [2, 4], data: A.map((a, i) => a + B[i]!) },
        { name: 'diff', datatype: 'FP32', shape: [2, 4], data: A.map((a, i) => a - B[i]!) },
      ]);
    },
  );
  it('echoes the id, accepts parameters and returns only the requested outputs', async () => {
    const r = await postJson(
      `${s.base}/v2/models/add_sub/infer`,
      request({
        id: 'req-42',
        parameters: { priority: 1, anything: { nested: true } },
        outputs: [{ name: 'diff', parameters: {} }],
      }),
    );
    expect(r.status).toBe(200);
    expect(r.json.id).toBe('req-42');
    expect(r.json.outputs.map((o: { name: string }) => o.name)).toEqual(['diff']);
  });
  it('accepts nested data', async () => {
    const nested = (xs: number[]) => [xs.slice(0, 4), xs.slice(4)];
    const r = await postJson(`${s.base}/v2/models/add_sub/infer`, {
      inputs: [
        { name: 'b', shape: [2, 4], datatype: 'FP32', data: nested(B) },
        { name: 'a', shape: [2, 4], datatype: 'FP32', data: nested(A) },
      ],
      outputs: [{ name: 'sum' }],
    });
    expect(r.status).toBe(200);
    expect(r.json.outputs[0].data).toEqual(A.map((a, i) => a + B[i]!));
  });
  it('an unknown model version is 404', async () => {
    const r = await postJson(`${s.base}/v2/models/add_sub/versions/1/infer`, request());
    expect(r.status).toBe(404);
    expect(r.json.error).toMatch(/version '1'/);
  });
});

describe('statistics', () => {
  it('counts inferences and executions per model', async () => {
    const before = (await getJson(`${s.base}/v2/models/add_sub/stats`)).json.model_stats[0];
    await postJson(`${s.base}/v2/models/add_sub/infer`, request());
    const r = await getJson(`${s.base}/v2/models/add_sub/stats`);
    expect(r.status).toBe(200);
    const stats = r.json.model_stats[0];
    expect(stats).toMatchObject({ name: 'add_sub', version: '3' });
    expect(stats.inference_count - before.inference_count).toBe(2); // two rows
    expect(stats.execution_count - before.execution_count).toBe(1);
    expect(stats.inference_stats.success.count - before.inference_stats.success.count).toBe(1);
    expect(stats.inference_stats.success.ns).toBeGreaterThan(before.inference_stats.success.ns);
    const all = await getJson(`${s.base}/v2/models/stats`);
    expect(all.json.model_stats.map((m: { name: string }) => m.name)).toEqual(['add_sub']);
  });
});

describe('HTTP details', () => {
  it('unknown paths are 404 and wrong methods 405, both as {"error"}', async () => {
    const missing = await getJson(`${s.base}/v2/nothing/here`);
    expect(missing.status).toBe(404);
    expect(missing.json.error).toContain('/v2/nothing/here');
    const wrong = await http(`${s.base}/v2/models/add_sub/infer`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('POST');
    expect(JSON.parse(wrong.body.toString()).error).toMatch(/GET is not allowed/);
  });
  it('returns the x-request-id it was given, or a generated one, and logs one access line per request', async () => {
    const given = await http(`${s.base}/v2/health/live`, { headers: { 'x-request-id': 'trace-abc' } });
    expect(given.headers['x-request-id']).toBe('trace-abc');
    const generated = await http(`${s.base}/v2/health/live`);
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const line = s.logs.find((l) => l.message === 'request' && l.requestId === 'trace-abc');
    expect(line).toMatchObject({ method: 'GET', path: '/v2/health/live', status: 200, level: 'info' });
    expect(typeof line?.durationMs).toBe('number');
  });
});
