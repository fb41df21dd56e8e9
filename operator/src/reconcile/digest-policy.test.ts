import { describe, expect, it } from '@jest/globals';
import type { ModelSpec } from '../api/v1alpha1/schema.js';
import { digestRefusal, isNewRefusal, refusedStatus } from './digest-policy.js';

const model = (storageUri: string, extra: Partial<ModelSpec> = {}): ModelSpec => ({
  version: '2',
  storageUri,
  ...extra,
});

describe('digestRefusal', () => {
  it.each(['https://models.example.com/m.onnx', 'http://store/m.onnx', 's3://bucket/m.onnx'])(
    'refuses %s without sha256 under --require-model-digest, saying how to fix it',
    (uri) => {
      expect(digestRefusal(model(uri), true)).toBe(
        `version 2 is not rolled out: ${uri} has no sha256 and the operator requires a sha256 for every remote model (--require-model-digest); set spec.model.sha256`,
      );
    },
  );

  it('refuses under spec.model.requireDigest alone, naming it', () => {
    expect(digestRefusal(model('s3://b/m.onnx', { requireDigest: true }), false)).toMatch(
      /spec\.model\.requireDigest is set/,
    );
  });

  it.each([
    ['a remote model with sha256', model('https://m/m.onnx', { sha256: 'a'.repeat(64) }), true],
    ['a file model', model('file:///models/m.onnx'), true],
    ['a pvc model', model('pvc://claim/m.onnx'), true],
    ['a remote model without the policy', model('https://m/m.onnx'), false],
  ])('lets %s through', (_what, m, required) => {
    expect(digestRefusal(m, required)).toBeUndefined();
  });

  it('never repeats a presigned URL’s query', () => {
    const message = digestRefusal(model('https://b.s3.amazonaws.com/m.onnx?X-Amz-Signature=secret#x'), true)!;
    expect(message).toContain('https://b.s3.amazonaws.com/m.onnx has no sha256');
    expect(message).not.toContain('secret');
  });
});

describe('refusedStatus', () => {
  const now = '2026-12-02T10:00:00.000Z';
  const types = (s: ReturnType<typeof refusedStatus>) =>
    Object.fromEntries(s.conditions!.map((c) => [c.type, [c.status, c.reason]]));

  it('with nothing serving: Failed, Ready False and Stalled, with the reason and message', () => {
    const s = refusedStatus(undefined, 'why', false, 4, now);
    expect(s.phase).toBe('Failed');
    expect(s.observedGeneration).toBe(4);
    expect(types(s)).toEqual({
      Ready: ['False', 'DigestRequired'],
      Progressing: ['False', 'DigestRequired'],
      Reconciling: ['False', 'DigestRequired'],
      Stalled: ['True', 'DigestRequired'],
    });
    expect(s.conditions!.every((c) => c.message === 'why')).toBe(true);
  });

  it('with an earlier revision serving: Degraded, its Ready left alone', () => {
    const serving = {
      phase: 'Ready' as const,
      conditions: [
        { type: 'Ready', status: 'True' as const, reason: 'Serving', message: 'ok', lastTransitionTime: now },
      ],
    };
    const s = refusedStatus(serving, 'why', true, 5, now);
    expect(s.phase).toBe('Degraded');
    expect(types(s)).toMatchObject({ Ready: ['True', 'Serving'], Degraded: ['True', 'DigestRequired'] });
  });

  it('is news only until the status says it', () => {
    expect(isNewRefusal(undefined, 'why')).toBe(true);
    const said = refusedStatus(undefined, 'why', false, 1, now);
    expect(isNewRefusal(said, 'why')).toBe(false);
    expect(isNewRefusal(said, 'another reason')).toBe(true);
  });
});
