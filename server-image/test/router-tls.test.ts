/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 */
/**
 * TLS through the router: it terminates TLS with its own certificate (MODELSHIP_TLS_DIR, reloaded like the
 * server's), and reaches https:// backends and shadows verified against MODELSHIP_ROUTER_BACKEND_CA_FILE under
 * the route's serverName. A backend whose certificate does not verify (wrong name, unknown CA) gets the router's
 * usual 502 and counts as an error and a TLS failure; the router goes on. A changed CA file is picked up without a
 * restart. The backends are real model servers serving TLS with certificates of a CA the tests make.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { irisModel } from '../../test/fixtures/onnx/models.js';
import type { RouteTable } from '../src/router/routes.js';
import { createTestCa, tlsSecretDir, type KeyPair, type TestCa } from './support/pki.js';
import { writeSecret } from '../src/testing/kubelet-secret.js';
import { startTestRouter, type TestRouter } from './support/router.js';
import { http } from './support/client.js';
import { scrape } from './support/scrape.js';
import { startTestServer, waitUntil, type TestServer } from './support/server.js';
import { https, httpsFailure, serialOf } from './support/tls-client.js';

const INFER = JSON.stringify({
  inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }],
});
/** The stable Service name the operator puts in serverName: the backends' certificates name it, not their IPs. */
const SERVICE = 'iris.ml.svc';

let ca: TestCa;
let foreignCa: TestCa;
let routerPair: KeyPair;
let dirs: string[] = [];
/** A model server whose certificate (for SERVICE only) the test CA signed. */
let backend: TestServer;
/** One whose certificate names SERVICE too, but was signed by a CA the router does not trust. */
let foreign: TestServer;

beforeAll(async () => {
  ca = await createTestCa();
  foreignCa = await createTestCa('Not the backend CA');
  routerPair = await ca.issue(['localhost', '127.0.0.1']);
  const backendDir = await tlsSecretDir(await ca.issue([SERVICE]), ca.ca);
  const foreignDir = await tlsSecretDir(await foreignCa.issue([SERVICE]), foreignCa.ca);
  dirs = [backendDir, foreignDir];
  backend = await startTestServer(irisModel(), { modelName: 'iris', tlsDir: backendDir });
  foreign = await startTestServer(irisModel(), { modelName: 'iris', tlsDir: foreignDir });
}, 60_000);
afterAll(async () => {
  await backend?.stop();
  await foreign?.stop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  await ca?.remove();
  await foreignCa?.remove();
});

let router: TestRouter | undefined;
afterEach(async () => {
  await router?.stop();
  router = undefined;
});

const httpsUrl = (s: TestServer) => `https://127.0.0.1:${s.server.port}`;

async function routerDir(): Promise<string> {
  const dir = await tlsSecretDir(routerPair, ca.ca);
  dirs.push(dir);
  return dir;
}

describe('the router over TLS', () => {
  it('terminates TLS and proxies (and mirrors) to an https backend verified under its serverName', async () => {
    const table: RouteTable = {
      backends: [{ revision: 'r1', url: httpsUrl(backend), weight: 100, serverName: SERVICE }],
      matches: [],
      shadow: { revision: 'r1-again', url: httpsUrl(backend), serverName: SERVICE },
    };
    router = await startTestRouter(table, {
      tlsDir: await routerDir(),
      metricsTls: true,
      backendCaFile: ca.caFile,
    });
    const base = `https://127.0.0.1:${router.router.port}`;
    const r = await https(`${base}/v2/models/iris/infer`, { ca: ca.ca, method: 'POST', body: INFER });
    expect(r).toMatchObject({ status: 200, serial: serialOf(routerPair.cert) });
    expect(r.headers['x-modelship-revision']).toBe('r1');
    expect(JSON.parse(r.body).model_name).toBe('iris');
    // A client that does not trust the router's CA is refused at the handshake.
    expect((await httpsFailure(`${base}/healthz/live`)).code).toMatch(/UNABLE_TO_VERIFY|SELF_SIGNED/);

    const metricsText = async () =>
      (await https(`https://127.0.0.1:${router!.router.metricsPort}/metrics`, { ca: ca.ca })).body;
    expect(await metricsText()).toMatch(/^modelship_router_requests_total\{revision="r1",code="2xx"\} 1$/m);
    await waitUntil('the shadow answered over TLS and agreed', async () =>
      /^modelship_router_shadow_requests_total\{revision="r1-again",result="agree"\} 1$/m.test(
        await metricsText(),
      ),
    );
    expect(await metricsText()).toMatch(/^modelship_tls_certificate_expiry_timestamp_seconds \d+$/m);
    expect(await metricsText()).not.toMatch(/modelship_router_backend_tls_failures_total\{/);
  });

  it('serves a renewed certificate of its own without a restart', async () => {
    const dir = await routerDir();
    router = await startTestRouter(
      {
        backends: [{ revision: 'r1', url: httpsUrl(backend), weight: 100, serverName: SERVICE }],
        matches: [],
      },
      { tlsDir: dir, backendCaFile: ca.caFile },
    );
    const base = `https://127.0.0.1:${router.router.port}`;
    const renewed = await ca.issue(['localhost', '127.0.0.1']);
    await writeSecret(dir, { 'tls.crt': renewed.cert, 'tls.key': renewed.key });
    await waitUntil(
      "the router's renewed certificate is served",
      async () => (await https(`${base}/healthz/live`, { ca: ca.ca })).serial === serialOf(renewed.cert),
    );
    const r = await https(`${base}/v2/models/iris/infer`, { ca: ca.ca, method: 'POST', body: INFER });
    expect(r.status).toBe(200);
  });

  it('answers 502 for a backend whose certificate does not verify, counts it, and goes on', async () => {
    router = await startTestRouter(
      {
        backends: [
          { revision: 'good', url: httpsUrl(backend), weight: 100, serverName: SERVICE },
          // No serverName: verified as 127.0.0.1, which the certificate does not name.
          { revision: 'by-address', url: httpsUrl(backend), weight: 0 },
          { revision: 'foreign', url: httpsUrl(foreign), weight: 0, serverName: SERVICE },
        ],
        matches: [
          { header: 'x-target', value: 'by-address', revision: 'by-address' },
          { header: 'x-target', value: 'foreign', revision: 'foreign' },
        ],
      },
      { backendCaFile: ca.caFile },
    );
    // The router itself serves plain http here: TLS to the backends does not need it on the client side.
    const post = (target?: string) =>
      http(`${router!.base}/v2/models/iris/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(target ? { 'x-target': target } : {}) },
        body: INFER,
      });

    const byAddress = await post('by-address');
    expect(byAddress.status).toBe(502);
    expect(byAddress.headers['x-modelship-revision']).toBe('by-address');
    expect(JSON.parse(byAddress.body.toString()).error).toMatch(
      /^revision by-address did not answer: Hostname\/IP does not match certificate's altnames/,
    );
    const foreignAnswer = await post('foreign');
    expect(foreignAnswer.status).toBe(502);
    expect(JSON.parse(foreignAnswer.body.toString()).error).toMatch(
      /^revision foreign did not answer: (unable to verify the first certificate|self[- ]signed certificate in certificate chain|unable to get local issuer certificate)/,
    );
    expect((await post()).status).toBe(200);

    const m = await scrape(router.metricsBase);
    for (const revision of ['by-address', 'foreign']) {
      expect(m.value(`modelship_router_requests_total{revision="${revision}",code="error"}`)).toBe(1);
      expect(m.value(`modelship_router_backend_tls_failures_total{revision="${revision}"}`)).toBe(1);
    }
    expect(m.value('modelship_router_requests_total{revision="good",code="2xx"}')).toBe(1);
    expect(m.value('modelship_router_backend_tls_failures_total{revision="good"}')).toBeUndefined();
  });

  it('verifies against the backend CA file as it changes, without a restart', async () => {
    // The CA file as the kubelet mounts it, first holding a CA that did not sign the backend's certificate.
    const caDir = await mkdtemp(join(tmpdir(), 'modelship-backend-ca-'));
    dirs.push(caDir);
    await writeSecret(caDir, { 'ca.crt': foreignCa.ca });
    router = await startTestRouter(
      {
        backends: [{ revision: 'r1', url: httpsUrl(backend), weight: 100, serverName: SERVICE }],
        matches: [],
      },
      { backendCaFile: join(caDir, 'ca.crt') },
    );
    const post = () =>
      http(`${router!.base}/v2/models/iris/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: INFER,
      });
    expect((await post()).status).toBe(502);
    await writeSecret(caDir, { 'ca.crt': ca.ca });
    await waitUntil('the backend verifies under the new CA', async () => (await post()).status === 200);
    // A bundle without a certificate is refused; the last good one stays.
    await writeSecret(caDir, { 'ca.crt': 'nothing here' });
    await waitUntil('the empty bundle is refused', async () =>
      router!.logs.some((l) => l.message === 'CA bundle change refused; the previous bundle stays'),
    );
    expect((await post()).status).toBe(200);
    expect(
      router.logs.find((l) => l.message === 'CA bundle change refused; the previous bundle stays'),
    ).toMatchObject({
      level: 'warn',
      reason: `${join(caDir, 'ca.crt')} holds no PEM certificate`,
    });
  });

  it('refuses to start with a CA file that holds no certificate, or a TLS directory without a pair', async () => {
    const caDir = await mkdtemp(join(tmpdir(), 'modelship-backend-ca-'));
    dirs.push(caDir);
    await writeSecret(caDir, { 'ca.crt': 'nothing here' });
    const table: RouteTable = {
      backends: [{ revision: 'r1', url: httpsUrl(backend), weight: 100 }],
      matches: [],
    };
    await expect(startTestRouter(table, { backendCaFile: join(caDir, 'ca.crt') })).rejects.toThrow(
      `${join(caDir, 'ca.crt')} holds no PEM certificate`,
    );
    await expect(startTestRouter(table, { tlsDir: caDir })).rejects.toThrow(
      /^TLS: cannot read tls\.crt and tls\.key in/,
    );
  });
});
