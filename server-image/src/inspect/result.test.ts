import { describe, expect, it } from '@jest/globals';
import type { TensorSpec } from '../protocol/v2/types.js';
import {
  fitTerminationMessage,
  TERMINATION_MESSAGE_LIMIT,
  type InspectFailure,
  type InspectSuccess,
} from './result.js';

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');
const tensors = (n: number, prefix: string): TensorSpec[] =>
  Array.from({ length: n }, (_, i) => ({
    name: `${prefix}_${i}`.padEnd(40, 'x'),
    datatype: 'FP32',
    shape: [-1, i],
  }));

const success = (inputs: number, outputs: number): InspectSuccess => ({
  ok: true,
  signature: { inputs: tensors(inputs, 'in'), outputs: tensors(outputs, 'out') },
  sha256: 'ab'.repeat(32),
  bytes: 1234,
  loadMs: 12,
  warmupMs: 3,
  holdout: { task: 'classification', output: 'label', rows: 150, accuracy: 0.96 },
});

describe('fitTerminationMessage', () => {
  it('leaves a result that fits as it is', () => {
    const r = success(2, 2);
    expect(fitTerminationMessage(r)).toBe(JSON.stringify(r));
  });

  it('cuts signature outputs first, keeping a prefix, the totals, the digest and the score', () => {
    const r = success(3, 200);
    const text = fitTerminationMessage(r);
    expect(bytes(text)).toBeLessThanOrEqual(TERMINATION_MESSAGE_LIMIT);
    const fitted = JSON.parse(text) as InspectSuccess;
    expect(fitted).toMatchObject({
      ok: true,
      truncated: true,
      sha256: r.sha256,
      holdout: r.holdout,
      loadMs: 12,
    });
    expect(fitted.signature.inputs).toEqual(r.signature.inputs);
    expect(fitted.signature).toMatchObject({ inputCount: 3, outputCount: 200 });
    const kept = fitted.signature.outputs.length;
    expect(kept).toBeGreaterThan(10);
    expect(fitted.signature.outputs).toEqual(r.signature.outputs.slice(0, kept));
    // As many as fit: one more would not.
    const more = {
      ...fitted,
      signature: { ...fitted.signature, outputs: r.signature.outputs.slice(0, kept + 1) },
    };
    expect(bytes(JSON.stringify(more))).toBeGreaterThan(TERMINATION_MESSAGE_LIMIT);
  });

  it('then inputs', () => {
    const r = success(500, 500);
    const fitted = JSON.parse(fitTerminationMessage(r)) as InspectSuccess;
    expect(fitted.signature.outputs).toEqual([]);
    expect(fitted.signature.inputs).toEqual(r.signature.inputs.slice(0, fitted.signature.inputs.length));
    expect(fitted.signature).toMatchObject({ inputCount: 500, outputCount: 500 });
  });

  it("then the holdout output's name; a single enormous tensor name goes with its list", () => {
    const r = success(1, 1);
    r.holdout = { task: 'regression', output: 'y'.repeat(5000), rows: 3, rmse: 0.5 };
    const fitted = JSON.parse(fitTerminationMessage(r)) as InspectSuccess;
    expect(fitted.holdout).toEqual({ task: 'regression', rows: 3, rmse: 0.5 });
    r.signature.inputs = [{ name: 'i'.repeat(5000), datatype: 'FP32', shape: [1] }];
    r.holdout = undefined;
    r.sha256 = 'cd'.repeat(32);
    const cut = JSON.parse(fitTerminationMessage(r)) as InspectSuccess;
    expect(cut).toMatchObject({ ok: true, sha256: r.sha256, truncated: true });
    expect(cut.signature).toEqual({ inputs: [], outputs: [], inputCount: 1, outputCount: 1 });
  });

  it("cuts a failure's reason on a character boundary, multi-byte characters included", () => {
    const reason = 'é😀中'.repeat(2000);
    const r: InspectFailure = { ok: false, stage: 'model', code: 'invalid_model', reason };
    const text = fitTerminationMessage(r);
    expect(bytes(text)).toBeLessThanOrEqual(TERMINATION_MESSAGE_LIMIT);
    expect(bytes(text)).toBeGreaterThan(TERMINATION_MESSAGE_LIMIT - 8);
    const fitted = JSON.parse(text) as InspectFailure;
    expect(fitted).toMatchObject({ ok: false, stage: 'model', code: 'invalid_model', truncated: true });
    expect(fitted.reason.endsWith('…')).toBe(true);
    expect(reason.startsWith(fitted.reason.slice(0, -1))).toBe(true);
    expect(fitted.reason).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/); // no lone high surrogate
  });

  it('always returns JSON within the limit, whatever the sizes', () => {
    let seed = 1;
    const random = (n: number) => ((seed = (seed * 48271) % 2147483647), seed % n);
    for (let i = 0; i < 200; i++) {
      const limit = 256 + random(6000);
      const r = success(random(300), random(300));
      const text = fitTerminationMessage(r, limit);
      expect(bytes(text)).toBeLessThanOrEqual(limit);
      expect(JSON.parse(text)).toMatchObject({ ok: true, sha256: r.sha256 });
      const f: InspectFailure = {
        ok: false,
        stage: 'holdout',
        code: 'invalid_holdout',
        reason: '"\\\n'.repeat(random(4000)),
      };
      const failed = fitTerminationMessage(f, limit);
      expect(bytes(failed)).toBeLessThanOrEqual(limit);
      expect(JSON.parse(failed)).toMatchObject({ ok: false, code: 'invalid_holdout' });
    }
  });

  it('refuses a limit too small to hold any result', () => {
    expect(() => fitTerminationMessage(success(1, 1), 100)).toThrow(/limit must be >= 256/);
  });
});
