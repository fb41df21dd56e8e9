/**
 * https:// models from a server whose certificate a private CA signed (made here with openssl). Trusted through
 * NODE_EXTRA_CA_CERTS, as a pod trusts it (server-image/README.md): the real server process downloads, loads and
 * serves the model. Not trusted: a clear tls_error that names the fix, and no retry (retrying cannot fix it).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { irisModel } from '../../../test/fixtures/onnx/models.js';
import { fetchModel } from '../../src/repository/fetch.js';
import { spawnServer, type ServerProcess } from '../support/child.js';
import { postJson } from '../support/client.js';
import { fetchFailure } from './support/expect-failure.js';
import { makeTempDir } from './support/files.js';
import { makePrivateCa, serveOverHttps, type PrivateCa, type TestHttpsServer } from './support/private-ca.js';

const MODEL = irisModel();
const SHA = createHash('sha256').update(MODEL).digest('hex');

let dir: { path: string; remove: () => Promise<void> };
let ca: PrivateCa;
let https: TestHttpsServer;
beforeAll(async () => {
  dir = await makeTempDir('fetch-https');
  ca = await makePrivateCa();
  https = await serveOverHttps(ca, MODEL);
});
afterAll(async () => {
  await https?.close();
  await ca?.remove();
  await dir?.remove();
});

let children: ServerProcess[] = [];
let started = 0;
afterEach(async () => {
  for (const c of children) c.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
  children = [];
});

function serve(env: Record<string, string>): ServerProcess {
  const child = spawnServer({
    MODELSHIP_MODEL_NAME: 'iris',
    MODELSHIP_MODEL_URI: https.url,
    MODELSHIP_MODEL_SHA256: SHA,
    // A cache of its own: a model another test downloaded must not be found there.
    MODELSHIP_CACHE_DIR: `${dir.path}/cache-${started++}`,
    ...env,
  });
  children.push(child);
  return child;
}

describe('https with a private CA', () => {
  it('trusted through NODE_EXTRA_CA_CERTS, the server downloads the model, loads it and serves', async () => {
    const child = serve({ NODE_EXTRA_CA_CERTS: ca.caPath });
    await child.waitForLog((l) => l.message === 'model ready', 60_000);
    expect(child.logs.find((l) => l.message === 'model loaded')).toMatchObject({
      sha256: SHA,
      uri: https.url,
    });
    const { port } = await child.listening;
    const r = await postJson(`http://127.0.0.1:${port}/v2/models/iris/infer`, {
      inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }],
    });
    expect(r.status).toBe(200);
    child.kill('SIGTERM');
    expect(await child.exited).toBe(0);
  }, 90_000);

  it('not trusted, the download fails with a tls_error that says how to trust the CA', async () => {
    const cache = await makeTempDir('fetch-https-untrusted');
    try {
      const err = await fetchFailure(fetchModel(https.url, { cacheDir: cache.path, maxBytes: 1024 * 1024 }));
      expect(err.reason).toBe('tls_error');
      expect(err.retryable).toBe(false);
      expect(err.message).toMatch(
        /^TLS with 127\.0\.0\.1:\d+ failed fetching "https:\/\/127\.0\.0\.1:\d+\/model\.onnx" \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\)/,
      );
      expect(err.message).toContain('NODE_EXTRA_CA_CERTS');
    } finally {
      await cache.remove();
    }
  });

  it('not trusted, the server tries once, logs why, and exits 1', async () => {
    const before = { ...https.counts };
    const child = serve({ MODELSHIP_LOAD_ATTEMPTS: '3', MODELSHIP_LOAD_RETRY_DELAY_MS: '10' });
    expect(await child.exited).toBe(1);
    const failed = child.logs.filter((l) => l.message === 'model load failed');
    expect(failed).toEqual([
      expect.objectContaining({ attempt: 1, of: 3, reason: 'tls_error', willRetry: false }),
    ]);
    expect(failed[0]!.error).toMatch(/TLS with 127\.0\.0\.1:\d+ failed .*NODE_EXTRA_CA_CERTS/);
    // One connection, given up by the client during the handshake: no HTTP request was ever sent.
    expect(https.counts.connections - before.connections).toBe(1);
    expect(https.counts.handshakeFailures - before.handshakeFailures).toBe(1);
    expect(https.counts.requests - before.requests).toBe(0);
  }, 90_000);
});
