/** Local paths, file:// and pvc:// URIs: used in place, checked, never copied. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fetchModel, type FetchOptions } from '../../src/repository/fetch.js';
import { fetchFailure } from './support/expect-failure.js';
import { listDir, makeModel, makeTempDir, sha256 } from './support/files.js';
import { captureLogs } from './support/log-capture.js';

const model = makeModel();
let root: { path: string; remove: () => Promise<void> };
let modelPath: string;
let cacheDir: string;
let pvcRoot: string;

beforeAll(async () => {
  root = await makeTempDir('fetch-local');
  modelPath = join(root.path, 'models', 'my model.onnx');
  cacheDir = join(root.path, 'cache');
  pvcRoot = join(root.path, 'pvc');
  await mkdir(join(root.path, 'models'));
  await writeFile(modelPath, model.bytes);
  await mkdir(join(pvcRoot, 'model-store', 'resnet'), { recursive: true });
  await writeFile(join(pvcRoot, 'model-store', 'resnet', 'model.onnx'), model.bytes);
});
afterAll(async () => {
  await root.remove();
});

function options(extra: Partial<FetchOptions> = {}): FetchOptions {
  return { cacheDir, maxBytes: 1024 * 1024, pvcRoot, ...extra };
}

describe('local paths', () => {
  it('uses an absolute path in place and reports its digest and size', async () => {
    const logs = captureLogs();
    const got = await fetchModel(modelPath, options({ sha256: model.sha256, logger: logs.logger }));
    expect(got).toEqual({ path: modelPath, sha256: model.sha256, bytes: model.bytes.length, uri: modelPath });
    expect(await listDir(cacheDir)).toEqual([]); // nothing copied
    expect(logs.entries().map((e) => [e.message, e.origin])).toEqual([
      ['model fetch started', undefined],
      ['model fetch finished', 'local'],
    ]);
  });

  it('resolves a relative path against the working directory', async () => {
    const got = await fetchModel(relative(process.cwd(), modelPath), options());
    expect(got.path).toBe(modelPath);
    expect(got.sha256).toBe(model.sha256);
  });

  it('accepts file:// URLs, percent-decoded', async () => {
    const uri = pathToFileURL(modelPath).href;
    expect(uri).toContain('my%20model.onnx');
    const got = await fetchModel(uri, options({ sha256: model.sha256 }));
    expect(got.path).toBe(modelPath);
  });

  it('rejects a local file whose digest differs from the expected one', async () => {
    const expected = sha256(Buffer.from('a different model'));
    const err = await fetchFailure(fetchModel(modelPath, options({ sha256: expected })));
    expect(err.reason).toBe('checksum_mismatch');
    expect(err.message).toContain(`expected ${expected}, got ${model.sha256}`);
    expect(err.message).toContain(modelPath);
  });

  it('reports a missing file as not_found, naming the path, and logs the failure', async () => {
    const logs = captureLogs();
    const missing = join(root.path, 'models', 'absent.onnx');
    const err = await fetchFailure(fetchModel(missing, options({ logger: logs.logger })));
    expect(err.reason).toBe('not_found');
    expect(err.message).toContain(`No model file at ${missing}`);
    expect(logs.entries().at(-1)).toMatchObject({
      level: 'error',
      message: 'model fetch failed',
      reason: 'not_found',
      uri: missing,
    });
  });

  it('reports a directory as not_a_file', async () => {
    const err = await fetchFailure(fetchModel(join(root.path, 'models'), options()));
    expect(err.reason).toBe('not_a_file');
    expect(err.message).toContain('is a directory');
  });

  it('refuses file:// URLs with a remote host', async () => {
    const err = await fetchFailure(fetchModel('file://fileserver/models/m.onnx', options()));
    expect(err.reason).toBe('invalid_uri');
  });

  it('refuses an expected sha256 that is not 64 hex digits', async () => {
    const err = await fetchFailure(fetchModel(modelPath, options({ sha256: 'abc123' })));
    expect(err.reason).toBe('invalid_sha256');
    expect(err.message).toContain('"abc123"');
  });
});

describe('pvc:// URIs', () => {
  it('maps pvc://claim/path to a file under pvcRoot', async () => {
    const got = await fetchModel('pvc://model-store/resnet/model.onnx', options({ sha256: model.sha256 }));
    expect(got.path).toBe(join(pvcRoot, 'model-store', 'resnet', 'model.onnx'));
    expect(got.uri).toBe('pvc://model-store/resnet/model.onnx');
    expect(await listDir(cacheDir)).toEqual([]);
  });

  it('says which claim should be mounted where when the file is missing', async () => {
    const err = await fetchFailure(fetchModel('pvc://other-claim/model.onnx', options()));
    expect(err.reason).toBe('not_found');
    expect(err.message).toContain(`PersistentVolumeClaim "other-claim" is mounted at ${pvcRoot}/other-claim`);
  });

  it.each([
    'pvc://model-store/../secrets/token',
    'pvc://model-store/resnet/../../other/model.onnx',
    'pvc://model-store/../model-store-2/model.onnx', // a sibling whose name merely starts with the claim's
    'pvc://model-store//etc/passwd',
    'pvc://model-store/..',
  ])('refuses %s, which leaves the claim', async (uri) => {
    const err = await fetchFailure(fetchModel(uri, options()));
    expect(err.reason).toBe('invalid_uri');
    expect(err.message).toContain("leaves the claim's directory");
  });

  it('allows .. that stays inside the claim', async () => {
    const got = await fetchModel('pvc://model-store/resnet/../resnet/model.onnx', options());
    expect(got.path).toBe(join(pvcRoot, 'model-store', 'resnet', 'model.onnx'));
  });

  it.each([
    'pvc://Model_Store/model.onnx',
    'pvc://model-store',
    'pvc://model-store/',
    'pvc://model-store/.',
    'pvc:///model.onnx',
  ])('refuses the malformed %s', async (uri) => {
    const err = await fetchFailure(fetchModel(uri, options()));
    expect(err.reason).toBe('invalid_uri');
    expect(err.message).toContain('pvc://claim-name/path/to/model');
  });
});

describe('URIs that are not fetched at all', () => {
  it.each(['gs://bucket/model.onnx', 'ftp://host/model.onnx', 'hf:org/model', 'HDFS://nn/model.onnx'])(
    'refuses %s as unsupported_scheme',
    async (uri) => {
      const err = await fetchFailure(fetchModel(uri, options()));
      expect(err.reason).toBe('unsupported_scheme');
      expect(err.message).toContain('use a local path, file://, pvc://, http://, https:// or s3://');
    },
  );

  it.each(['', '   ', ' /models/m.onnx', 'http://', 's3://bucket', 's3://bucket/', 's3:///key'])(
    'refuses %j as invalid_uri',
    async (uri) => {
      const err = await fetchFailure(fetchModel(uri, options()));
      expect(err.reason).toBe('invalid_uri');
    },
  );
});
