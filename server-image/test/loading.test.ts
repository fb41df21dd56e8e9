/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 */
/**
 * Model loading before readiness: from a file, file://, HTTP and S3 (a real moto server); and every load failure
 * (missing file, not ONNX, wrong sha256, unreachable URL) leaving the server not ready with the reason in its logs
 * and its ready endpoints, then exiting non-zero after bounded retries.
 */
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { irisModel } from '../../test/fixtures/onnx/models.js';
import { freePort } from '../../cluster/src/process.js';
import { startS3Server } from './fetch/support/s3-server.js';
import { spawnServer, type ServerProcess } from './support/child.js';
import { getJson, postJson } from './support/client.js';
import { serveModelOverHttp } from './support/model-server.js';
import { startTestServer, type TestServer } from './support/server.js';

const MODEL = irisModel();
const SHA = createHash('sha256').update(MODEL).digest('hex');
const IRIS_REQUEST = {
  inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }],
};

let cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.map((c) => c()));
  cleanups = [];
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'modelship-load-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function serve(
  uri: string,
  overrides: Parameters<typeof startTestServer>[1] = {},
  wait = true,
): Promise<TestServer> {
  const s = await startTestServer(
    undefined,
    { modelUri: uri, modelName: 'iris', cacheDir: await tempDir(), ...overrides },
    wait,
  );
  cleanups.push(() => s.stop());
  return s;
}

async function expectServes(s: TestServer): Promise<void> {
  const r = await postJson(`${s.base}/v2/models/iris/infer`, IRIS_REQUEST);
  expect(r.status).toBe(200);
  expect(r.json.outputs[0].shape).toEqual([1, 3]);
}

describe('loading succeeds', () => {
  it('from a local path and from file://, with the sha256 checked', async () => {
    const dir = await tempDir();
    const path = join(dir, 'iris.onnx');
    await writeFile(path, MODEL);
    for (const uri of [path, pathToFileURL(path).href]) {
      const s = await serve(uri, { modelSha256: SHA });
      await expectServes(s);
      expect(s.logs.find((l) => l.message === 'model ready')).toMatchObject({ model: 'iris', attempt: 1 });
    }
  });

  it('from HTTP: not ready while downloading, ready after fetch, session and warm-up', async () => {
    const http = await serveModelOverHttp(MODEL, { hold: true });
    cleanups.push(() => http.close());
    const s = await serve(http.url(), { modelSha256: SHA }, false);
    // The download is held: both ready endpoints must say not ready, and why.
    const ready = await getJson(`${s.base}/v2/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.json.error).toMatch(/model 'iris' is not ready: loading/);
    expect((await getJson(`${s.base}/v2/models/iris/ready`)).status).toBe(503);
    const early = await postJson(`${s.base}/v2/models/iris/infer`, IRIS_REQUEST);
    expect(early.status).toBe(503);
    expect((await getJson(`${s.base}/v2/health/live`)).status).toBe(200);
    http.release();
    expect(await s.server.loaded).toBe(true);
    expect((await getJson(`${s.base}/v2/health/ready`)).status).toBe(200);
    await expectServes(s);
    expect(s.logs.find((l) => l.message === 'model loaded')).toMatchObject({
      sha256: SHA,
      bytes: MODEL.byteLength,
    });
  });

  it('from S3 (a real S3-compatible server), configured through environment variables', async () => {
    const s3 = await startS3Server();
    cleanups.push(() => s3.stop());
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: s3.admin,
    });
    await client.send(new CreateBucketCommand({ Bucket: 'models' }));
    await client.send(new PutObjectCommand({ Bucket: 'models', Key: 'iris/1/model.onnx', Body: MODEL }));
    client.destroy();
    const child = spawnServer({
      MODELSHIP_MODEL_NAME: 'iris',
      MODELSHIP_MODEL_URI: 's3://models/iris/1/model.onnx',
      MODELSHIP_MODEL_SHA256: SHA,
      MODELSHIP_S3_ENDPOINT: s3.endpoint,
      MODELSHIP_CACHE_DIR: await tempDir(),
      AWS_ACCESS_KEY_ID: s3.admin.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.admin.secretAccessKey,
      AWS_REGION: s3.region,
    });
    cleanups.push(async () => {
      child.kill('SIGKILL');
      await child.exited;
    });
    await child.waitForLog((l) => l.message === 'model ready');
    const { port } = await child.listening;
    const r = await postJson(`http://127.0.0.1:${port}/v2/models/iris/infer`, IRIS_REQUEST);
    expect(r.status).toBe(200);
    // No secret reaches the logs.
    expect(JSON.stringify(child.logs)).not.toContain(s3.admin.secretAccessKey);
    child.kill('SIGTERM');
    expect(await child.exited).toBe(0);
  }, 180_000);
});

describe('loading fails', () => {
  async function expectFailed(s: TestServer, pattern: RegExp): Promise<void> {
    expect(await s.server.loaded).toBe(false);
    const ready = await getJson(`${s.base}/v2/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.json.error).toMatch(pattern);
    const modelReady = await getJson(`${s.base}/v2/models/iris/ready`);
    expect(modelReady.status).toBe(503);
    expect(modelReady.json.error).toMatch(pattern);
    const logged = s.logs.filter((l) => l.message === 'model load failed');
    expect(logged.length).toBeGreaterThan(0);
    expect(String(logged.at(-1)!.error)).toMatch(pattern);
    const metrics = await (await fetch(`${s.metricsBase}/metrics`)).text();
    expect(metrics).toContain('modelship_model_ready{model="iris",version="1",revision="test-rev"} 0');
  }

  it('missing file', async () => {
    const s = await serve(join(await tempDir(), 'nothing-here.onnx'), { loadAttempts: 3 }, false);
    await expectFailed(s, /nothing-here\.onnx/);
    // Retrying cannot make a missing local file appear: one attempt, said so.
    expect(s.logs.filter((l) => l.message === 'model load failed')).toHaveLength(1);
    expect((await getJson(`${s.base}/v2/health/ready`)).json.error).toMatch(/not retried/);
  });

  it('not an ONNX model', async () => {
    const path = join(await tempDir(), 'junk.onnx');
    await writeFile(path, 'this is not a protobuf');
    const s = await serve(path, {}, false);
    await expectFailed(s, /junk\.onnx is not a valid ONNX model/);
    expect(s.logs.find((l) => l.message === 'model load failed')).toMatchObject({ reason: 'invalid_model' });
  });

  it('wrong sha256', async () => {
    const path = join(await tempDir(), 'iris.onnx');
    await writeFile(path, MODEL);
    const s = await serve(path, { modelSha256: 'a'.repeat(64) }, false);
    await expectFailed(s, /sha256|checksum|SHA-256/i);
    expect(s.logs.find((l) => l.message === 'model load failed')).toMatchObject({
      reason: 'checksum_mismatch',
    });
  });

  it('unreachable URL: retried a bounded number of times', async () => {
    const port = await freePort();
    const s = await serve(
      `http://127.0.0.1:${port}/model.onnx`,
      { loadAttempts: 3, loadRetryDelayMs: 10 },
      false,
    );
    await expectFailed(s, new RegExp(`127\\.0\\.0\\.1:${port}`));
    const attempts = s.logs.filter((l) => l.message === 'model load failed');
    expect(attempts.map((l) => [l.attempt, l.willRetry, l.reason])).toEqual([
      [1, true, 'unreachable'],
      [2, true, 'unreachable'],
      [3, false, 'unreachable'],
    ]);
  });

  it('the process says why while retrying, then exits non-zero', async () => {
    const port = await freePort();
    const child: ServerProcess = spawnServer({
      MODELSHIP_MODEL_NAME: 'iris',
      MODELSHIP_MODEL_URI: `http://127.0.0.1:${port}/model.onnx`,
      MODELSHIP_LOAD_ATTEMPTS: '2',
      MODELSHIP_LOAD_RETRY_DELAY_MS: '1500',
      MODELSHIP_CACHE_DIR: await tempDir(),
    });
    cleanups.push(async () => {
      child.kill('SIGKILL');
      await child.exited;
    });
    const { port: serverPort } = await child.listening;
    await child.waitForLog((l) => l.message === 'model load failed' && l.attempt === 1);
    const ready = await getJson(`http://127.0.0.1:${serverPort}/v2/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.json.error).toMatch(/the previous attempt failed: .*127\.0\.0\.1/);
    expect(await child.exited).toBe(1);
    expect(child.logs.filter((l) => l.message === 'model load failed')).toHaveLength(2);
    expect(child.logs.at(-1)).toMatchObject({ level: 'info', message: 'stopped' });
  }, 60_000);
});

afterAll(async () => {
  await Promise.all(cleanups.map((c) => c()));
});
