/** The pure rules behind fetching: URI parsing, redaction, cache names, S3 settings, error mapping. */
import { describe, expect, it } from '@jest/globals';
import { cachePathFor } from '../../src/repository/fetch-cache.js';
import { ModelFetchError } from '../../src/repository/fetch-error.js';
import { networkError } from '../../src/repository/fetch-http.js';
import { resolveS3Settings, s3Error } from '../../src/repository/fetch-s3.js';
import { parseModelUri, redactUri } from '../../src/repository/fetch-uri.js';

describe('parseModelUri', () => {
  it('classifies each scheme', () => {
    expect(parseModelUri('/models/m.onnx')).toEqual({ kind: 'file', path: '/models/m.onnx' });
    expect(parseModelUri('file:///models/a%23b.onnx')).toEqual({ kind: 'file', path: '/models/a#b.onnx' });
    expect(parseModelUri('pvc://store/m.onnx', '/vol')).toEqual({
      kind: 'file',
      path: '/vol/store/m.onnx',
      claim: 'store',
    });
    expect(parseModelUri('pvc://store/m.onnx')).toMatchObject({ path: '/mnt/pvc/store/m.onnx' });
    const http = parseModelUri('HTTPS://Host.example:8443/a/m.onnx?x=1');
    expect(http.kind === 'http' && http.url.href).toBe('https://host.example:8443/a/m.onnx?x=1');
    expect(parseModelUri('s3://my-bucket/dir/m v1.onnx')).toEqual({
      kind: 's3',
      bucket: 'my-bucket',
      key: 'dir/m v1.onnx',
    });
  });

  it('takes s3 keys and pvc paths literally, without percent-decoding', () => {
    expect(parseModelUri('s3://b/a%20b.onnx')).toMatchObject({ key: 'a%20b.onnx' });
    expect(parseModelUri('pvc://c/a%2e%2e/m', '/vol')).toMatchObject({ path: '/vol/c/a%2e%2e/m' });
  });

  it('throws ModelFetchError with the redacted URI', () => {
    let caught: unknown;
    try {
      parseModelUri('gs://user:pw@bucket/m.onnx?token=abc');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ModelFetchError);
    expect(caught).toMatchObject({
      reason: 'unsupported_scheme',
      uri: 'gs://REDACTED@bucket/m.onnx?REDACTED',
    });
    expect((caught as Error).message).not.toMatch(/pw|abc/);
  });
});

describe('redactUri', () => {
  it.each([
    ['https://u:p@host/m.onnx?sig=1#frag', 'https://REDACTED@host/m.onnx?REDACTED'],
    ['https://token@host/m.onnx', 'https://REDACTED@host/m.onnx'],
    ['https://host/a@b/m.onnx', 'https://host/a@b/m.onnx'],
    ['s3://bucket/key', 's3://bucket/key'],
    ['/local/what?.onnx', '/local/what?.onnx'],
    ['file:///local/what%3F.onnx', 'file:///local/what%3F.onnx'],
    ['not a uri ?', 'not a uri ?'],
  ])('%s -> %s', (uri, shown) => {
    expect(redactUri(uri)).toBe(shown);
  });
});

describe('cachePathFor', () => {
  it('is stable, keeps the file name, and differs by URI (query included) and expected digest', () => {
    const a = cachePathFor('/cache', 'https://h/m.onnx?v=1', undefined);
    expect(a).toMatch(/^\/cache\/[0-9a-f]{24}-m\.onnx$/);
    expect(cachePathFor('/cache', 'https://h/m.onnx?v=1', undefined)).toBe(a);
    expect(cachePathFor('/cache', 'https://h/m.onnx?v=2', undefined)).not.toBe(a);
    expect(cachePathFor('/cache', 'https://h/m.onnx?v=1', 'a'.repeat(64))).not.toBe(a);
  });

  it('reduces odd names to safe characters', () => {
    expect(cachePathFor('/c', 's3://b/dir/..weird name$.onnx', undefined)).toMatch(/-weird_name_\.onnx$/);
    expect(cachePathFor('/c', 'https://host/', undefined)).toMatch(/-model$/);
  });
});

describe('resolveS3Settings', () => {
  it('defaults to AWS with virtual-host addressing', () => {
    expect(resolveS3Settings(undefined, {})).toEqual({
      endpoint: undefined,
      region: 'us-east-1',
      forcePathStyle: false,
    });
  });

  it('reads AWS_ENDPOINT_URL_S3 before AWS_ENDPOINT_URL, and turns on path-style addressing', () => {
    expect(
      resolveS3Settings(undefined, {
        AWS_ENDPOINT_URL: 'http://generic:1',
        AWS_ENDPOINT_URL_S3: 'http://s3:2',
      }),
    ).toEqual({ endpoint: 'http://s3:2', region: 'us-east-1', forcePathStyle: true });
    expect(
      resolveS3Settings(undefined, { AWS_ENDPOINT_URL: 'http://generic:1', AWS_REGION: 'eu-west-1' }),
    ).toEqual({ endpoint: 'http://generic:1', region: 'eu-west-1', forcePathStyle: true });
    expect(resolveS3Settings(undefined, { AWS_DEFAULT_REGION: 'ap-south-1' }).region).toBe('ap-south-1');
  });

  it('lets the explicit option win over the environment', () => {
    const env = { AWS_ENDPOINT_URL_S3: 'http://env:1', AWS_REGION: 'eu-west-1' };
    expect(
      resolveS3Settings({ endpoint: 'http://opt:2', region: 'us-west-2', forcePathStyle: false }, env),
    ).toEqual({
      endpoint: 'http://opt:2',
      region: 'us-west-2',
      forcePathStyle: false,
    });
  });

  it('honours AWS_IGNORE_CONFIGURED_ENDPOINT_URLS', () => {
    const env = { AWS_ENDPOINT_URL_S3: 'http://env:1', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' };
    expect(resolveS3Settings(undefined, env).endpoint).toBeUndefined();
  });
});

describe('network error mapping', () => {
  const url = new URL('https://models.example:8443/m.onnx');
  const errno = (code: string): Error => Object.assign(new Error(`fake ${code}`), { code });

  // DNS failures are mapped here, from the errors Node raises, rather than by resolving a name in a test:
  // tests must not depend on (or reach) a DNS server.
  it.each(['ENOTFOUND', 'EAI_AGAIN'])('%s is an unreachable host name', (code) => {
    const err = networkError(errno(code), url, 'https://models.example:8443/m.onnx');
    expect(err.reason).toBe('unreachable');
    expect(err.message).toContain('Cannot resolve the host "models.example"');
  });

  it('certificate problems are tls_error, not retryable', () => {
    for (const code of ['DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID']) {
      const err = networkError(errno(code), url, 'u');
      expect(err.reason).toBe('tls_error');
      expect(err.retryable).toBe(false);
    }
  });

  it('S3 service errors map by code and status', () => {
    const endpoint = new URL('http://minio:9000');
    const sdk = (name: string, status?: number): unknown =>
      Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
    const reason = (err: unknown): string => s3Error(err, 'b', 'k', endpoint, 's3://b/k').reason;
    expect(reason(sdk('NoSuchKey', 404))).toBe('not_found');
    expect(reason(sdk('NotFound', 404))).toBe('not_found');
    expect(reason(sdk('ExpiredToken', 400))).toBe('access_denied');
    expect(reason(sdk('Forbidden', 403))).toBe('access_denied');
    expect(reason(sdk('SlowDown', 503))).toBe('server_error');
    expect(reason(sdk('CredentialsProviderError'))).toBe('access_denied');
    expect(reason(errno('ECONNRESET'))).toBe('unreachable');
  });
});
