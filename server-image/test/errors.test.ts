/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 */
/**
 * Every malformed request gets a 4xx {"error"} naming the input and the problem; none crashes the server or blocks
 * other requests.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request } from 'node:http';
import { connect } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { addSubModel, fixedShapeModel } from '../../test/fixtures/onnx/models.js';
import { http, postBinary, postJson } from './support/client.js';
import { startTestServer, type TestServer } from './support/server.js';

const LIMIT = 4096;
let s: TestServer;
let fixed: TestServer;
const url = () => `${s.base}/v2/models/m/infer`;
const a = (extra: object = {}) => ({
  name: 'a',
  shape: [1, 4],
  datatype: 'FP32',
  data: [1, 2, 3, 4],
  ...extra,
});
const b = (extra: object = {}) => ({
  name: 'b',
  shape: [1, 4],
  datatype: 'FP32',
  data: [5, 6, 7, 8],
  ...extra,
});

beforeAll(async () => {
  s = await startTestServer(addSubModel(), { modelName: 'm', maxRequestBytes: LIMIT });
  fixed = await startTestServer(fixedShapeModel([2, 3]), { modelName: 'fixed' });
});
afterAll(async () => {
  await Promise.all([s.stop(), fixed.stop()]);
});

describe('JSON requests', () => {
  it.each([
    [
      'unknown input',
      { inputs: [a(), b(), { name: 'c', shape: [1], datatype: 'FP32', data: [1] }] },
      /unknown input 'c'.*'a', 'b'/,
    ],
    ['missing input', { inputs: [a()] }, /missing input 'b' \(FP32 \[-1, 4\]\)/],
    [
      'wrong datatype',
      { inputs: [a({ datatype: 'INT32' }), b()] },
      /input 'a' has datatype "INT32" but the model expects FP32/,
    ],
    ['unknown datatype', { inputs: [a({ datatype: 'FLOAT' }), b()] }, /input 'a' has datatype "FLOAT"/],
    ['wrong rank', { inputs: [a({ shape: [4] }), b()] }, /input 'a' has rank 1 .* expects rank 2/],
    [
      'wrong fixed dimension',
      { inputs: [a({ shape: [2, 2] }), b()] },
      /input 'a': dimension 1 is 2 but the model fixes it to 4/,
    ],
    [
      'element count',
      { inputs: [a({ data: [1, 2, 3] }), b()] },
      /input 'a' has 3 elements in "data" but shape \[1, 4\] needs 4/,
    ],
    [
      'negative dimension',
      { inputs: [a({ shape: [-1, 4] }), b()] },
      /input 'a': "shape" must be an array of non-negative integers/,
    ],
    [
      'element of the wrong type',
      { inputs: [a({ data: [1, 'x', 3, 4] }), b()] },
      /input 'a': element 1 is "x", not a number \(FP32\)/,
    ],
    [
      'data nested deeper than the rank',
      { inputs: [a({ data: [[[1, 2, 3, 4]]] }), b()] },
      /input 'a': "data" is nested 3\+ levels deep, more than the tensor's rank 2/,
    ],
    ['data not an array', { inputs: [a({ data: 'abc' }), b()] }, /input 'a': "data" must be an array/],
    ['no data', { inputs: [a({ data: undefined }), b()] }, /input 'a' has no "data"/],
    ['duplicate input', { inputs: [a(), a(), b()] }, /input 'a' is given more than once/],
    [
      'unknown output',
      { inputs: [a(), b()], outputs: [{ name: 'prod' }] },
      /unknown output 'prod'; the model's outputs are 'sum', 'diff'/,
    ],
    ['no inputs', { outputs: [] }, /non-empty "inputs" array/],
    ['non-string id', { id: 5, inputs: [a(), b()] }, /"id" must be a string/],
    ['not an object', [1, 2], /must be a JSON object/],
    [
      'binary size without the header',
      { inputs: [a({ data: undefined, parameters: { binary_data_size: 16 } }), b()] },
      /input 'a' has binary_data_size but the request has no Inference-Header-Content-Length/,
    ],
  ])('%s -> 400', async (_case, body, message) => {
    const r = await postJson(url(), body);
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(message);
  });

  it('a fixed-shape model refuses another first dimension', async () => {
    const r = await postJson(`${fixed.base}/v2/models/fixed/infer`, {
      inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }],
    });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(/input 'x': dimension 0 is 1 but the model fixes it to 2/);
  });

  it('not JSON -> 400', async () => {
    const r = await postJson(url(), '{"inputs": [');
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(/^the request body is not valid JSON/);
  });

  it('JSON nested 100,000 levels deep -> 400, and the server lives on', async () => {
    const depth = 100_000;
    const deep = `{"inputs":[{"name":"a","shape":[1,4],"datatype":"FP32","data":${'['.repeat(depth)}1${']'.repeat(depth)}}]}`;
    const big = await startTestServer(addSubModel(), { modelName: 'm' });
    try {
      const r = await postJson(`${big.base}/v2/models/m/infer`, deep);
      expect(r.status).toBe(400);
      expect(r.json.error).toMatch(/nested 3\+ levels deep/);
      expect((await postJson(`${big.base}/v2/models/m/infer`, { inputs: [a(), b()] })).status).toBe(200);
    } finally {
      await big.stop();
    }
  });
});

describe('binary requests', () => {
  const f32 = (n: number) => Buffer.from(new Float32Array(n).buffer);
  const bin = (size: number) => ({ parameters: { binary_data_size: size }, data: undefined });
  it('binary_data_size not matching the shape -> 400', async () => {
    const r = await postBinary(url(), { inputs: [a(bin(12)), b()] }, [f32(3)]);
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(
      /input 'a': binary_data_size is 12 bytes but shape \[1, 4\] of FP32 needs 16/,
    );
  });
  it('binary_data_size beyond the body -> 400', async () => {
    const r = await postBinary(url(), { inputs: [a(bin(16)), b(bin(16))] }, [f32(4)]);
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(
      /input 'b': binary_data_size is 16 bytes but only 0 bytes of binary data remain/,
    );
  });
  it('bytes left over after every input -> 400', async () => {
    const r = await postBinary(url(), { inputs: [a(bin(16)), b()] }, [f32(5)]);
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(
      /4 bytes of binary data follow the JSON header but no input's binary_data_size covers them/,
    );
  });
  it('FP16 as JSON -> 400 saying to send it binary', async () => {
    const all = await import('../../test/fixtures/onnx/models.js');
    const h = await startTestServer(all.identityModel('float16'), { modelName: 'h' });
    try {
      const r = await postJson(`${h.base}/v2/models/h/infer`, {
        inputs: [{ name: 'input', shape: [1, 3], datatype: 'FP16', data: [1, 2, 3] }],
      });
      expect(r.status).toBe(400);
      expect(r.json.error).toMatch(/input 'input': FP16 cannot be sent as JSON; send it as binary data/);
    } finally {
      await h.stop();
    }
  });
  it.each([
    ['not a number', 'abc', /Inference-Header-Content-Length must be a non-negative integer/],
    ['beyond the body', '100000', /Inference-Header-Content-Length is 100000 but the body has only/],
  ])('Inference-Header-Content-Length %s -> 400', async (_c, value, message) => {
    const r = await http(url(), {
      method: 'POST',
      headers: { 'inference-header-content-length': value },
      body: '{}',
    });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body.toString()).error).toMatch(message);
  });
});

describe('size limit and stuck clients', () => {
  it('a body over the limit -> 413, by Content-Length', async () => {
    const r = await http(url(), { method: 'POST', body: 'x'.repeat(LIMIT + 1) });
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body.toString()).error).toBe(
      `the request body is larger than the limit of ${LIMIT} bytes`,
    );
  });

  it('a chunked body that grows over the limit -> 413 without reading the rest', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(url(), { method: 'POST', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', () => undefined);
      req.write('x'.repeat(LIMIT));
      req.write('x'.repeat(LIMIT)); // never ends the request: the server must answer anyway
      setTimeout(() => reject(new Error('no answer to an oversized chunked body')), 5000).unref();
    });
    expect(status).toBe(413);
  });

  it('a client that stalls mid-body blocks nobody, and its abandonment leaks no in-flight request', async () => {
    const port = Number(new URL(s.base).port);
    const socket = connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write('POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"inputs": [');
    await new Promise((r) => setTimeout(r, 50));
    const ok = await postJson(url(), { inputs: [a(), b()] });
    expect(ok.status).toBe(200);
    socket.destroy();
    // The abandoned request ends as a failure with reason client_closed, not as a request pending forever.
    const closed = /modelship_inference_request_failure_total\{[^}]*reason="client_closed"[^}]*\} 1/;
    const deadline = Date.now() + 5000;
    let metrics = '';
    while (Date.now() < deadline && !closed.test(metrics)) {
      metrics = (await http(`${s.metricsBase}/metrics`)).body.toString();
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(metrics).toMatch(closed);
    expect(metrics).toMatch(/modelship_inference_pending_requests\{[^}]*\} 0/);
    expect((await http(`${s.base}/v2/health/live`)).status).toBe(200);
  });

  it('malformed percent-encoding in the path -> 400', async () => {
    const r = await http(`${s.base}/v2/models/%E0%A4%A/ready`);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body.toString()).error).toMatch(/percent-encoding/);
  });

  it('thousands of bad requests leave no memory behind', async () => {
    // A real gc() for this process (where the in-process server runs), so heap sizes can be compared.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const filler = Array.from({ length: 20_000 }, (_, i) => i);
    const bad = [
      { inputs: [a({ data: filler }), b()] }, // element count
      { inputs: [a({ datatype: 'INT32' }), b()] }, // datatype
      { inputs: [a(), b(), { name: 'zzz', shape: [1], datatype: 'FP32', data: filler }] }, // unknown input
    ];
    const round = async (n: number) => {
      for (let i = 0; i < n; i += 10) {
        const rs = await Promise.all(
          Array.from({ length: 10 }, (_, j) =>
            postJson(`${big.base}/v2/models/m/infer`, bad[(i + j) % bad.length]),
          ),
        );
        for (const r of rs) expect(r.status).toBe(400);
      }
    };
    const big = await startTestServer(addSubModel(), { modelName: 'm' });
    try {
      await round(300); // warm up: JIT, pools, caches
      gc();
      // Request bodies are Buffers, whose bytes live outside the V8 heap: count both.
      const used = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
      const before = used();
      await round(2000); // ~300 MB of request bodies in total
      gc();
      const grown = used() - before;
      expect(grown).toBeLessThan(8 * 1024 * 1024);
    } finally {
      await big.stop();
    }
  }, 60_000);

  it('after all of the above the server still answers correctly', async () => {
    const r = await postJson(url(), { inputs: [a(), b()] });
    expect(r.status).toBe(200);
    expect(r.json.outputs[0].data).toEqual([6, 8, 10, 12]);
  });
});
