/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 */
/**
 * The onnxruntime failures that are the client's fault (src/repository/ort-errors.ts): each pattern is provoked
 * through a real session on its worker thread, with an input that makes onnxruntime-node produce exactly that
 * message. An onnxruntime upgrade that rewords one fails here instead of turning client errors into 500s.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addSubModel, buildModel, fixedShapeModel } from '../../test/fixtures/onnx/models.js';
import type { Tensor } from '../src/protocol/v2/types.js';
import { OnnxModel } from '../src/repository/model.js';
import { CLIENT_ERROR_PATTERNS, classifyOrtError } from '../src/repository/ort-errors.js';
import { postJson } from './support/client.js';
import { startTestServer } from './support/server.js';

const f32 = (name: string, shape: number[]): Tensor => ({
  name,
  datatype: 'FP32',
  shape,
  data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i + 1),
});
const i64 = (name: string, values: number[]): Tensor => ({
  name,
  datatype: 'INT64',
  shape: [values.length],
  data: BigInt64Array.from(values.map(BigInt)),
});

/** x float32 [batch, n] through one operator with a constant second input. */
function unary(op: string, constant: { type: 'int64'; dims: number[]; values: number[] }, outputs = ['y']) {
  return buildModel({
    name: op.toLowerCase(),
    inputs: [{ name: 'x', type: 'float32', shape: ['batch', 'n'] }],
    outputs: outputs.map((name) => ({ name, type: 'float32' as const, shape: ['p', 'q'] })),
    nodes: [{ op, inputs: ['x', 'c'], outputs, attrs: op === 'Split' ? { axis: 1 } : undefined }],
    initializers: [
      {
        name: 'c',
        type: 'int64',
        dims: constant.dims,
        data: BigInt64Array.from(constant.values.map(BigInt)),
      },
    ],
  });
}

/** a and b float32 with independent dynamic dimensions through one binary operator. */
function binary(op: string, attrs?: Record<string, number>) {
  return buildModel({
    name: op.toLowerCase(),
    inputs: [
      { name: 'a', type: 'float32', shape: ['a0', 'a1'] },
      { name: 'b', type: 'float32', shape: ['b0', 'b1'] },
    ],
    outputs: [{ name: 'y', type: 'float32', shape: ['p', 'q'] }],
    nodes: [{ op, inputs: ['a', 'b'], outputs: ['y'], attrs }],
  });
}

/** Rows of a constant [5, 2] table picked by an int64 index input. */
function gatherModel() {
  return buildModel({
    name: 'gather',
    inputs: [{ name: 'idx', type: 'int64', shape: ['batch'] }],
    outputs: [{ name: 'y', type: 'float32', shape: ['batch', 2] }],
    nodes: [{ op: 'Gather', inputs: ['table', 'idx'], outputs: ['y'], attrs: { axis: 0 } }],
    initializers: [{ name: 'table', type: 'float32', dims: [5, 2], data: new Float32Array(10) }],
  });
}

/** Range(start, limit, delta) with a constant delta of 0: a broken model, whatever the client sends. */
function zeroStepRangeModel() {
  return buildModel({
    name: 'range',
    inputs: [
      { name: 'start', type: 'float32', shape: [] },
      { name: 'limit', type: 'float32', shape: [] },
    ],
    outputs: [{ name: 'y', type: 'float32', shape: ['n'] }],
    nodes: [{ op: 'Range', inputs: ['start', 'limit', 'delta'], outputs: ['y'] }],
    initializers: [{ name: 'delta', type: 'float32', dims: [], data: new Float32Array([0]) }],
  });
}

interface Case {
  /** The CLIENT_ERROR_PATTERNS entry it provokes. */
  name: string;
  model: () => Uint8Array;
  inputs: Tensor[];
}

const cases: Case[] = [
  { name: 'broadcast', model: addSubModel, inputs: [f32('a', [2, 4]), f32('b', [3, 4])] },
  { name: 'matmul', model: () => binary('MatMul'), inputs: [f32('a', [1, 3]), f32('b', [2, 2])] },
  {
    name: 'concat',
    model: () => binary('Concat', { axis: 1 }),
    inputs: [f32('a', [1, 2]), f32('b', [2, 2])],
  },
  {
    name: 'reshape',
    model: () => unary('Reshape', { type: 'int64', dims: [2], values: [-1, 3] }),
    inputs: [f32('x', [1, 4])],
  },
  {
    name: 'expand',
    model: () => unary('Expand', { type: 'int64', dims: [2], values: [2, 4] }),
    inputs: [f32('x', [1, 3])],
  },
  {
    name: 'split',
    model: () => unary('Split', { type: 'int64', dims: [2], values: [2, 2] }, ['y', 'z']),
    inputs: [f32('x', [1, 3])],
  },
  { name: 'gather', model: gatherModel, inputs: [i64('idx', [7])] },
  { name: 'input rank', model: () => fixedShapeModel([2, 3]), inputs: [f32('x', [6])] },
  { name: 'input dimensions', model: () => fixedShapeModel([2, 3]), inputs: [f32('x', [2, 2])] },
  {
    name: 'input datatype',
    model: () => fixedShapeModel([2, 3]),
    inputs: [{ name: 'x', datatype: 'FP64', shape: [2, 3], data: new Float64Array(6) }],
  },
];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelship-ort-errors-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `inputs` through a real session on its worker, as the runner does, and returns onnxruntime's message. */
async function failureOf(name: string, bytes: Uint8Array, inputs: Tensor[]): Promise<string> {
  const path = join(dir, `${name.replace(/\W/g, '-')}.onnx`);
  await writeFile(path, bytes);
  const model = await OnnxModel.load(path, { intraOpThreads: 1, interOpThreads: 0 });
  try {
    await model.run(
      inputs,
      model.signature.outputs.map((o) => o.name),
    );
  } catch (err) {
    return (err as Error).message;
  } finally {
    await model.close();
  }
  throw new Error(`${name}: the run succeeded`);
}

describe('onnxruntime errors that are the client’s fault', () => {
  it('every pattern has a case here', () => {
    expect(cases.map((c) => c.name).sort()).toEqual(CLIENT_ERROR_PATTERNS.map((p) => p.name).sort());
  });

  it.each(cases)(
    '$name: onnxruntime still says it that way, and it is a 400',
    async ({ name, model, inputs }) => {
      const message = await failureOf(name, model(), inputs);
      const pattern = CLIENT_ERROR_PATTERNS.find((p) => p.name === name)!.pattern;
      expect(message).toMatch(pattern);
      expect(classifyOrtError(message)).toBe('invalid_argument');
    },
  );

  it('a failure the client cannot fix (a zero-step Range in the model) stays a 500', async () => {
    const start: Tensor = { name: 'start', datatype: 'FP32', shape: [], data: Float32Array.of(0) };
    const limit: Tensor = { name: 'limit', datatype: 'FP32', shape: [], data: Float32Array.of(5) };
    const message = await failureOf('range', zeroStepRangeModel(), [start, limit]);
    expect(message).toMatch(/delta in Range operator can not be zero/);
    expect(classifyOrtError(message)).toBe('internal');
  });
});

/**
 * Range(start, limit, start + 1): runs for most inputs (the warm-up on zeros included), fails for start = -1 with
 * a message none of the patterns knows.
 */
function startPlusOneRangeModel() {
  return buildModel({
    name: 'range',
    inputs: [
      { name: 'start', type: 'float32', shape: [] },
      { name: 'limit', type: 'float32', shape: [] },
    ],
    outputs: [{ name: 'y', type: 'float32', shape: ['n'] }],
    nodes: [
      { op: 'Add', inputs: ['start', 'one'], outputs: ['delta'] },
      { op: 'Range', inputs: ['start', 'limit', 'delta'], outputs: ['y'] },
    ],
    initializers: [{ name: 'one', type: 'float32', dims: [], data: new Float32Array([1]) }],
  });
}

describe('over HTTP', () => {
  const range = (start: number) => ({
    inputs: [
      { name: 'start', shape: [], datatype: 'FP32', data: [start] },
      { name: 'limit', shape: [], datatype: 'FP32', data: [5] },
    ],
  });

  it('an index out of range is a 400 naming onnxruntime’s reason', async () => {
    const s = await startTestServer(gatherModel(), { modelName: 'g' });
    try {
      const bad = await postJson(`${s.base}/v2/models/g/infer`, {
        inputs: [{ name: 'idx', shape: [1], datatype: 'INT64', data: [7] }],
      });
      expect(bad.status).toBe(400);
      expect(bad.json.error).toMatch(
        /onnxruntime could not run the model: .*indices element out of data bounds/,
      );
      const good = await postJson(`${s.base}/v2/models/g/infer`, {
        inputs: [{ name: 'idx', shape: [1], datatype: 'INT64', data: [4] }],
      });
      expect(good.status).toBe(200);
    } finally {
      await s.stop();
    }
  });

  it('a failure none of the patterns knows is a 500', async () => {
    const s = await startTestServer(startPlusOneRangeModel(), { modelName: 'r' });
    try {
      expect((await postJson(`${s.base}/v2/models/r/infer`, range(0))).json.outputs[0].data).toEqual([
        0, 1, 2, 3, 4,
      ]);
      const broken = await postJson(`${s.base}/v2/models/r/infer`, range(-1));
      expect(broken.status).toBe(500);
      expect(broken.json.error).toMatch(/delta in Range operator can not be zero/);
    } finally {
      await s.stop();
    }
  });
});
