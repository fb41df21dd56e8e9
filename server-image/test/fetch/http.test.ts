/** http(s):// models against a real HTTP server on loopback. */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { freePort } from '../../../cluster/src/process.js';
import { fetchModel, type FetchOptions } from '../../src/repository/fetch.js';
import { fetchFailure } from './support/expect-failure.js';
import { listDir, makeModel, makeTempDir, sha256 } from './support/files.js';
import { serveBytes, startHttpServer, type TestHttpServer } from './support/http-server.js';
import { captureLogs, type CapturedLogs } from './support/log-capture.js';

const model = makeModel();
let server: TestHttpServer;
let cache: { path: string; remove: () => Promise<void> };
let logs: CapturedLogs;

beforeAll(async () => {
  server = await startHttpServer();
  server.route('/model.onnx', serveBytes(model.bytes));
});
afterAll(async () => {
  await server.close();
});
beforeEach(async () => {
  cache = await makeTempDir('fetch-http');
  logs = captureLogs();
  server.requests.length = 0;
});
afterEach(async () => {
  await cache.remove();
});

function options(extra: Partial<FetchOptions> = {}): FetchOptions {
  return { cacheDir: cache.path, maxBytes: 1024 * 1024, logger: logs.logger, ...extra };
}

/** Resolves once the server side of the response is closed: proof that the client stopped the transfer. */
function closedSignal(): { closed: Promise<void>; onClose: () => void } {
  let onClose!: () => void;
  const closed = new Promise<void>((resolve) => (onClose = resolve));
  return { closed, onClose };
}

describe('http download', () => {
  it('streams the model into the cache directory and reports its digest, size and URI', async () => {
    const uri = `${server.origin}/model.onnx`;
    const got = await fetchModel(uri, options({ sha256: model.sha256 }));

    expect(dirname(got.path)).toBe(cache.path);
    expect(got.path.endsWith('-model.onnx')).toBe(true);
    expect(await readFile(got.path)).toEqual(model.bytes);
    expect(got).toMatchObject({ sha256: model.sha256, bytes: model.bytes.length, uri });
    // Only the final file is left behind: the temporary download was renamed into place.
    expect(await listDir(cache.path)).toEqual([got.path.slice(cache.path.length + 1)]);

    const [start, finish] = logs.entries();
    expect(start).toMatchObject({ level: 'info', message: 'model fetch started', uri });
    expect(finish).toMatchObject({
      level: 'info',
      message: 'model fetch finished',
      uri,
      origin: 'download',
      path: got.path,
      bytes: model.bytes.length,
      sha256: model.sha256,
    });
    expect(typeof finish?.durationMs).toBe('number');
  });

  it('computes the digest when none is expected, and accepts an expected digest in upper case', async () => {
    const uri = `${server.origin}/model.onnx`;
    expect((await fetchModel(uri, options())).sha256).toBe(model.sha256);
    const other = await makeTempDir('fetch-http-upper');
    try {
      const got = await fetchModel(
        uri,
        options({ cacheDir: other.path, sha256: model.sha256.toUpperCase() }),
      );
      expect(got.sha256).toBe(model.sha256);
    } finally {
      await other.remove();
    }
  });

  it('reuses a cached download of the same URI and sha256 without contacting the server', async () => {
    const uri = `${server.origin}/model.onnx`;
    const first = await fetchModel(uri, options({ sha256: model.sha256 }));
    const second = await fetchModel(uri, options({ sha256: model.sha256 }));

    expect(second).toEqual(first);
    expect(server.requests).toEqual(['GET /model.onnx']);
    expect(
      logs
        .entries()
        .filter((e) => e.message === 'model fetch finished')
        .map((e) => e.origin),
    ).toEqual(['download', 'cache']);
  });

  it('keeps separate cache entries per expected sha256, and reuses the one without an expectation too', async () => {
    const uri = `${server.origin}/model.onnx`;
    const pinned = await fetchModel(uri, options({ sha256: model.sha256 }));
    const unpinned = await fetchModel(uri, options());
    await fetchModel(uri, options());

    expect(unpinned.path).not.toBe(pinned.path);
    expect(server.requests).toEqual(['GET /model.onnx', 'GET /model.onnx']);
  });

  it('downloads again when the cached file no longer matches the expected sha256', async () => {
    const uri = `${server.origin}/model.onnx`;
    const first = await fetchModel(uri, options({ sha256: model.sha256 }));
    await writeFile(first.path, 'corrupted');

    const again = await fetchModel(uri, options({ sha256: model.sha256 }));
    expect(again.path).toBe(first.path);
    expect(await readFile(again.path)).toEqual(model.bytes);
    expect(server.requests).toHaveLength(2);
  });

  it('follows redirects, also to another server', async () => {
    const other = await startHttpServer();
    try {
      other.route('/elsewhere.onnx', serveBytes(model.bytes));
      server.route('/moved', (_req, res) => res.writeHead(302, { location: '/model.onnx' }).end());
      server.route('/away', (_req, res) =>
        res.writeHead(307, { location: `${other.origin}/elsewhere.onnx` }).end(),
      );

      const moved = await fetchModel(`${server.origin}/moved`, options({ sha256: model.sha256 }));
      const away = await fetchModel(`${server.origin}/away`, options({ sha256: model.sha256 }));
      expect(await readFile(moved.path)).toEqual(model.bytes);
      expect(await readFile(away.path)).toEqual(model.bytes);
      expect(server.requests).toEqual(['GET /moved', 'GET /model.onnx', 'GET /away']);
      expect(other.requests).toEqual(['GET /elsewhere.onnx']);
    } finally {
      await other.close();
    }
  });

  it('gives up on a redirect loop', async () => {
    server.route('/loop', (_req, res) => res.writeHead(302, { location: '/loop' }).end());
    const err = await fetchFailure(fetchModel(`${server.origin}/loop`, options()));
    expect(err.reason).toBe('unexpected_response');
    expect(err.message).toMatch(/too many redirects/i);
  });
});

describe('http errors', () => {
  it('reports 404 as not_found, naming the URI and the status, and logs the failure', async () => {
    const uri = `${server.origin}/missing.onnx`;
    const err = await fetchFailure(fetchModel(uri, options()));
    expect(err.reason).toBe('not_found');
    expect(err.retryable).toBe(false);
    expect(err.uri).toBe(uri);
    expect(err.message).toContain(uri);
    expect(err.message).toContain('HTTP 404');
    expect(await listDir(cache.path)).toEqual([]);
    expect(logs.entries().at(-1)).toMatchObject({
      level: 'error',
      message: 'model fetch failed',
      uri,
      reason: 'not_found',
      error: err.message,
    });
  });

  it('reports 401/403 as access_denied and 5xx as a retryable server_error', async () => {
    server.route('/forbidden', (_req, res) => res.writeHead(403).end());
    server.route('/login', (_req, res) => res.writeHead(401).end());
    server.route('/broken', (_req, res) => res.writeHead(503).end());

    expect((await fetchFailure(fetchModel(`${server.origin}/forbidden`, options()))).reason).toBe(
      'access_denied',
    );
    expect((await fetchFailure(fetchModel(`${server.origin}/login`, options()))).reason).toBe(
      'access_denied',
    );
    const broken = await fetchFailure(fetchModel(`${server.origin}/broken`, options()));
    expect(broken.reason).toBe('server_error');
    expect(broken.retryable).toBe(true);
    expect(broken.message).toContain('HTTP 503');
  });

  it('reports a refused connection as unreachable', async () => {
    const port = await freePort(); // nothing listens there
    const err = await fetchFailure(fetchModel(`http://127.0.0.1:${port}/model.onnx`, options()));
    expect(err.reason).toBe('unreachable');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain(`Connection refused by 127.0.0.1:${port}`);
  });

  it('refuses a download whose Content-Length is over maxBytes without reading the body', async () => {
    const { closed, onClose } = closedSignal();
    server.route('/huge', (_req, res) => {
      res.on('close', onClose);
      // Announces 50 MB, sends a little, then stalls: only a client that trusts the header finishes quickly.
      res.writeHead(200, { 'content-length': 50 * 1024 * 1024 }).write(Buffer.alloc(1024));
    });
    const err = await fetchFailure(fetchModel(`${server.origin}/huge`, options({ maxBytes: 1024 * 1024 })));
    expect(err.reason).toBe('too_large');
    expect(err.message).toContain(`${50 * 1024 * 1024} bytes (announced by the server)`);
    expect(err.message).toContain(`limit of ${1024 * 1024} bytes`);
    await closed;
    expect(await listDir(cache.path)).toEqual([]);
  });

  it('stops a download without Content-Length once more than maxBytes arrived', async () => {
    const { closed, onClose } = closedSignal();
    server.route('/endless', (_req, res) => {
      res.on('close', onClose);
      res.writeHead(200, { 'content-type': 'application/octet-stream' }); // chunked: no size announced
      const chunk = Buffer.alloc(64 * 1024, 7);
      // 64 times the limit: far more than a counting client accepts, and a bound if counting ever breaks.
      let left = 256;
      const pump = (): void => {
        while (!res.destroyed && left > 0) {
          left--;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (!res.destroyed) res.end();
      };
      pump();
    });
    const err = await fetchFailure(fetchModel(`${server.origin}/endless`, options({ maxBytes: 256 * 1024 })));
    expect(err.reason).toBe('too_large');
    expect(err.message).toContain(`limit of ${256 * 1024} bytes`);
    await closed;
    expect(await listDir(cache.path)).toEqual([]);
  });

  it('rejects bytes that do not match the expected sha256 and keeps nothing', async () => {
    const expected = sha256(Buffer.from('another model'));
    const err = await fetchFailure(fetchModel(`${server.origin}/model.onnx`, options({ sha256: expected })));
    expect(err.reason).toBe('checksum_mismatch');
    expect(err.message).toContain(`expected ${expected}, got ${model.sha256}`);
    expect(await listDir(cache.path)).toEqual([]);
  });

  it('times out when the server never answers', async () => {
    server.route('/silent', () => undefined);
    const err = await fetchFailure(fetchModel(`${server.origin}/silent`, options({ timeoutMs: 300 })));
    expect(err.reason).toBe('timeout');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('within 300 ms');
  });

  it('times out when the body stalls halfway, and removes the partial file', async () => {
    server.route('/stall', (_req, res) => {
      res.writeHead(200, { 'content-length': 100_000 }).write(Buffer.alloc(10_000));
    });
    const err = await fetchFailure(fetchModel(`${server.origin}/stall`, options({ timeoutMs: 300 })));
    expect(err.reason).toBe('timeout');
    expect(await listDir(cache.path)).toEqual([]);
  });

  it('reports a connection cut before the announced size arrived, and removes the partial file', async () => {
    server.route('/cut', (_req, res) => {
      res.writeHead(200, { 'content-length': 100_000 });
      res.write(Buffer.alloc(10_000), () => res.socket?.destroy());
    });
    const err = await fetchFailure(fetchModel(`${server.origin}/cut`, options()));
    expect(err.reason).toBe('unreachable');
    expect(err.retryable).toBe(true);
    expect(await listDir(cache.path)).toEqual([]);
  });

  it('reports an unwritable cache directory as storage_error', async () => {
    const file = join(cache.path, 'not-a-directory');
    await writeFile(file, '');
    const err = await fetchFailure(
      fetchModel(`${server.origin}/model.onnx`, options({ cacheDir: join(file, 'cache') })),
    );
    expect(err.reason).toBe('storage_error');
    expect(err.message).toContain(join(file, 'cache'));
  });
});

describe('secrets in URIs', () => {
  const secretUri = (path: string): string =>
    `${server.origin.replace('://', '://alice:hunter2@')}${path}?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=s3cr3tsig`;

  it('never shows userinfo or query strings in the result or the logs, yet sends them', async () => {
    let authorization: string | undefined;
    server.route('/signed.onnx', (req, res) => {
      authorization = req.headers.authorization;
      serveBytes(model.bytes)(req, res);
    });
    const got = await fetchModel(secretUri('/signed.onnx'), options());

    expect(got.uri).toBe(`${server.origin.replace('://', '://REDACTED@')}/signed.onnx?REDACTED`);
    expect(server.requests).toEqual([
      'GET /signed.onnx?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=s3cr3tsig',
    ]);
    expect(authorization).toBe(`Basic ${Buffer.from('alice:hunter2').toString('base64')}`);
    expect(logs.text()).not.toMatch(/hunter2|s3cr3tsig|AKIAEXAMPLE/);
    expect(logs.text()).toContain('/signed.onnx?REDACTED');
  });

  it('never shows them in errors either', async () => {
    server.route('/expired.onnx', (_req, res) => res.writeHead(403).end());
    const err = await fetchFailure(fetchModel(secretUri('/expired.onnx'), options()));

    expect(err.reason).toBe('access_denied');
    expect(err.message).toContain('/expired.onnx?REDACTED');
    for (const text of [err.message, err.uri, logs.text()])
      expect(text).not.toMatch(/hunter2|s3cr3tsig|AKIAEXAMPLE/);
  });
});
