/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 */
/**
 * Authentication on the inference port against real servers, a real onnxruntime model and a local OIDC issuer the
 * test starts (support/oidc-issuer.ts): every refused credential gets the same 401 with a WWW-Authenticate
 * challenge; the health checks stay open; JWKS rotation is followed; API keys come from a Secret directory updated
 * the kubelet's way, a revoked key is refused after the reload, and a rotation under load fails no request; the
 * caller is in the access log, the payload log and the metrics.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { irisModel } from '../../test/fixtures/onnx/models.js';
import { LineWriter } from '../src/logger.js';
import { writeSecret } from '../src/testing/kubelet-secret.js';
import { spawnServer } from './support/child.js';
import { http, type HttpResult, type Json } from './support/client.js';
import { TEST_AUDIENCE, startIssuer, type TestIssuer, type TokenOptions } from './support/oidc-issuer.js';
import { scrape } from './support/scrape.js';
import { startTestServer, waitUntil, type TestServer } from './support/server.js';

jest.setTimeout(120_000);

const body = JSON.stringify({
  inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }],
});

function infer(s: { base: string }, headers: Record<string, string> = {}): Promise<HttpResult> {
  return http(`${s.base}/v2/models/iris/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The one refusal: 401, the same body whatever the reason, the challenge (invalid_token when one was sent). */
function expectRefused(r: HttpResult, presented = true): void {
  expect({ status: r.status, body: r.body.toString() }).toEqual({
    status: 401,
    body: '{"error":"unauthorized"}',
  });
  expect(r.headers['www-authenticate']).toBe(
    presented ? 'Bearer realm="modelship", error="invalid_token"' : 'Bearer realm="modelship"',
  );
}

const failures = async (s: TestServer, reason: string) =>
  (await scrape(s.metricsBase)).value(
    `modelship_auth_failures_total{reason="${reason}",revision="test-rev"}`,
  );
const callerRequests = async (s: TestServer, caller: string) =>
  (await scrape(s.metricsBase)).value(
    `modelship_caller_requests_total{model="iris",caller="${caller}",revision="test-rev"}`,
  );
const accessLines = (s: TestServer) => s.logs.filter((l) => l.message === 'request');

describe('OIDC JWTs', () => {
  let issuer: TestIssuer;
  let s: TestServer;
  /** A token the server accepts unless `o` says otherwise: its required claim included. */
  const token = (o: TokenOptions = {}) =>
    issuer.sign({ ...o, claims: { groups: ['staff', 'ml-users'], ...o.claims } });

  beforeAll(async () => {
    issuer = await startIssuer();
    s = await startTestServer(
      irisModel(),
      {
        modelName: 'iris',
        authOidcIssuer: issuer.issuer,
        authOidcAudiences: ['other-app', TEST_AUDIENCE],
        authOidcRequiredClaims: { groups: ['ml-users'] },
        authOidcClockSkewSeconds: 60,
      },
      // Unknown kids refetch the JWKS at once (the default cooldown is 30 s).
      { deps: { auth: { jwksCooldownMs: 0 } } },
    );
  });
  afterAll(async () => {
    await s?.stop();
    await issuer?.stop();
  });

  it('accepts a valid token, discovering the JWKS from the issuer, and names its subject', async () => {
    const r = await infer(s, bearer(await token({ subject: 'alice' })));
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString()).outputs).toBeDefined();
    expect(accessLines(s).at(-1)).toMatchObject({
      path: '/v2/models/iris/infer',
      status: 200,
      caller: 'alice',
    });
    expect(await callerRequests(s, 'alice')).toBeGreaterThanOrEqual(1);
  });

  it('answers the same token again from its cache', async () => {
    const t = await token({ subject: 'cached' });
    for (let i = 0; i < 3; i++) expect((await infer(s, bearer(t))).status).toBe(200);
    expect(await callerRequests(s, 'cached')).toBe(3);
  });

  it('keeps the health checks open and everything else closed', async () => {
    expect((await http(`${s.base}/v2/health/live`)).status).toBe(200);
    expect((await http(`${s.base}/v2/health/ready`)).status).toBe(200);
    expectRefused(await http(`${s.base}/v2`), false);
    expectRefused(await http(`${s.base}/v2/models/iris`), false);
    expectRefused(await http(`${s.base}/v2/nothing-here`), false);
    expectRefused(await http(`${s.base}/v2/health/live`, { method: 'POST' }), false);
    expect((await http(`${s.base}/v2/models/iris`, { headers: bearer(await token()) })).status).toBe(200);
  });

  it('refuses a request without credentials', async () => {
    const before = (await failures(s, 'missing')) ?? 0;
    expectRefused(await infer(s), false);
    expect(await failures(s, 'missing')).toBe(before + 1);
  });

  const bad: [string, string, () => Promise<Record<string, string>>][] = [
    ['a non-Bearer Authorization', 'malformed', async () => ({ authorization: 'Basic YTpi' })],
    ['a JWT-shaped string that is no JWT', 'malformed', async () => bearer('abc.def.ghi')],
    ['an expired token', 'expired', async () => bearer(await token({ expiresIn: -120 }))],
    ['a token not valid yet', 'not_yet_valid', async () => bearer(await token({ notBefore: 120 }))],
    ['another issuer', 'invalid', async () => bearer(await token({ issuer: 'https://evil.example.com' }))],
    ['another audience', 'invalid', async () => bearer(await token({ audience: 'someone-else' }))],
    [
      'a wrong signature (a key the issuer never published, under its kid)',
      'invalid',
      async () => bearer(await token({ key: await issuer.stranger(issuer.current.kid) })),
    ],
    ['alg: none', 'invalid', async () => bearer(issuer.unsigned({ claims: { groups: ['ml-users'] } }))],
    [
      'HS256 signed with the public key',
      'invalid',
      async () => bearer(await issuer.hmacWithPublicKey({ claims: { groups: ['ml-users'] } })),
    ],
    ['an unknown kid', 'invalid', async () => bearer(await token({ key: await issuer.stranger('nobody') }))],
    ['no exp', 'invalid', async () => bearer(await token({ noExp: true }))],
    [
      'without the required claim',
      'claims',
      async () => bearer(await token({ claims: { groups: ['staff'] } })),
    ],
  ];
  it.each(bad)('refuses %s (%s), saying nothing more', async (_what, reason, headers) => {
    const before = (await failures(s, reason)) ?? 0;
    expectRefused(await infer(s, await headers()));
    expect(await failures(s, reason)).toBe(before + 1);
  });

  it('accepts a required claim as a string too, and tokens within the clock skew', async () => {
    expect((await infer(s, bearer(await issuer.sign({ claims: { groups: 'ml-users' } })))).status).toBe(200);
    expect((await infer(s, bearer(await token({ expiresIn: -20 })))).status).toBe(200);
    expect((await infer(s, bearer(await token({ notBefore: 20 })))).status).toBe(200);
  });

  it('follows a JWKS rotation: a token with the new kid is accepted after one refetch', async () => {
    const fetches = issuer.jwksFetches;
    const old = await token({ subject: 'before-rotation' });
    await issuer.rotate(true);
    const fresh = await token({ subject: 'after-rotation' });
    expect((await infer(s, bearer(fresh))).status).toBe(200);
    expect(issuer.jwksFetches).toBe(fetches + 1);
    expect(accessLines(s).at(-1)).toMatchObject({ caller: 'after-rotation' });
    // The old key is gone from the JWKS: a token signed with it that was never seen is refused.
    expectRefused(await infer(s, bearer(old)));
  });
});

describe('a key removed from the JWKS', () => {
  let issuer: TestIssuer;
  let s: TestServer;

  beforeAll(async () => {
    issuer = await startIssuer();
    s = await startTestServer(
      irisModel(),
      { modelName: 'iris', authOidcIssuer: issuer.issuer, authOidcAudiences: [TEST_AUDIENCE] },
      // Both caches at 0 (defaults: a token re-verified after 5 minutes, a JWKS used for 10): every request checks
      // its token against the JWKS as the issuer publishes it now.
      { deps: { auth: { jwksCooldownMs: 0, jwksMaxAgeMs: 0, tokenReverifyMs: 0 } } },
    );
  });
  afterAll(async () => {
    await s?.stop();
    await issuer?.stop();
  });

  it('stops being honoured for tokens accepted before it was removed', async () => {
    const before = await issuer.sign({ subject: 'long-lived', expiresIn: 3600 });
    expect((await infer(s, bearer(before))).status).toBe(200);
    await issuer.rotate(false);
    // Still published (a rotation keeps the old key for a while): still accepted.
    expect((await infer(s, bearer(before))).status).toBe(200);
    await issuer.rotate(true);
    expectRefused(await infer(s, bearer(before)));
    expect((await infer(s, bearer(await issuer.sign({ subject: 'new-key' })))).status).toBe(200);
  });
});

describe('API keys from a Secret directory', () => {
  let s: TestServer;
  let secret: string;
  const payload: Json[] = [];
  const out = new LineWriter((text) => {
    for (const line of text.split('\n')) if (line) payload.push(JSON.parse(line));
  });
  const hex = (key: string) => createHash('sha256').update(key).digest('hex');

  beforeAll(async () => {
    secret = join(await mkdtemp(join(tmpdir(), 'modelship-auth-')), 'api-keys');
    await writeSecret(secret, { ci: 'ci-key-1\n', batch: `sha256:${hex('batch-key-1')}` });
    s = await startTestServer(
      irisModel(),
      { modelName: 'iris', authApiKeysDir: secret, payloadLog: 'stdout' },
      // A short re-read period besides the directory's change events.
      { deps: { stdout: out, auth: { keyReloadMs: 200 } } },
    );
  });
  afterAll(async () => {
    await s?.stop();
    await rm(join(secret, '..'), { recursive: true, force: true });
  });

  it('accepts a key in either header and a key stored hashed, attributing each request', async () => {
    expect((await infer(s, bearer('ci-key-1'))).status).toBe(200);
    expect((await infer(s, { 'x-api-key': 'ci-key-1', 'x-request-id': 'by-ci' })).status).toBe(200);
    expect((await infer(s, { 'x-api-key': 'batch-key-1' })).status).toBe(200);
    expect(
      accessLines(s)
        .slice(-3)
        .map((l) => l.caller),
    ).toEqual(['ci', 'ci', 'batch']);
    expect(await callerRequests(s, 'ci')).toBe(2);
    expect(await callerRequests(s, 'batch')).toBe(1);
    await waitUntil(
      'the payload record is written',
      async () => (out.flush(), payload.some((p) => p.requestId === 'by-ci')),
    );
    expect(payload.find((p) => p.requestId === 'by-ci')).toMatchObject({ caller: 'ci', status: 200 });
  });

  it('refuses a wrong key, the hash of a key, and no key; health stays open', async () => {
    expectRefused(await infer(s, bearer('ci-key-2')));
    expectRefused(await infer(s, { 'x-api-key': hex('batch-key-1') }));
    expectRefused(await infer(s), false);
    expect((await http(`${s.base}/v2/health/ready`)).status).toBe(200);
    expect(await failures(s, 'invalid')).toBe(2);
    // Refused requests never reach the model: no payload record, no caller.
    expect(
      accessLines(s)
        .slice(-4, -1)
        .every((l) => l.status === 401 && l.caller === undefined),
    ).toBe(true);
  });

  it('never logs a key', () => {
    const text = JSON.stringify(s.logs);
    for (const key of ['ci-key-1', 'batch-key-1', 'ci-key-2']) expect(text).not.toContain(key);
  });

  it('refuses a revoked key once the Secret no longer holds it, without a restart', async () => {
    await writeSecret(secret, { ci: 'ci-key-1', batch: `sha256:${hex('batch-key-1')}`, temp: 'temp-key' });
    await waitUntil('the new key works', async () => (await infer(s, bearer('temp-key'))).status === 200);
    await writeSecret(secret, { ci: 'ci-key-1', batch: `sha256:${hex('batch-key-1')}` });
    await waitUntil(
      'the revoked key is refused',
      async () => (await infer(s, bearer('temp-key'))).status === 401,
    );
    expect((await infer(s, bearer('ci-key-1'))).status).toBe(200);
  });

  it('rotates a key under load without failing a request', async () => {
    await writeSecret(secret, { 'app-v1': 'app-key-old' });
    await waitUntil(
      'the old key alone is in',
      async () => (await infer(s, bearer('ci-key-1'))).status === 401,
    );
    let key = 'app-key-old';
    let stop = false;
    const statuses = new Map<number, number>();
    let sentWithNew = 0;
    const worker = async () => {
      while (!stop) {
        const k = key;
        const r = await infer(s, bearer(k));
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (k === 'app-key-new') sentWithNew++;
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    const answered = () => [...statuses.values()].reduce((a, b) => a + b, 0);
    await waitUntil('requests flow with the old key', async () => answered() >= 50);
    // The Secret now holds both keys; the client switches once the new one works.
    await writeSecret(secret, { 'app-v1': 'app-key-old', 'app-v2': 'app-key-new' });
    await waitUntil('the new key works', async () => (await infer(s, bearer('app-key-new'))).status === 200);
    key = 'app-key-new';
    // Every worker's request with the old key has come back before the old key goes.
    await waitUntil('requests flow with the new key', async () => sentWithNew >= 50);
    await writeSecret(secret, { 'app-v2': 'app-key-new' });
    await waitUntil(
      'the old key is refused',
      async () => (await infer(s, bearer('app-key-old'))).status === 401,
    );
    const atRemoval = answered();
    await waitUntil('more requests after the old key went', async () => answered() >= atRemoval + 50);
    stop = true;
    await Promise.all(workers);
    expect(Object.fromEntries(statuses)).toEqual({ 200: answered() });
    expect(await callerRequests(s, 'app-v2')).toBeGreaterThanOrEqual(50);
  });
});

describe('the real CLI', () => {
  it('reads MODELSHIP_AUTH_API_KEYS_DIR and refuses requests without the key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'modelship-auth-cli-'));
    const model = join(dir, 'iris.onnx');
    await (await import('node:fs/promises')).writeFile(model, irisModel());
    await writeSecret(join(dir, 'keys'), { ci: 'cli-key' });
    const child = spawnServer({
      MODELSHIP_MODEL_URI: model,
      MODELSHIP_MODEL_NAME: 'iris',
      MODELSHIP_AUTH_API_KEYS_DIR: join(dir, 'keys'),
    });
    try {
      const { port } = await child.listening;
      const base = `http://127.0.0.1:${port}`;
      await waitUntil('ready', async () => (await http(`${base}/v2/health/ready`)).status === 200, 60_000);
      expectRefused(await infer({ base }), false);
      expect((await infer({ base }, { 'x-api-key': 'cli-key' })).status).toBe(200);
      await child.waitForLog((l) => l.message === 'request' && l.caller === 'ci');
      expect(JSON.stringify(child.logs)).not.toContain('cli-key');
    } finally {
      child.kill('SIGTERM');
      await child.exited;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 for an issuer without audiences', async () => {
    const child = spawnServer({
      MODELSHIP_MODEL_URI: '/nowhere.onnx',
      MODELSHIP_AUTH_OIDC_ISSUER: 'https://issuer.example.com',
    });
    expect(await child.exited).toBe(2);
    expect(child.stderr.join('')).toContain('--auth-oidc-issuer needs --auth-oidc-audiences');
  });
});
