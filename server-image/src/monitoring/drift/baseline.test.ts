import { describe, expect, it } from '@jest/globals';
import { BaselineError, mismatches, numericBin, parseBaseline } from './baseline.js';

const numeric = (over: Record<string, unknown> = {}) => ({
  input: 'features',
  column: 0,
  kind: 'numeric',
  edges: [1, 2],
  frequencies: [0.25, 0.5, 0.25],
  ...over,
});
const doc = (features: unknown[], extra: Record<string, unknown> = {}) => ({
  version: 1,
  features,
  ...extra,
});

describe('parseBaseline', () => {
  it('reads numeric and categorical features, with default and given names', () => {
    const b = parseBaseline(
      doc(
        [
          numeric(),
          numeric({ column: 1, name: 'sepal_width' }),
          { input: 'color', kind: 'categorical', values: ['red', 'green'], frequencies: [0.5, 0.3, 0.2] },
        ],
        {
          outputs: [{ output: 'label', kind: 'categorical', values: ['0', '1'], frequencies: [0.5, 0.5, 0] }],
        },
      ),
    );
    expect(b.features.map((f) => f.name)).toEqual(['features[0]', 'sepal_width', 'color']);
    expect(b.features[2]).toMatchObject({ kind: 'categorical', tensor: 'color', values: ['red', 'green'] });
    expect(b.features[2]!.column).toBeUndefined();
    expect(b.outputs).toEqual([
      { name: 'label', tensor: 'label', kind: 'categorical', values: ['0', '1'], frequencies: [0.5, 0.5, 0] },
    ]);
  });

  it.each([
    [{ version: 2, features: [numeric()] }, /^version: must be 1, got 2/],
    [{ version: 1 }, /^features: must be a non-empty array/],
    [doc([numeric({ input: '' })]), /^features\[0\]\.input: /],
    [doc([numeric({ column: -1 })]), /^features\[0\]\.column: must be an integer >= 0/],
    [
      doc([numeric({ kind: 'ordinal' })]),
      /^features\[0\]\.kind: must be "numeric" or "categorical", got "ordinal"/,
    ],
    [doc([numeric({ edges: [] })]), /^features\[0\]\.edges: must be an array/],
    [doc([numeric({ edges: [2, 1] })]), /^features\[0\]\.edges\[1\]: edges must be strictly ascending/],
    [doc([numeric({ edges: [1, 'x'] })]), /^features\[0\]\.edges\[1\]: must be a finite number/],
    [
      doc([numeric({ frequencies: [0.5, 0.5] })]),
      /^features\[0\]\.frequencies: must be an array of 3 numbers/,
    ],
    [
      doc([numeric({ frequencies: [0.5, 0.5, 0.5] })]),
      /^features\[0\]\.frequencies: must sum to 1, they sum to 1\.5/,
    ],
    [
      doc([numeric({ frequencies: [1.5, -0.5, 0] })]),
      /^features\[0\]\.frequencies\[1\]: must be a fraction >= 0/,
    ],
    [doc([numeric(), numeric()]), /^features\[1\]\.name: "features\[0\]" is used by an earlier entry/],
    [
      doc([{ input: 'c', kind: 'categorical', values: ['a', 'a'], frequencies: [0.5, 0.5, 0] }]),
      /^features\[0\]\.values\[1\]: "a" is listed twice/,
    ],
    [
      doc([{ input: 'c', kind: 'categorical', values: ['a'], frequencies: [1] }]),
      /^features\[0\]\.frequencies: must be an array of 2 numbers \(values\.length \+ 1, the last for "other"\)/,
    ],
    [doc([numeric()], { outputs: [numeric()] }), /^outputs\[0\]\.output: /],
  ])('refuses a bad baseline, naming the field (%#)', (bad, message) => {
    expect(() => parseBaseline(bad)).toThrow(BaselineError);
    expect(() => parseBaseline(bad)).toThrow(message);
  });
});

describe('numericBin', () => {
  it('closes bins on the right: (-inf, e0], (e0, e1], (e1, +inf); NaN is no bin', () => {
    const edges = [1, 2];
    expect([-Infinity, 0, 1, 1.0001, 2, 2.5, Infinity].map((v) => numericBin(edges, v))).toEqual([
      0, 0, 0, 1, 1, 2, 2,
    ]);
    expect(numericBin(edges, NaN)).toBe(-1);
  });
});

describe('mismatches', () => {
  it('names entries whose tensor the model lacks or whose column is beyond its fixed width', () => {
    const b = parseBaseline(doc([numeric(), numeric({ column: 4 }), numeric({ input: 'other' })]));
    const problems = mismatches(b, { inputs: [{ name: 'features', shape: [-1, 4] }], outputs: [] });
    expect(problems).toEqual([
      `features[4]: column 4 is beyond input "features"'s 4 columns`,
      'other[0]: the model has no input named "other" (it has features)',
    ]);
  });
});
