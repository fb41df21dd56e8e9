import { describe, expect, it } from '@jest/globals';
import type { Tensor } from '../protocol/v2/types.js';
import { predictionOf, score, type Prediction } from './prediction.js';

const t = (datatype: Tensor['datatype'], shape: number[], data: Tensor['data']): Tensor => ({
  name: 'out',
  datatype,
  shape,
  data,
});

describe('predictionOf', () => {
  it('reads float scores [N,K] as the argmax class per row (NaN never wins, the first of equals does)', () => {
    const p = predictionOf(t('FP32', [3, 3], Float32Array.from([0.1, 0.7, 0.2, NaN, 0.1, 0.3, 0.5, 0.5, 0])));
    expect(p).toEqual({ kind: 'classification', classes: [1, 2, 0] });
  });

  it.each([
    ['[N]', [2], [1.5, -2]],
    ['[N,1]', [2, 1], [1.5, -2]],
    ['a scalar', [], [3]],
  ])('reads float %s as a regression', (_name, shape, values) => {
    const p = predictionOf(t('FP64', shape, Float64Array.from(values)));
    expect(p).toEqual({ kind: 'regression', values: Float64Array.from(values) });
  });

  it('reads integer, BOOL and BYTES outputs as labels, copied out of the tensor', () => {
    const data = BigInt64Array.from([2n, 0n]);
    const p = predictionOf(t('INT64', [2], data));
    data[0] = 9n;
    expect(p).toEqual({ kind: 'classification', classes: [2, 0] });
    expect(predictionOf(t('BOOL', [2, 1], Uint8Array.from([1, 0])))).toEqual({
      kind: 'classification',
      classes: [true, false],
    });
    expect(predictionOf(t('BYTES', [2], ['cat', 'dog']))).toEqual({
      kind: 'classification',
      classes: ['cat', 'dog'],
    });
  });

  it('says why an output cannot be scored', () => {
    expect(predictionOf(t('INT32', [2, 2], Int32Array.from([1, 2, 3, 4])))).toMatch(
      /one INT32 label per row/,
    );
    expect(predictionOf(t('FP32', [1, 2, 2], new Float32Array(4)))).toMatch(/\[N\], \[N,1\] or \[N,K\]/);
  });
});

describe('score', () => {
  it('counts correct classes', () => {
    expect(score({ kind: 'classification', classes: [1, 2, 0] }, [1, 0, 0], 'labels')).toEqual({
      kind: 'classification',
      rows: 3,
      correct: 2,
    });
  });

  it('sums absolute and squared errors', () => {
    expect(score({ kind: 'regression', values: Float64Array.from([1, 4]) }, [2, 1], 'labels')).toEqual({
      kind: 'regression',
      rows: 2,
      absoluteError: 4,
      squaredError: 10,
    });
  });

  it('names the field that is wrong', () => {
    const classes: Prediction = { kind: 'classification', classes: [1, 2] };
    expect(score(classes, [1], 'feedback[1].labels')).toBe(
      'feedback[1].labels has 1 value(s) but the prediction has 2 row(s)',
    );
    expect(score(classes, [1, 'two'], 'labels')).toBe(
      'labels[1] must be a number (the model predicts a class index), got "two"',
    );
    expect(score(classes, [1], 'label', true)).toMatch(/^label is one value but the prediction has 2 rows/);
    expect(score({ kind: 'regression', values: Float64Array.from([1]) }, [null], 'label', true)).toBe(
      'label must be a finite number (the model predicts a value), got null',
    );
  });
});
