/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 */
/**
 * Triton's own client, unchanged: tritonclient.http (installed from PyPI into a cache venv by
 * support/python-tool.ts) drives the server through health, metadata, config, statistics and
 * inference of every datatype with binary and JSON tensors (tritonclient/check.py).
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { allTypesModel } from '../../test/fixtures/onnx/models.js';
import { ensurePythonTool } from './support/python-tool.js';
import { startTestServer, type TestServer } from './support/server.js';

const run = promisify(execFile);
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
let s: TestServer;
let python: string;

beforeAll(async () => {
  python = await ensurePythonTool('tritonclient');
  s = await startTestServer(allTypesModel(), { modelName: 'all_types' });
}, 10 * 60_000);
afterAll(async () => {
  await s?.stop();
});

it('tritonclient.http works unchanged against the server', async () => {
  const { stdout } = await run(
    python,
    [here('./tritonclient/check.py'), s.base.replace('http://', ''), 'all_types'],
    {
      timeout: 60_000,
    },
  ).catch((err: { stdout?: string; stderr?: string; message: string }) => {
    throw new Error(`check.py failed:\n${err.stderr ?? ''}${err.stdout ?? ''}${err.message}`);
  });
  expect(JSON.parse(stdout)).toEqual({
    health: true,
    metadata_inputs: 13,
    config_max_batch_size: 32,
    binary_in_binary_out: true,
    json_in_json_out: true,
    binary_in_json_out: true,
    inference_count: 6,
  });
}, 120_000);
