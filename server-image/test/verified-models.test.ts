/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 */
/**
 * Verified models on the real server (real onnxruntime, real HTTP): signatures in cosign's key-based blob format
 * (ECDSA, RSA, Ed25519 keys made here with node:crypto, and signatures made by the openssl CLI), checked before the
 * model loads; a bad one means the model never loads, at the first attempt, and every place that reports a load
 * failure says `signature verification failed: <why>`. The digest policy refuses remote models without a sha256
 * before downloading anything. The model card is served in the model's metadata.
 */
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { addSubModel, irisModel } from '../../test/fixtures/onnx/models.js';
import type { ServerConfig } from '../src/config.js';
import { parsePublicKey } from '../src/repository/model-signature.js';
import { spawnServer } from './support/child.js';
import { getJson, http, postJson } from './support/client.js';
import { startTestServer, type TestServer } from './support/server.js';

const run = promisify(execFile);
const OPENSSL = '/usr/bin/openssl';
const MODEL = Buffer.from(irisModel());
const SHA = createHash('sha256').update(MODEL).digest('hex');
const IRIS_REQUEST = {
  inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }],
};

let cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.map((c) => c()));
  cleanups = [];
});
afterAll(async () => {
  await Promise.all(cleanups.map((c) => c()));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'modelship-verify-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

type KeyKind = 'ECDSA P-256' | 'RSA-2048' | 'Ed25519';
function keyPair(kind: KeyKind): { publicKey: KeyObject; privateKey: KeyObject } {
  if (kind === 'ECDSA P-256') return generateKeyPairSync('ec', { namedCurve: 'P-256' });
  if (kind === 'RSA-2048') return generateKeyPairSync('rsa', { modulusLength: 2048 });
  return generateKeyPairSync('ed25519');
}
const publicPem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }) as string;
/** What `cosign sign-blob --key` writes with --output-signature: base64 of the signature over the file, SHA-256 (Ed25519: the file itself). */
const cosignStyle = (bytes: Uint8Array, privateKey: KeyObject) =>
  sign(privateKey.asymmetricKeyType === 'ed25519' ? null : 'sha256', bytes, privateKey).toString('base64');

/** A loopback HTTP server with fixed files; counts requests per path. */
async function fileServer(files: Record<string, Uint8Array | string>) {
  const hits: Record<string, number> = {};
  const server = createServer((req, res) => {
    const path = req.url ?? '';
    hits[path] = (hits[path] ?? 0) + 1;
    const body = files[path];
    if (body === undefined) res.writeHead(404).end('not found');
    else res.writeHead(200, { 'content-length': Buffer.byteLength(body) }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { url: (path: string) => `http://127.0.0.1:${port}${path}`, hits };
}

async function serve(
  model: Uint8Array,
  overrides: Partial<ServerConfig>,
  waitReady = true,
): Promise<TestServer> {
  const s = await startTestServer(
    model,
    { modelName: 'iris', cacheDir: await tempDir(), ...overrides },
    waitReady,
  );
  cleanups.push(() => s.stop());
  return s;
}

function signed(pem: string, signature: { base64: string } | { uri: string }): Partial<ServerConfig> {
  return { modelSignature: { publicKey: parsePublicKey(pem), source: signature } };
}

async function signatureGauge(s: TestServer): Promise<string | undefined> {
  const text = (await http(`${s.metricsBase}/metrics`)).body.toString();
  return /^modelship_model_signature_verified\{[^}]*model="iris",version="1"[^}]*\} (\d)$/m.exec(text)?.[1];
}

async function expectServes(s: TestServer): Promise<void> {
  const r = await postJson(`${s.base}/v2/models/iris/infer`, IRIS_REQUEST);
  expect(r.status).toBe(200);
  expect(r.json.outputs[0].shape).toEqual([1, 3]);
}

/** The model never loaded, at the first attempt of three, and every report of it says why. */
async function expectRefused(s: TestServer, why: RegExp): Promise<void> {
  expect(await s.server.loaded).toBe(false);
  const failures = s.logs.filter((l) => l.message === 'model load failed');
  expect(failures).toHaveLength(1);
  expect(failures[0]).toMatchObject({ attempt: 1, of: 3, willRetry: false });
  expect(String(failures[0]!.error)).toMatch(why);
  const ready = await getJson(`${s.base}/v2/health/ready`);
  expect(ready.status).toBe(503);
  expect(ready.json.error).toMatch(why);
  expect(ready.json.error).toMatch(/not retried: retrying cannot fix it/);
  expect(s.logs.some((l) => l.message === 'model loaded')).toBe(false);
}

describe('a model with a good signature loads and serves', () => {
  it.each<KeyKind>(['ECDSA P-256', 'RSA-2048', 'Ed25519'])(
    'signed with an %s key, the signature inline',
    async (kind) => {
      const { publicKey, privateKey } = keyPair(kind);
      const pem = publicPem(publicKey);
      const s = await serve(MODEL, signed(pem, { base64: cosignStyle(MODEL, privateKey) }));
      await expectServes(s);
      const key = parsePublicKey(pem);
      expect(s.logs.find((l) => l.message === 'model loaded')).toMatchObject({
        sha256: SHA,
        signature: { verified: true, key: kind, keySha256: key.fingerprint },
      });
      expect(await signatureGauge(s)).toBe('1');
      // The key is named by its fingerprint; its PEM never reaches the logs.
      const body = pem.split('\n')[1]!;
      expect(JSON.stringify(s.logs)).not.toContain(body);
    },
  );

  it('with the signature and the model fetched over HTTP (the sha256 checked too)', async () => {
    const { publicKey, privateKey } = keyPair('ECDSA P-256');
    const files = await fileServer({
      '/iris.onnx': MODEL,
      '/iris.onnx.sig': `${cosignStyle(MODEL, privateKey)}\n`,
    });
    const s = await serve(MODEL, {
      modelUri: files.url('/iris.onnx'),
      modelSha256: SHA,
      requireDigest: true,
      ...signed(publicPem(publicKey), { uri: files.url('/iris.onnx.sig') }),
    });
    await expectServes(s);
    expect(files.hits).toEqual({ '/iris.onnx.sig': 1, '/iris.onnx': 1 });
    expect(await signatureGauge(s)).toBe('1');
  });

  it.each(['ec', 'rsa'])(
    'signed by the openssl CLI (`openssl dgst -sha256 -sign key.pem model.onnx | openssl base64`, %s key)',
    async (type) => {
      const dir = await tempDir();
      const { publicKey, privateKey } =
        type === 'ec'
          ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
          : generateKeyPairSync('rsa', { modulusLength: 3072 });
      const keyPath = join(dir, 'key.pem');
      const modelPath = join(dir, 'model.onnx');
      await writeFile(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }));
      await writeFile(modelPath, MODEL);
      const der = join(dir, 'model.sig.der');
      await run(OPENSSL, ['dgst', '-sha256', '-sign', keyPath, '-out', der, modelPath]);
      // openssl base64 wraps lines at 64 columns: the file as a user would upload it.
      const sigPath = join(dir, 'model.sig');
      await run(OPENSSL, ['base64', '-in', der, '-out', sigPath]);
      expect((await readFile(sigPath, 'utf8')).trim().split('\n').length).toBeGreaterThan(1);
      const s = await serve(MODEL, {
        modelUri: modelPath,
        ...signed(publicPem(publicKey), { uri: sigPath }),
      });
      await expectServes(s);

      // And the other way: openssl accepts the signature format cosign writes (DER ECDSA / PKCS#1 v1.5 over SHA-256).
      const ours = join(dir, 'ours.der');
      await writeFile(ours, Buffer.from(cosignStyle(MODEL, privateKey), 'base64'));
      const pubPath = join(dir, 'pub.pem');
      await writeFile(pubPath, publicPem(publicKey));
      const { stdout } = await run(OPENSSL, [
        'dgst',
        '-sha256',
        '-verify',
        pubPath,
        '-signature',
        ours,
        modelPath,
      ]);
      expect(stdout.trim()).toBe('Verified OK');
    },
  );
});

describe('a model whose signature does not verify never loads, and the error says why', () => {
  const { publicKey, privateKey } = keyPair('ECDSA P-256');
  const pem = publicPem(publicKey);

  it('a tampered model (another valid ONNX file under the same signature): onnxruntime never sees it', async () => {
    const s = await serve(
      addSubModel(),
      { loadAttempts: 3, ...signed(pem, { base64: cosignStyle(MODEL, privateKey) }) },
      false,
    );
    await expectRefused(
      s,
      /signature verification failed: the signature does not match the model file for the ECDSA P-256 key [0-9a-f]{16}…: the file was changed after signing, or it was signed with another key/,
    );
    expect(s.logs.find((l) => l.message === 'model load failed')).toMatchObject({
      reason: 'signature_invalid',
    });
    expect(await signatureGauge(s)).toBe('0');
  });

  it('a signature made with another key', async () => {
    const other = keyPair('ECDSA P-256');
    const s = await serve(
      MODEL,
      { loadAttempts: 3, ...signed(pem, { base64: cosignStyle(MODEL, other.privateKey) }) },
      false,
    );
    await expectRefused(s, /signature verification failed: the signature does not match the model file/);
  });

  it.each([
    [
      'text that is not base64',
      'this is not a signature!',
      /signature verification failed: the signature is not base64/,
    ],
    [
      'random bytes in base64',
      Buffer.from('f'.repeat(64)).toString('base64'),
      /signature verification failed: the signature \(64 bytes\) is not an ASN.1 DER ECDSA signature/,
    ],
    ['an empty signature file', '', /signature verification failed: the signature is empty/],
  ])('garbage: %s', async (_what, text, why) => {
    const dir = await tempDir();
    const sigPath = join(dir, 'model.sig');
    await writeFile(sigPath, text);
    const s = await serve(MODEL, { loadAttempts: 3, ...signed(pem, { uri: sigPath }) }, false);
    await expectRefused(s, why);
  });

  it('a bad signature fetched over HTTP; then a signature URI that is not there', async () => {
    const files = await fileServer({ '/bad.sig': cosignStyle(addSubModel(), privateKey) });
    const bad = await serve(
      MODEL,
      { loadAttempts: 3, ...signed(pem, { uri: files.url('/bad.sig') }) },
      false,
    );
    await expectRefused(bad, /signature verification failed: the signature does not match the model file/);

    const missing = await serve(
      MODEL,
      { loadAttempts: 3, ...signed(pem, { uri: files.url('/missing.sig') }) },
      false,
    );
    await expectRefused(
      missing,
      /signature verification failed: the signature could not be fetched: .*127\.0\.0\.1:\d+\/missing\.sig/,
    );
    expect(missing.logs.find((l) => l.message === 'model load failed')).toMatchObject({
      reason: 'not_found',
    });
  });
});

describe('the digest policy (--require-digest)', () => {
  it('refuses a model over HTTP without a sha256 before downloading it, and accepts it with one', async () => {
    const files = await fileServer({ '/iris.onnx': MODEL });
    const refused = await serve(
      MODEL,
      { modelUri: files.url('/iris.onnx'), requireDigest: true, loadAttempts: 3 },
      false,
    );
    await expectRefused(
      refused,
      /The model URI "http:\/\/127\.0\.0\.1:\d+\/iris\.onnx" is remote \(http\) and has no sha256, which the digest policy requires/,
    );
    expect(refused.logs.find((l) => l.message === 'model load failed')).toMatchObject({
      reason: 'digest_required',
    });
    expect(files.hits).toEqual({});

    const accepted = await serve(MODEL, {
      modelUri: files.url('/iris.onnx'),
      modelSha256: SHA,
      requireDigest: true,
    });
    await expectServes(accepted);
    expect(files.hits).toEqual({ '/iris.onnx': 1 });
  });

  it('leaves local files alone', async () => {
    const s = await serve(MODEL, { requireDigest: true });
    await expectServes(s);
  });
});

describe('the model card', () => {
  const card = {
    owner: 'risk-team',
    intendedUse: 'iris species from four measurements',
    limitations: 'trained on 150 flowers',
    trainingData: 's3://datasets/iris/v3',
    evaluationMetrics: { accuracy: 0.97 },
    license: 'Apache-2.0',
    contact: 'risk@example.com',
  };

  it('is served as parameters.model_card in the model metadata, with or without the version', async () => {
    const s = await serve(MODEL, { modelCard: card });
    for (const path of ['/v2/models/iris', '/v2/models/iris/versions/1']) {
      const r = await getJson(`${s.base}${path}`);
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({ name: 'iris', versions: ['1'], parameters: { model_card: card } });
    }
  });

  it('leaves the metadata as it was without one', async () => {
    const s = await serve(MODEL, {});
    expect((await getJson(`${s.base}/v2/models/iris`)).json).not.toHaveProperty('parameters');
  });
});

describe('the CLI', () => {
  it('refuses a model card that is not a JSON object at start, naming the variable (exit 2)', async () => {
    for (const value of ['{"owner": ', '["a"]']) {
      const child = spawnServer({ MODELSHIP_MODEL_URI: '/m.onnx', MODELSHIP_MODEL_CARD: value });
      expect(await child.exited).toBe(2);
      expect(child.stderr.join('')).toMatch(
        /from env 'MODELSHIP_MODEL_CARD' is invalid\. must be a JSON object/,
      );
    }
  }, 60_000);

  it('refuses a private key given as the public key at start, without printing it (exit 2)', async () => {
    const privatePem = keyPair('ECDSA P-256').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const child = spawnServer({
      MODELSHIP_MODEL_URI: '/m.onnx',
      MODELSHIP_MODEL_PUBLIC_KEY: privatePem,
      MODELSHIP_MODEL_SIGNATURE: 'MEUC',
    });
    expect(await child.exited).toBe(2);
    const stderr = child.stderr.join('');
    expect(stderr).toMatch(/--model-public-key \(MODELSHIP_MODEL_PUBLIC_KEY\): this is a private key/);
    expect(stderr).not.toContain(privatePem.split('\n')[1]!);
  }, 60_000);

  it('inspect (the validation Job) refuses what serve would: a bad signature, a remote model without a sha256', async () => {
    const dir = await tempDir();
    const modelPath = join(dir, 'model.onnx');
    await writeFile(modelPath, MODEL);
    const { publicKey } = keyPair('ECDSA P-256');
    const inspect = async (env: Record<string, string>) => {
      const r = await run(
        process.execPath,
        ['--import', 'tsx', fileURLToPath(new URL('../src/cli.ts', import.meta.url)), 'inspect'],
        {
          env: {
            PATH: process.env.PATH ?? '',
            HOME: process.env.HOME ?? '/tmp',
            MODELSHIP_CACHE_DIR: dir,
            MODELSHIP_TERMINATION_LOG: '',
            ...env,
          },
        },
      ).then(
        (ok) => ({ code: 0, stdout: ok.stdout }),
        (err: { code: number; stdout: string }) => ({ code: err.code, stdout: err.stdout }),
      );
      return { code: r.code, result: JSON.parse(r.stdout.trim().split('\n').at(-1)!) };
    };
    const bad = await inspect({
      MODELSHIP_MODEL_URI: modelPath,
      MODELSHIP_MODEL_PUBLIC_KEY: publicPem(publicKey),
      MODELSHIP_MODEL_SIGNATURE: cosignStyle(MODEL, keyPair('ECDSA P-256').privateKey),
    });
    expect(bad).toMatchObject({
      code: 1,
      result: {
        ok: false,
        code: 'signature_invalid',
        reason: expect.stringMatching(/^signature verification failed: the signature does not match/),
      },
    });
    const unpinned = await inspect({
      MODELSHIP_MODEL_URI: 'https://models.example/iris.onnx',
      MODELSHIP_REQUIRE_DIGEST: 'true',
    });
    expect(unpinned).toMatchObject({
      code: 1,
      result: { ok: false, code: 'digest_required', reason: expect.stringMatching(/^digest required: /) },
    });
  }, 60_000);

  it('exits 1 for a bad signature, the reason in the last log lines (the pod termination message)', async () => {
    const dir = await tempDir();
    const modelPath = join(dir, 'model.onnx');
    await writeFile(modelPath, MODEL);
    const { publicKey } = keyPair('ECDSA P-256');
    const other = keyPair('ECDSA P-256');
    const child = spawnServer({
      MODELSHIP_MODEL_NAME: 'iris',
      MODELSHIP_MODEL_URI: modelPath,
      MODELSHIP_MODEL_PUBLIC_KEY: publicPem(publicKey),
      MODELSHIP_MODEL_SIGNATURE: cosignStyle(MODEL, other.privateKey),
      MODELSHIP_CACHE_DIR: dir,
    });
    cleanups.push(async () => {
      child.kill('SIGKILL');
      await child.exited;
    });
    expect(await child.exited).toBe(1);
    // FallbackToLogsOnError makes the log's tail the termination message; the operator shows its last 3 lines.
    const tail = child.logs.slice(-3).map((l) => JSON.stringify(l));
    expect(tail.join('\n')).toMatch(
      /signature verification failed: the signature does not match the model file/,
    );
    expect(child.logs.filter((l) => l.message === 'model load failed')).toHaveLength(1);
  }, 60_000);
});
