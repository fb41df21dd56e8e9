import { describe, expect, it } from '@jest/globals';
import type { ModelSignature, Tensor } from '../protocol/v2/types.js';
import { checkHoldout, holdoutRows, parseHoldoutSpec, scoreHoldout, type HoldoutSpec } from './holdout.js';

const signature: ModelSignature = {
  inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }],
  outputs: [
    { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
    { name: 'label', datatype: 'INT64', shape: [-1] },
    { name: 'name', datatype: 'BYTES', shape: [-1] },
    { name: 'flag', datatype: 'BOOL', shape: [-1] },
    { name: 'half', datatype: 'FP16', shape: [-1] },
  ],
};

const features = (rows: number): Tensor => ({
  name: 'features',
  datatype: 'FP32',
  shape: [rows, 4],
  data: new Float32Array(rows * 4),
});

describe('parseHoldoutSpec', () => {
  it('reads output, labels and task (classification by default)', () => {
    expect(parseHoldoutSpec({ inputs: [], output: 'label', labels: [0, 1] })).toEqual({
      output: 'label',
      task: 'classification',
      labels: [0, 1],
    });
    expect(parseHoldoutSpec({ inputs: [], output: 'y', labels: [0.5], task: 'regression' })).toMatchObject({
      task: 'regression',
    });
  });

  it.each([
    [null, /must be a JSON object with "inputs", "output" and "labels"/],
    [[1, 2], /must be a JSON object/],
    [{ output: 'label', labels: [1], tasks: 'regression' }, /unknown key "tasks"; a holdout has/],
    [{ output: 'label', labels: [1], id: 'x', parameters: {} }, /unknown keys "id", "parameters"/],
    [{ labels: [1] }, /"output" must name one of the model's outputs, got nothing/],
    [{ output: '', labels: [1] }, /"output" must name one of the model's outputs, got ""/],
    [
      { output: 'label', labels: [1], task: 'ranking' },
      /"task" must be "classification" or "regression", got "ranking"/,
    ],
    [{ output: 'label' }, /"labels" must be a non-empty array, one label per row, got nothing/],
    [{ output: 'label', labels: [] }, /"labels" must be a non-empty array/],
    [{ output: 'label', labels: { 0: 1 } }, /"labels" must be a non-empty array/],
    [
      { output: 'label', labels: [1, 'a'] },
      /labels\[1\] is a string but labels\[0\] is a number; use one kind/,
    ],
    [{ output: 'label', labels: [1, null] }, /labels\[1\] is null; labels are numbers, strings or booleans/],
    [{ output: 'label', labels: [[1]] }, /labels\[0\] is \[1\]; labels are numbers/],
    [{ output: 'y', labels: [1, '2'], task: 'regression' }, /labels\[1\] is "2"; a regression needs numbers/],
  ])('rejects %j', (doc, message) => {
    expect(() => parseHoldoutSpec(doc)).toThrow(message);
  });
});

describe('holdoutRows', () => {
  it('is the first dimension every input shares', () => {
    expect(holdoutRows([features(5), { ...features(5), name: 'b' }])).toBe(5);
  });

  it.each([
    [
      [features(4), { ...features(3), name: 'b' }],
      /input 'b' has 3 rows \(shape \[3, 4\]\) but input 'features' has 4/,
    ],
    [
      [{ ...features(1), shape: [] }],
      /input 'features' is a scalar; every input needs a first dimension of rows/,
    ],
    [[features(0)], /the inputs have no rows/],
    [[], /there are no inputs/],
  ])('refuses %#', (inputs, message) => {
    expect(() => holdoutRows(inputs)).toThrow(message);
  });
});

describe('checkHoldout', () => {
  const spec = (
    labels: HoldoutSpec['labels'],
    output = 'label',
    task: HoldoutSpec['task'] = 'classification',
  ) => ({
    output,
    task,
    labels,
  });

  it('accepts labels that fit the output', () => {
    expect(() => checkHoldout(spec([0, 1]), signature, 2)).not.toThrow();
    expect(() => checkHoldout(spec(['a'], 'name'), signature, 1)).not.toThrow();
    expect(() => checkHoldout(spec([true], 'flag'), signature, 1)).not.toThrow();
    expect(() => checkHoldout(spec([0.5], 'half', 'regression'), signature, 1)).not.toThrow();
  });

  it.each([
    [spec([0, 1, 2]), 4, 'labels has 3 rows, inputs 4'],
    [
      spec([0], 'score'),
      1,
      `"output" is 'score', which the model does not have; its outputs are 'probabilities', 'label', 'name', 'flag', 'half'`,
    ],
    [spec(['setosa']), 1, "output 'label' is INT64 but the labels are strings"],
    [spec([1], 'name'), 1, "output 'name' is BYTES but the labels are numbers"],
    [spec([1], 'flag'), 1, "output 'flag' is BOOL but the labels are numbers"],
    [spec([true]), 1, "output 'label' is INT64 but the labels are booleans"],
    [
      spec(['x'], 'name', 'regression'),
      1,
      "output 'name' is BYTES but the labels are strings; a regression needs a numeric output",
    ],
  ])('refuses %j with %d rows', (s, rows, message) => {
    expect(() => checkHoldout(s, signature, rows)).toThrow(message);
  });
});

describe('scoreHoldout', () => {
  const classify = (labels: HoldoutSpec['labels'], output = 'label'): HoldoutSpec => ({
    output,
    task: 'classification',
    labels,
  });

  it('accuracy on an INT64 output (bigints) against number labels', () => {
    const out: Tensor = {
      name: 'label',
      datatype: 'INT64',
      shape: [4],
      data: BigInt64Array.of(0n, 2n, 1n, 1n),
    };
    expect(scoreHoldout(classify([0, 2, 2, 1]), out)).toEqual({
      task: 'classification',
      output: 'label',
      rows: 4,
      accuracy: 0.75,
    });
  });

  it('accuracy on string, boolean, FP16 and [N, 1] outputs', () => {
    const names: Tensor = { name: 'name', datatype: 'BYTES', shape: [2], data: ['a', 'b'] };
    expect(scoreHoldout(classify(['a', 'c'], 'name'), names)).toMatchObject({ accuracy: 0.5 });
    const flags: Tensor = { name: 'flag', datatype: 'BOOL', shape: [3], data: Uint8Array.of(1, 0, 2) };
    expect(scoreHoldout(classify([true, false, true], 'flag'), flags)).toMatchObject({ accuracy: 1 });
    // 0x3c00 = 1.0, 0x4000 = 2.0 in half precision.
    const half: Tensor = {
      name: 'half',
      datatype: 'FP16',
      shape: [2, 1],
      data: Uint16Array.of(0x3c00, 0x4000),
    };
    expect(scoreHoldout(classify([1, 1], 'half'), half)).toMatchObject({ rows: 2, accuracy: 0.5 });
  });

  it('a bigint never equals a fractional or unsafe label', () => {
    const out: Tensor = {
      name: 'label',
      datatype: 'INT64',
      shape: [2],
      data: BigInt64Array.of(1n, 2n ** 60n),
    };
    expect(scoreHoldout(classify([1.5, 2 ** 60]), out)).toMatchObject({ accuracy: 0 });
  });

  it('RMSE for a regression', () => {
    const out: Tensor = { name: 'y', datatype: 'FP64', shape: [4, 1], data: Float64Array.of(1, 2, 3, 4) };
    const score = scoreHoldout({ output: 'y', task: 'regression', labels: [1, 2, 3, 6] }, out);
    expect(score).toMatchObject({ task: 'regression', output: 'y', rows: 4 });
    expect((score as { rmse: number }).rmse).toBeCloseTo(1, 12); // sqrt((0 + 0 + 0 + 4) / 4)
  });

  it('refuses an output without one value per row, and non-finite regression outputs', () => {
    const probabilities: Tensor = {
      name: 'probabilities',
      datatype: 'FP32',
      shape: [2, 3],
      data: new Float32Array(6),
    };
    expect(() => scoreHoldout(classify([0, 1], 'probabilities'), probabilities)).toThrow(
      "output 'probabilities' has 6 values for 2 rows (shape [2, 3]); name an output with one value per row",
    );
    const y: Tensor = { name: 'y', datatype: 'FP32', shape: [2], data: Float32Array.of(1, NaN) };
    expect(() => scoreHoldout({ output: 'y', task: 'regression', labels: [1, 1] }, y)).toThrow(
      "output 'y' is NaN at row 1",
    );
  });
});
