/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 */
/** OnnxModel: the session on its worker thread; what happens when that worker dies. */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { irisModel } from '../../test/fixtures/onnx/models.js';
import { OnnxModel } from '../src/repository/model.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelship-model-'));
  await writeFile(join(dir, 'iris.onnx'), irisModel());
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const input = () => [
  { name: 'features', datatype: 'FP32' as const, shape: [1, 4], data: Float32Array.of(1, 2, 3, 4) },
];

it('runs on its worker and reports when the worker dies', async () => {
  const model = await OnnxModel.load(join(dir, 'iris.onnx'), { intraOpThreads: 1, interOpThreads: 0 });
  const [label] = await model.run(input(), ['label']);
  expect(label).toMatchObject({ name: 'label', datatype: 'INT64', shape: [1] });
  // Simulate a crash of the onnxruntime thread.
  await (model as unknown as { worker: Worker }).worker.terminate();
  await expect(model.failed).resolves.toThrow(/onnxruntime worker exited/);
  await expect(model.run(input(), ['label'])).rejects.toThrow(/onnxruntime worker exited/);
  await model.close();
});

it('a normal close is not a failure', async () => {
  const model = await OnnxModel.load(join(dir, 'iris.onnx'), { intraOpThreads: 1, interOpThreads: 0 });
  let failed = false;
  void model.failed.then(() => (failed = true));
  await model.close();
  await new Promise((r) => setTimeout(r, 50));
  expect(failed).toBe(false);
});
