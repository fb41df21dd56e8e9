import { describe, expect, it } from '@jest/globals';
import { checkDigestPolicy } from './verify-model.js';

const SHA = 'ab'.repeat(32);

describe('checkDigestPolicy (--require-digest)', () => {
  it.each([
    'http://models.example/iris.onnx',
    'https://models.example/iris.onnx',
    's3://models/iris/1/model.onnx',
  ])('refuses %s without a sha256, saying what to set', (uri) => {
    expect(() => checkDigestPolicy(uri, undefined)).toThrow(
      expect.objectContaining({
        name: 'ModelFetchError',
        reason: 'digest_required',
        retryable: false,
        message: expect.stringMatching(
          /is remote \((http|https|s3)\) and has no sha256, which the digest policy requires .*MODELSHIP_REQUIRE_DIGEST.*nothing was downloaded.*MODELSHIP_MODEL_SHA256/,
        ),
      }),
    );
    expect(() => checkDigestPolicy(uri, '')).toThrow(/has no sha256/);
  });

  it('accepts remote URIs with a sha256, and local files and claims without one', () => {
    expect(() => checkDigestPolicy('https://models.example/iris.onnx', SHA)).not.toThrow();
    expect(() => checkDigestPolicy('s3://models/iris.onnx', SHA)).not.toThrow();
    for (const uri of [
      '/models/iris.onnx',
      './iris.onnx',
      'file:///models/iris.onnx',
      'pvc://claim/iris.onnx',
    ])
      expect(() => checkDigestPolicy(uri, undefined)).not.toThrow();
  });

  it('never shows credentials or a presigned query in its message', () => {
    let message = '';
    try {
      checkDigestPolicy('https://user:secret@models.example/iris.onnx?X-Amz-Signature=abc', undefined);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('https://REDACTED@models.example/iris.onnx?REDACTED');
    expect(message).not.toMatch(/secret|abc/);
  });

  it('leaves invalid URIs to the fetcher’s own error', () => {
    expect(() => checkDigestPolicy('gs://bucket/model.onnx', undefined)).toThrow(
      expect.objectContaining({ reason: 'unsupported_scheme' }),
    );
  });
});
