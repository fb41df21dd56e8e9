import { describe, expect, it } from '@jest/globals';
import type { Tensor } from '../../protocol/v2/types.js';
import { parseBaseline } from './baseline.js';
import { DriftTracker } from './tracker.js';

const baseline = parseBaseline({
  version: 1,
  features: [
    { input: 'x', column: 0, kind: 'numeric', edges: [0], frequencies: [0.5, 0.5] },
    { input: 'x', column: 1, name: 'second', kind: 'numeric', edges: [0, 10], frequencies: [0.2, 0.6, 0.2] },
    { input: 'color', kind: 'categorical', values: ['red', 'blue'], frequencies: [0.5, 0.5, 0] },
    { input: 'code', kind: 'categorical', values: ['1', '2'], frequencies: [0.5, 0.5, 0] },
  ],
  outputs: [{ output: 'label', kind: 'categorical', values: ['0', '1'], frequencies: [0.5, 0.5, 0] }],
});
const fp32 = (name: string, shape: number[], values: number[]): Tensor => ({
  name,
  datatype: 'FP32',
  shape,
  data: Float32Array.from(values),
});

describe('DriftTracker', () => {
  it('bins the columns of [N, F] rows, whole tensors without a column, categorical values by string', () => {
    const t = new DriftTracker(baseline, 60_000);
    t.observe(
      0,
      [
        fp32('x', [3, 2], [-1, 5, 1, 20, 2, NaN]),
        { name: 'color', datatype: 'BYTES', shape: [3], data: ['red', 'red', 'green'] },
        { name: 'code', datatype: 'INT64', shape: [3, 1], data: BigInt64Array.from([1n, 2n, 2n]) },
        fp32('unwatched', [1], [0]),
      ],
      [{ name: 'label', datatype: 'INT64', shape: [3], data: BigInt64Array.from([1n, 1n, 1n]) }],
    );
    const s = t.snapshot(0);
    expect(s.samples).toBe(3);
    const byName = Object.fromEntries(s.features.map((f) => [f.name, f]));
    // x[0]: -1 | 1, 2 against 0.5 / 0.5
    expect(byName['x[0]']!.samples).toBe(3);
    const a0 = 1 / 3;
    const a1 = 2 / 3;
    expect(byName['x[0]']!.psi).toBeCloseTo(
      (a0 - 0.5) * Math.log(a0 / 0.5) + (a1 - 0.5) * Math.log(a1 / 0.5),
      12,
    );
    // second: 5, 20 (NaN not counted): bins 1 and 2.
    expect(byName.second!.samples).toBe(2);
    expect(byName.color!.samples).toBe(3);
    expect(byName.code!.samples).toBe(3);
    expect(s.outputs[0]).toMatchObject({ name: 'label', samples: 3 });
  });

  it('reads a 1-D tensor as one row when the feature has a column', () => {
    const t = new DriftTracker(baseline, 60_000);
    t.observe(0, [fp32('x', [2], [3, 4])], undefined);
    const s = t.snapshot(0);
    expect(s.samples).toBe(1);
    expect(s.features.find((f) => f.name === 'second')!.samples).toBe(1);
  });

  it('has no PSI without samples, and forgets samples once the window has passed', () => {
    const t = new DriftTracker(baseline, 60_000, 60);
    expect(t.snapshot(0).features.every((f) => f.psi === undefined && f.samples === 0)).toBe(true);
    t.observe(0, [fp32('x', [1, 2], [1, 1])], undefined);
    expect(t.snapshot(59_999).samples).toBe(1);
    expect(t.snapshot(60_000).samples).toBe(0);
    expect(t.snapshot(60_000).features[0]!.psi).toBeUndefined();
  });

  it('skips what it cannot bin: strings on a numeric feature, columns the tensor lacks', () => {
    const t = new DriftTracker(baseline, 60_000);
    t.observe(0, [{ name: 'x', datatype: 'BYTES', shape: [1, 2], data: ['a', 'b'] }], undefined);
    t.observe(0, [fp32('x', [2, 1], [1, 2])], undefined);
    const s = t.snapshot(0);
    expect(s.features.find((f) => f.name === 'second')!.samples).toBe(0);
    expect(s.features.find((f) => f.name === 'x[0]')!.samples).toBe(2);
  });
});
