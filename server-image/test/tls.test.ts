/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 */
/**
 * TLS on the inference and metrics ports (MODELSHIP_TLS_DIR, MODELSHIP_METRICS_TLS), with a private CA the tests
 * make: a client that trusts the CA infers over https, one that does not is refused at the handshake; a renewed
 * certificate written the kubelet's way is served without a restart while a keep-alive connection opened before
 * goes on; a broken replacement is refused and the previous certificate stays; the metrics say which certificate
 * is served and how reloads went. No key material reaches the logs.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { irisModel } from '../../test/fixtures/onnx/models.js';
import { startServer } from '../src/main.js';
import { FakeClock } from '../src/testing/fake-clock.js';
import { spawnServer, type ServerProcess } from './support/child.js';
import { http } from './support/client.js';
import { createTestCa, tlsSecretDir, type KeyPair, type TestCa } from './support/pki.js';
import { writeSecret } from '../src/testing/kubelet-secret.js';
import { captureLogger, startTestServer, testConfig, waitUntil, type TestServer } from './support/server.js';
import { https, httpsFailure, serialOf } from './support/tls-client.js';

const INFER = JSON.stringify({
  inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }],
});
const UNTRUSTED =
  /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/;

let ca: TestCa;
let first: KeyPair;
beforeAll(async () => {
  ca = await createTestCa();
  first = await ca.issue(['localhost', '127.0.0.1']);
}, 30_000);
afterAll(() => ca?.remove());

/** What each test started, stopped after it. */
let cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function secretDir(pair: KeyPair): Promise<string> {
  const dir = await tlsSecretDir(pair, ca.ca);
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function serveTls(
  dir: string,
  options: Parameters<typeof startTestServer>[2] = true,
  metricsTls = true,
): Promise<TestServer & { https: string; metricsHttps: string }> {
  const s = await startTestServer(irisModel(), { modelName: 'iris', tlsDir: dir, metricsTls }, options);
  cleanup.push(() => s.stop());
  return {
    ...s,
    https: `https://127.0.0.1:${s.server.port}`,
    metricsHttps: `https://127.0.0.1:${s.server.metricsPort}`,
  };
}

/** A sample of the server's metrics, scraped over https (trusting the test CA). */
async function metric(s: { metricsHttps: string }, name: string): Promise<number | undefined> {
  const text = (await https(`${s.metricsHttps}/metrics`, { ca: ca.ca })).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const notAfterSeconds = (pem: string) => new Date(new X509Certificate(pem).validTo).getTime() / 1000;

/** No line of a key's base64 body appears in the logs. */
function expectNoKeyIn(logs: unknown[], ...keys: string[]): void {
  const text = JSON.stringify(logs);
  for (const key of keys)
    for (const line of key.split('\n').filter((l) => l && !l.startsWith('-----')))
      expect(text).not.toContain(line);
}

describe('the inference port over TLS', () => {
  it('serves a client that trusts the CA: inference, health, the certificate of the directory', async () => {
    const s = await serveTls(await secretDir(first));
    const r = await https(`${s.https}/v2/models/iris/infer`, { ca: ca.ca, method: 'POST', body: INFER });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).outputs[0].name).toBeDefined();
    expect(r.serial).toBe(serialOf(first.cert));
    expect((await https(`${s.https}/v2/health/ready`, { ca: ca.ca })).status).toBe(200);
    expect(s.logs.find((l) => l.message === 'listening')).toMatchObject({ tls: true, metricsTls: true });
    expect(s.logs.find((l) => l.message === 'TLS certificate loaded')).toMatchObject({
      subject: 'CN=localhost',
      notAfter: new Date(new X509Certificate(first.cert).validTo).toISOString(),
    });
    expectNoKeyIn(s.logs, first.key);
  });

  it('refuses a client that does not trust the CA, at the handshake, and speaks no plain HTTP', async () => {
    const s = await serveTls(await secretDir(first));
    expect((await httpsFailure(`${s.https}/v2/health/live`)).code).toMatch(UNTRUSTED);
    const other = await createTestCa('Another CA');
    cleanup.push(() => other.remove());
    expect((await httpsFailure(`${s.https}/v2/health/live`, other.ca)).code).toMatch(UNTRUSTED);
    await expect(http(`http://127.0.0.1:${s.server.port}/v2/health/live`)).rejects.toThrow();
    // The port is still serving the ones that trust it.
    expect((await https(`${s.https}/v2/health/live`, { ca: ca.ca })).status).toBe(200);
  });

  it('serves a renewed certificate without a restart; a keep-alive connection opened before goes on', async () => {
    const dir = await secretDir(first);
    const s = await serveTls(dir);
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: ca.ca });
    cleanup.push(async () => agent.destroy());
    const before = await https(`${s.https}/v2/models/iris/infer`, { agent, method: 'POST', body: INFER });
    expect(before.serial).toBe(serialOf(first.cert));
    expect(await metric(s, 'modelship_tls_certificate_expiry_timestamp_seconds')).toBe(
      notAfterSeconds(first.cert),
    );

    const renewed = await ca.issue(['localhost', '127.0.0.1'], { days: 3 });
    await writeSecret(dir, { 'tls.crt': renewed.cert, 'tls.key': renewed.key, 'ca.crt': ca.ca });
    await waitUntil(
      'new connections get the renewed certificate',
      async () => (await https(`${s.https}/v2/health/live`, { ca: ca.ca })).serial === serialOf(renewed.cert),
    );
    // The connection opened before the renewal: the same socket, its session as it was, answering.
    const after = await https(`${s.https}/v2/models/iris/infer`, { agent, method: 'POST', body: INFER });
    expect(after).toMatchObject({ status: 200, reused: true, serial: serialOf(first.cert) });
    expect(JSON.parse(after.body)).toEqual(JSON.parse(before.body));

    expect(await metric(s, 'modelship_tls_certificate_expiry_timestamp_seconds')).toBe(
      notAfterSeconds(renewed.cert),
    );
    const text = (await https(`${s.metricsHttps}/metrics`, { ca: ca.ca })).body;
    expect(text).toMatch(/^modelship_tls_reloads_total\{result="ok"[^}]*\} 1$/m);
    expect(text).toMatch(/^modelship_tls_reloads_total\{result="error"[^}]*\} 0$/m);
    expect(s.logs.find((l) => l.message === 'TLS certificate reloaded')).toMatchObject({
      serial: new X509Certificate(renewed.cert).serialNumber,
    });
    expectNoKeyIn(s.logs, first.key, renewed.key);
  });

  it('refuses a broken replacement, keeps serving the previous certificate, and says why without the key', async () => {
    const dir = await secretDir(first);
    const s = await serveTls(dir);
    const renewed = await ca.issue(['localhost', '127.0.0.1']);
    const reloads = async (result: string) =>
      Number(
        new RegExp(`^modelship_tls_reloads_total\\{result="${result}"[^}]*\\} (\\d+)$`, 'm').exec(
          (await https(`${s.metricsHttps}/metrics`, { ca: ca.ca })).body,
        )?.[1],
      );

    // The new certificate with the old key: they do not belong together.
    await writeSecret(dir, { 'tls.crt': renewed.cert, 'tls.key': first.key });
    await waitUntil('the mismatched pair is refused', async () => (await reloads('error')) === 1);
    // Not a key at all.
    await writeSecret(dir, { 'tls.crt': renewed.cert, 'tls.key': 'not a key' });
    await waitUntil('the garbage key is refused', async () => (await reloads('error')) === 2);
    expect((await https(`${s.https}/v2/health/live`, { ca: ca.ca })).serial).toBe(serialOf(first.cert));
    expect(await metric(s, 'modelship_tls_certificate_expiry_timestamp_seconds')).toBe(
      notAfterSeconds(first.cert),
    );
    expect(await reloads('ok')).toBe(0);
    const warnings = s.logs.filter(
      (l) => l.message === 'TLS certificate change refused; the previous certificate stays',
    );
    expect(warnings.map((w) => w.reason)).toEqual([
      'tls.key does not belong to the certificate in tls.crt',
      expect.stringMatching(/^tls\.key is not an unencrypted PEM private key/),
    ]);
    expect(warnings[0]).toMatchObject({
      level: 'warn',
      served: { serial: new X509Certificate(first.cert).serialNumber },
    });

    // A good pair after the broken ones is taken.
    await writeSecret(dir, { 'tls.crt': renewed.cert, 'tls.key': renewed.key });
    await waitUntil(
      'the good pair is served',
      async () => (await https(`${s.https}/v2/health/live`, { ca: ca.ca })).serial === serialOf(renewed.cert),
    );
    expect(await reloads('ok')).toBe(1);
    expectNoKeyIn(s.logs, first.key, renewed.key);
  });

  it('sees a change by re-reading the files every interval when there is no directory watch', async () => {
    const dir = await secretDir(first);
    const clock = new FakeClock();
    const s = await serveTls(dir, { clock, deps: { tlsWatch: { watch: false, intervalMs: 60_000 } } });
    const renewed = await ca.issue(['localhost', '127.0.0.1']);
    await writeSecret(dir, { 'tls.crt': renewed.cert, 'tls.key': renewed.key });
    // Nothing has looked yet: no watch, and the clock has not moved.
    expect((await https(`${s.https}/v2/health/live`, { ca: ca.ca })).serial).toBe(serialOf(first.cert));
    await clock.advance(60_000);
    await waitUntil(
      'the re-read finds the renewed certificate',
      async () => (await https(`${s.https}/v2/health/live`, { ca: ca.ca })).serial === serialOf(renewed.cert),
    );
  });
});

describe('the metrics port', () => {
  it('serves https with the same certificate under --metrics-tls, and plain http without it', async () => {
    const tls = await serveTls(await secretDir(first));
    const r = await https(`${tls.metricsHttps}/metrics`, { ca: ca.ca });
    expect(r.status).toBe(200);
    expect(r.serial).toBe(serialOf(first.cert));
    expect(r.body).toContain('modelship_tls_certificate_expiry_timestamp_seconds');

    const plain = await serveTls(await secretDir(first), true, false);
    const text = (await http(`http://127.0.0.1:${plain.server.metricsPort}/metrics`)).body.toString();
    expect(text).toMatch(/^modelship_tls_certificate_expiry_timestamp_seconds\{[^}]*\} \d+$/m);
  });
});

describe('a TLS directory that cannot be served', () => {
  async function startFailure(tlsDir: string): Promise<{ error: Error; logs: unknown[] }> {
    const { logger, logs } = captureLogger();
    const error = await startServer(testConfig({ modelUri: '/nonexistent.onnx', tlsDir, metricsTls: true }), {
      logger,
    }).then(
      async (s) => {
        await s.shutdown();
        throw new Error('the server started');
      },
      (err: unknown) => err as Error,
    );
    return { error, logs };
  }

  it('stops the start, saying what is missing (never plain HTTP instead)', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'modelship-tls-empty-'));
    cleanup.push(() => rm(empty, { recursive: true, force: true }));
    const { error } = await startFailure(empty);
    expect(error.message).toMatch(
      new RegExp(`^TLS: cannot read tls.crt and tls.key in ${empty}: ENOENT: no such file or directory`),
    );
  });

  it('stops the start when the key is not the certificate’s, without logging the key', async () => {
    const other = await ca.issue(['localhost']);
    const dir = await secretDir({ cert: first.cert, key: other.key });
    const { error, logs } = await startFailure(dir);
    expect(error.message).toBe(`TLS: ${dir}: tls.key does not belong to the certificate in tls.crt`);
    expectNoKeyIn(logs, other.key);
  });
});

describe('modelship-server serve with MODELSHIP_TLS_DIR', () => {
  let child: ServerProcess | undefined;
  afterEach(async () => {
    child?.kill('SIGKILL');
    await child?.exited;
    child = undefined;
  });

  it('serves inference and metrics over https, and stops cleanly', async () => {
    const dir = await secretDir(first);
    const modelPath = join(dir, '..', `iris-${process.pid}-${Date.now()}.onnx`);
    await writeFile(modelPath, irisModel());
    cleanup.push(() => rm(modelPath, { force: true }));
    child = spawnServer({
      MODELSHIP_MODEL_NAME: 'iris',
      MODELSHIP_MODEL_URI: modelPath,
      MODELSHIP_TLS_DIR: dir,
      MODELSHIP_METRICS_TLS: 'true',
    });
    const { port, metricsPort } = await child.listening;
    expect(child.logs.find((l) => l.message === 'listening')).toMatchObject({ tls: true, metricsTls: true });
    await child.waitForLog((l) => l.message === 'model ready', 60_000);
    const r = await https(`https://127.0.0.1:${port}/v2/models/iris/infer`, {
      ca: ca.ca,
      method: 'POST',
      body: INFER,
    });
    expect(r.status).toBe(200);
    expect((await https(`https://127.0.0.1:${metricsPort}/metrics`, { ca: ca.ca })).status).toBe(200);
    expectNoKeyIn(child.logs, first.key);
    child.kill('SIGTERM');
    expect(await child.exited).toBe(0);
  }, 90_000);
});
