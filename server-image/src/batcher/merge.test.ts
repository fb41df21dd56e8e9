import { describe, expect, it } from '@jest/globals';
import type { Tensor } from '../protocol/v2/types.js';
import { batchKey, batchRows, mergeInputs, splitOutputs } from './merge.js';

const f32 = (name: string, shape: number[], values: number[]): Tensor => ({
  name,
  datatype: 'FP32',
  shape,
  data: Float32Array.from(values),
});

describe('batchRows', () => {
  it.each([
    ['one input', [f32('a', [3, 2], [1, 2, 3, 4, 5, 6])], 3],
    ['inputs agreeing', [f32('a', [2, 1], [1, 2]), f32('b', [2, 2], [1, 2, 3, 4])], 2],
    ['inputs disagreeing', [f32('a', [2, 1], [1, 2]), f32('b', [1, 1], [1])], undefined],
    ['a scalar', [f32('a', [], [1])], undefined],
    ['no inputs', [], undefined],
  ])('%s', (_name, inputs, rows) => {
    expect(batchRows(inputs)).toBe(rows);
  });
});

describe('batchKey', () => {
  it.each([
    [[f32('a', [1, 4], [0, 0, 0, 0])], [f32('a', [7, 4], Array(28).fill(0))], true],
    [[f32('a', [1, 4], [0, 0, 0, 0])], [f32('a', [1, 2, 2], [0, 0, 0, 0])], false],
    [
      [f32('a', [1, 4], [0, 0, 0, 0])],
      [{ ...f32('a', [1, 4], [0, 0, 0, 0]), datatype: 'FP64' as const }],
      false,
    ],
  ])('equal keys exactly when datatypes and trailing dims match (%#)', (x, y, same) => {
    expect(batchKey(x) === batchKey(y)).toBe(same);
  });
  it('reads like the dims', () => {
    expect(
      batchKey([
        f32('a', [3, 4], Array(12).fill(0)),
        { name: 'b', datatype: 'INT64', shape: [3], data: new BigInt64Array(3) },
      ]),
    ).toBe('FP32[4]|INT64[]');
  });
});

describe('mergeInputs and splitOutputs', () => {
  it('concatenates along dimension 0, request after request, and splits back by rows', () => {
    const merged = mergeInputs([
      [f32('a', [1, 2], [1, 2]), { name: 's', datatype: 'BYTES', shape: [1], data: ['x'] }],
      [f32('a', [2, 2], [3, 4, 5, 6]), { name: 's', datatype: 'BYTES', shape: [2], data: ['y', 'z'] }],
    ]);
    expect(merged[0]).toEqual(f32('a', [3, 2], [1, 2, 3, 4, 5, 6]));
    expect(merged[1]).toEqual({ name: 's', datatype: 'BYTES', shape: [3], data: ['x', 'y', 'z'] });

    const parts = splitOutputs(merged, [1, 2]);
    expect(parts).toEqual([
      [f32('a', [1, 2], [1, 2]), { name: 's', datatype: 'BYTES', shape: [1], data: ['x'] }],
      [f32('a', [2, 2], [3, 4, 5, 6]), { name: 's', datatype: 'BYTES', shape: [2], data: ['y', 'z'] }],
    ]);
  });

  it('keeps the typed array type (BigInt64Array stays BigInt64Array)', () => {
    const t = (v: bigint[]): Tensor => ({
      name: 'i',
      datatype: 'INT64',
      shape: [v.length],
      data: BigInt64Array.from(v),
    });
    const merged = mergeInputs([[t([1n])], [t([2n, 3n])]]);
    expect(merged[0]!.data).toEqual(BigInt64Array.from([1n, 2n, 3n]));
  });

  it('a single request passes through untouched', () => {
    const only = [f32('a', [1, 1], [9])];
    expect(mergeInputs([only])[0]).toBe(only[0]);
  });

  it('split outputs are views, not copies', () => {
    const out = f32('y', [3, 1], [1, 2, 3]);
    const [, second] = splitOutputs([out], [1, 2]);
    expect((second![0]!.data as Float32Array).buffer).toBe((out.data as Float32Array).buffer);
  });

  it('refuses outputs whose first dimension is not the batch', () => {
    expect(() => splitOutputs([f32('y', [2, 1], [1, 2])], [1, 2])).toThrow(
      /first dimension 2, not the batch size 3/,
    );
  });
});
