/**
 * s3:// models against a real S3-compatible server (moto) on loopback, with authentication on.
 * The first run installs moto into ~/.cache/modelship/moto-venv (about half a minute); without Python
 * or PyPI access the suite fails saying what to install.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from '../../../cluster/src/process.js';
import { fetchModel, type FetchOptions } from '../../src/repository/fetch.js';
import { fetchFailure } from './support/expect-failure.js';
import { listDir, makeModel, makeTempDir, sha256 } from './support/files.js';
import { captureLogs, type CapturedLogs } from './support/log-capture.js';
import { startS3Server, type S3Credentials, type S3TestServer } from './support/s3-server.js';

const BUCKET = 'models';
const KEY = 'resnet/v1/model.onnx';
const URI = `s3://${BUCKET}/${KEY}`;
const model = makeModel();

/** The AWS_* variables these tests set; restored afterwards so other suites in this worker see the originals. */
const AWS_VARS = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_REGION',
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_S3',
  'AWS_PROFILE',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_EC2_METADATA_DISABLED',
] as const;
const savedEnv = new Map(AWS_VARS.map((name) => [name, process.env[name]]));

let s3: S3TestServer;
let admin: S3Client;
let cache: { path: string; remove: () => Promise<void> };
let logs: CapturedLogs;

function useCredentials(creds: S3Credentials): void {
  process.env.AWS_ACCESS_KEY_ID = creds.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = creds.secretAccessKey;
}

beforeAll(async () => {
  s3 = await startS3Server();
  // Only what the tests set: no developer ~/.aws files, no instance metadata lookups.
  for (const name of AWS_VARS) delete process.env[name];
  process.env.AWS_CONFIG_FILE = '/nonexistent/aws-config';
  process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/aws-credentials';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';

  admin = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: s3.admin,
  });
  await admin.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: KEY, Body: model.bytes }));
}, 10 * 60_000);

afterAll(async () => {
  admin?.destroy();
  await s3?.stop();
  for (const [name, value] of savedEnv) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

beforeEach(async () => {
  cache = await makeTempDir('fetch-s3');
  logs = captureLogs();
  useCredentials(s3.admin);
  delete process.env.AWS_ENDPOINT_URL_S3;
});
afterEach(async () => {
  await cache.remove();
});

function options(extra: Partial<FetchOptions> = {}): FetchOptions {
  return {
    cacheDir: cache.path,
    maxBytes: 1024 * 1024,
    logger: logs.logger,
    s3: { endpoint: s3.endpoint, region: s3.region },
    ...extra,
  };
}

describe('s3 download', () => {
  it('downloads an object through the explicit endpoint option', async () => {
    const got = await fetchModel(URI, options({ sha256: model.sha256 }));
    expect(dirname(got.path)).toBe(cache.path);
    expect(await readFile(got.path)).toEqual(model.bytes);
    expect(got).toMatchObject({ sha256: model.sha256, bytes: model.bytes.length, uri: URI });
    expect(logs.entries().at(-1)).toMatchObject({
      message: 'model fetch finished',
      origin: 'download',
      uri: URI,
      bytes: model.bytes.length,
      sha256: model.sha256,
    });
    // Credentials are the SDK's business: they never reach the logs.
    expect(logs.text()).not.toContain(s3.admin.secretAccessKey);
    expect(logs.text()).not.toContain(s3.admin.accessKeyId);
  });

  it('finds the endpoint in AWS_ENDPOINT_URL_S3 and addresses the bucket path-style', async () => {
    process.env.AWS_ENDPOINT_URL_S3 = s3.endpoint;
    // No s3 option at all: endpoint, region default and credentials all come from the environment.
    const got = await fetchModel(URI, options({ s3: undefined }));
    expect(got.sha256).toBe(model.sha256);
  });

  it('reuses the cached download: the object can even be gone', async () => {
    const key = 'reuse/model.onnx';
    await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: model.bytes }));
    const first = await fetchModel(`s3://${BUCKET}/${key}`, options({ sha256: model.sha256 }));
    await admin.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));

    const second = await fetchModel(`s3://${BUCKET}/${key}`, options({ sha256: model.sha256 }));
    expect(second).toEqual(first);
    expect(logs.entries().at(-1)).toMatchObject({ message: 'model fetch finished', origin: 'cache' });
  });

  it('checks size and digest like any download', async () => {
    const tooLarge = await fetchFailure(fetchModel(URI, options({ maxBytes: 1000 })));
    expect(tooLarge.reason).toBe('too_large');
    expect(tooLarge.message).toContain(`${model.bytes.length} bytes (announced by the server)`);

    const mismatch = await fetchFailure(fetchModel(URI, options({ sha256: sha256(Buffer.from('other')) })));
    expect(mismatch.reason).toBe('checksum_mismatch');
    expect(await listDir(cache.path)).toEqual([]);
  });
});

describe('s3 errors', () => {
  it('reports a missing key as not_found, naming bucket and key', async () => {
    const err = await fetchFailure(fetchModel(`s3://${BUCKET}/resnet/v2/model.onnx`, options()));
    expect(err.reason).toBe('not_found');
    expect(err.message).toContain('No object "resnet/v2/model.onnx" in bucket "models"');
    expect(err.message).toContain(s3.endpoint);
    expect(logs.entries().at(-1)).toMatchObject({ message: 'model fetch failed', reason: 'not_found' });
  });

  it('reports a missing bucket as not_found', async () => {
    const err = await fetchFailure(fetchModel('s3://no-such-bucket/model.onnx', options()));
    expect(err.reason).toBe('not_found');
    expect(err.message).toContain('The bucket "no-such-bucket" does not exist');
  });

  it('reports an unknown access key as access_denied', async () => {
    useCredentials({ accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'not-a-real-secret-at-all' });
    const err = await fetchFailure(fetchModel(URI, options()));
    expect(err.reason).toBe('access_denied');
    expect(err.message).toContain('check AWS_ACCESS_KEY_ID');
    expect(err.message + logs.text()).not.toContain('not-a-real-secret-at-all');
  });

  it('reports a wrong secret key as access_denied', async () => {
    useCredentials({ accessKeyId: s3.admin.accessKeyId, secretAccessKey: 'wrong-secret-wrong-secret' });
    const err = await fetchFailure(fetchModel(URI, options()));
    expect(err.reason).toBe('access_denied');
    expect(err.message).toContain('check AWS_SECRET_ACCESS_KEY');
    expect(err.message + logs.text()).not.toContain('wrong-secret-wrong-secret');
  });

  it('reports a user without read permission as access_denied', async () => {
    useCredentials(s3.powerless);
    const err = await fetchFailure(fetchModel(URI, options()));
    expect(err.reason).toBe('access_denied');
    expect(err.message).toContain('s3:GetObject');
  });

  it('reports missing credentials as access_denied, saying what to set', async () => {
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    const err = await fetchFailure(fetchModel(URI, options()));
    expect(err.reason).toBe('access_denied');
    expect(err.message).toContain('No AWS credentials were found');
  });

  it('reports an endpoint where nothing listens as unreachable', async () => {
    const port = await freePort();
    const err = await fetchFailure(
      fetchModel(URI, options({ s3: { endpoint: `http://127.0.0.1:${port}` } })),
    );
    expect(err.reason).toBe('unreachable');
    expect(err.message).toContain(`Connection refused by 127.0.0.1:${port}`);
  });
});
