/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 */
/**
 * Every datatype through JSON and through Triton's binary extension, in both directions, checked against the same
 * model run in-process with onnxruntime-node.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as ort from 'onnxruntime-node';
import { allTypesModel, benchTabularModel } from '../../test/fixtures/onnx/models.js';
import {
  bytesOf,
  decodeStrings,
  encodeStrings,
  http,
  postBinary,
  postJson,
  splitBinaryResponse,
} from './support/client.js';
import { startTestServer, type TestServer } from './support/server.js';

/** Two rows of two values per type, including each type's extremes. */
const VALUES = {
  BOOL: { ort: 'bool', json: [true, false, false, true], raw: new Uint8Array([1, 0, 0, 1]) },
  INT8: { ort: 'int8', json: [-128, 127, 0, -1], raw: new Int8Array([-128, 127, 0, -1]) },
  INT16: { ort: 'int16', json: [-32768, 32767, 1, -1], raw: new Int16Array([-32768, 32767, 1, -1]) },
  INT32: {
    ort: 'int32',
    json: [-2147483648, 2147483647, 5, -5],
    raw: new Int32Array([-2147483648, 2147483647, 5, -5]),
  },
  INT64: {
    ort: 'int64',
    json: [-(2 ** 53 - 1), 2 ** 53 - 1, 0, -7],
    raw: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 0n, -7n]),
  },
  UINT8: { ort: 'uint8', json: [0, 255, 1, 2], raw: new Uint8Array([0, 255, 1, 2]) },
  UINT16: { ort: 'uint16', json: [0, 65535, 1, 2], raw: new Uint16Array([0, 65535, 1, 2]) },
  UINT32: { ort: 'uint32', json: [0, 4294967295, 1, 2], raw: new Uint32Array([0, 4294967295, 1, 2]) },
  UINT64: {
    ort: 'uint64',
    json: [0, 2 ** 53 - 1, 1, 2],
    raw: new BigUint64Array([0n, 2n ** 64n - 1n, 1n, 2n]),
  },
  // 1.0, -2.0, 65504 (largest half), smallest subnormal.
  FP16: { ort: 'float16', json: undefined, raw: new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001]) },
  FP32: {
    ort: 'float32',
    json: [1.5, -2.25, 3.4e38, 1e-7],
    raw: new Float32Array([1.5, -2.25, 3.4e38, 1e-7]),
  },
  FP64: {
    ort: 'float64',
    json: [Math.PI, -1e300, 5e-324, 0],
    raw: new Float64Array([Math.PI, -1e300, 5e-324, 0]),
  },
  BYTES: { ort: 'string', json: ['hello', 'wörld', '', '🙂'], raw: undefined },
} as const;
type Dt = keyof typeof VALUES;
const TYPES = Object.keys(VALUES) as Dt[];
const STRINGS = ['hello', 'wörld', '', '🙂'];

const rawBytes = (dt: Dt): Buffer => (dt === 'BYTES' ? encodeStrings(STRINGS) : bytesOf(VALUES[dt].raw!));

let s: TestServer;
let tab: TestServer;
let allTypes: ort.InferenceSession;
let tabular: ort.InferenceSession;

beforeAll(async () => {
  s = await startTestServer(allTypesModel(), { modelName: 'all' });
  tab = await startTestServer(benchTabularModel(), { modelName: 'tabular' });
  allTypes = await ort.InferenceSession.create(allTypesModel());
  tabular = await ort.InferenceSession.create(benchTabularModel());
});
afterAll(async () => {
  await Promise.all([s.stop(), tab.stop(), allTypes.release(), tabular.release()]);
});

/** The in-process reference: the same all-types model, fed the binary values. */
async function inProcess(): Promise<ort.InferenceSession.OnnxValueMapType> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const dt of TYPES) {
    const v = VALUES[dt];
    const data = dt === 'BYTES' ? [...STRINGS] : v.raw!;
    const tensor = new ort.Tensor(v.ort, data as ort.Tensor.DataType, [2, 2]);
    // Same workaround as the server's (repository/ort-worker.ts): on Node 26 onnxruntime-common rewraps float16 bits
    // in a Float16Array that onnxruntime-node 1.30's native code cannot read.
    if (dt === 'FP16') (tensor as unknown as { cpuData: unknown }).cpuData = data;
    feeds[`in_${v.ort}`] = tensor;
  }
  return allTypes.run(feeds);
}

describe('every datatype', () => {
  it('JSON in, JSON out (FP16 travels as binary: it has no JSON form)', async () => {
    const fp16 = rawBytes('FP16');
    const inputs = TYPES.map((dt) =>
      dt === 'FP16'
        ? {
            name: 'in_float16',
            shape: [2, 2],
            datatype: dt,
            parameters: { binary_data_size: fp16.byteLength },
          }
        : { name: `in_${VALUES[dt].ort}`, shape: [2, 2], datatype: dt, data: VALUES[dt].json },
    );
    const r = await postBinary(`${s.base}/v2/models/all/infer`, { inputs }, [fp16]);
    expect(r.status).toBe(200);
    expect(r.outputs.size).toBe(0);
    for (const dt of TYPES) {
      const out = r.json.outputs.find((o: { name: string }) => o.name === `out_${VALUES[dt].ort}`);
      expect(out).toMatchObject({ datatype: dt, shape: [2, 2] });
      if (dt === 'FP16') expect(out.data).toEqual([1, -2, 65504, 2 ** -24]);
      // FP32 values come back as the exact doubles of their float32 values (3.4e38 -> 3.3999999521443642e+38).
      else if (dt === 'FP32') expect(out.data).toEqual(Array.from(new Float32Array(VALUES.FP32.json)));
      else expect(out.data).toEqual(VALUES[dt].json);
    }
  });

  it('binary in, binary out: byte-identical to onnxruntime in-process', async () => {
    const inputs = TYPES.map((dt) => ({
      name: `in_${VALUES[dt].ort}`,
      shape: [2, 2],
      datatype: dt,
      parameters: { binary_data_size: rawBytes(dt).byteLength },
    }));
    const r = await postBinary(
      `${s.base}/v2/models/all/infer`,
      { inputs, parameters: { binary_data_output: true } },
      TYPES.map(rawBytes),
    );
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/octet-stream');
    const expected = await inProcess();
    for (const dt of TYPES) {
      const name = `out_${VALUES[dt].ort}`;
      const got = r.outputs.get(name)!;
      const json = r.json.outputs.find((o: { name: string }) => o.name === name);
      expect(json).toMatchObject({
        datatype: dt,
        shape: [2, 2],
        parameters: { binary_data_size: got.byteLength },
      });
      expect(json.data).toBeUndefined();
      const ref = expected[name]!.data;
      if (dt === 'BYTES') expect(decodeStrings(got)).toEqual(ref);
      else expect(got.equals(bytesOf(ref as ArrayBufferView))).toBe(true);
      expect(got.equals(rawBytes(dt))).toBe(true);
    }
  });

  it("an output's binary_data overrides the request's binary_data_output", async () => {
    const inputs = TYPES.map((dt) => ({
      name: `in_${VALUES[dt].ort}`,
      shape: [2, 2],
      datatype: dt,
      parameters: { binary_data_size: rawBytes(dt).byteLength },
    }));
    const r = await postBinary(
      `${s.base}/v2/models/all/infer`,
      {
        inputs,
        parameters: { binary_data_output: true },
        outputs: [{ name: 'out_int32', parameters: { binary_data: false } }, { name: 'out_string' }],
      },
      TYPES.map(rawBytes),
    );
    expect(r.status).toBe(200);
    expect(r.json.outputs[0]).toEqual({
      name: 'out_int32',
      datatype: 'INT32',
      shape: [2, 2],
      data: VALUES.INT32.json,
    });
    expect(decodeStrings(r.outputs.get('out_string')!)).toEqual(STRINGS);
  });
});

describe('a real model, JSON and binary, against in-process results', () => {
  const rows = 3;
  const features = Float32Array.from({ length: rows * 30 }, (_, i) => Math.sin(i) * 2);

  async function reference(): Promise<{ probabilities: Float32Array; label: BigInt64Array }> {
    const out = await tabular.run({ features: new ort.Tensor('float32', features, [rows, 30]) });
    return {
      probabilities: out.probabilities!.data as Float32Array,
      label: out.label!.data as BigInt64Array,
    };
  }

  it('JSON', async () => {
    const r = await postJson(`${tab.base}/v2/models/tabular/infer`, {
      inputs: [{ name: 'features', shape: [rows, 30], datatype: 'FP32', data: Array.from(features) }],
    });
    expect(r.status).toBe(200);
    const ref = await reference();
    expect(r.json.outputs[0]).toEqual({
      name: 'probabilities',
      datatype: 'FP32',
      shape: [rows, 3],
      data: Array.from(ref.probabilities),
    });
    expect(r.json.outputs[1]).toEqual({
      name: 'label',
      datatype: 'INT64',
      shape: [rows],
      data: Array.from(ref.label, Number),
    });
  });

  it('binary', async () => {
    const r = await postBinary(
      `${tab.base}/v2/models/tabular/infer`,
      {
        inputs: [
          {
            name: 'features',
            shape: [rows, 30],
            datatype: 'FP32',
            parameters: { binary_data_size: features.byteLength },
          },
        ],
        outputs: [
          { name: 'probabilities', parameters: { binary_data: true } },
          { name: 'label', parameters: { binary_data: true } },
        ],
      },
      [bytesOf(features)],
    );
    expect(r.status).toBe(200);
    const ref = await reference();
    expect(r.outputs.get('probabilities')!.equals(bytesOf(ref.probabilities))).toBe(true);
    expect(r.outputs.get('label')!.equals(bytesOf(ref.label))).toBe(true);
  });

  it('a raw body (Inference-Header-Content-Length: 0) is the single input, batch of one', async () => {
    const one = features.subarray(0, 30);
    const res = await http(`${tab.base}/v2/models/tabular/infer`, {
      method: 'POST',
      headers: { 'inference-header-content-length': 0, 'content-type': 'application/octet-stream' },
      body: bytesOf(one),
    });
    expect(res.status).toBe(200);
    const { json, outputs } = splitBinaryResponse(res);
    expect(json.outputs[0]).toMatchObject({ name: 'probabilities', shape: [1, 3] });
    const ref = await reference();
    expect(outputs.get('probabilities')!.equals(bytesOf(ref.probabilities.subarray(0, 3)))).toBe(true);
  });
});
