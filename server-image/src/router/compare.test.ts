import { describe, expect, it } from '@jest/globals';
import { bodyBytes, encodeInferResponse } from '../protocol/v2/encode.js';
import type { Tensor } from '../protocol/v2/types.js';
import { compareAnswers, type Answer } from './compare.js';

const tolerance = { absolute: 1e-6, relative: 1e-4 };

/** An answer as the model server writes it (its own encoder), all JSON or all binary. */
function answer(outputs: Tensor[], binary = false): Answer {
  const e = encodeInferResponse(
    'm',
    '1',
    undefined,
    { outputs },
    outputs.map((t) => ({ name: t.name, binary })),
  );
  return { body: bodyBytes(e), headerLength: e.headerLength };
}
const json = (o: object): Answer => ({ body: Buffer.from(JSON.stringify(o)) });

const fp32 = (name: string, shape: number[], data: number[]): Tensor => ({
  name,
  datatype: 'FP32',
  shape,
  data: new Float32Array(data),
});
const int64 = (name: string, data: number[]): Tensor => ({
  name,
  datatype: 'INT64',
  shape: [data.length],
  data: BigInt64Array.from(data.map(BigInt)),
});
const strings = (name: string, data: string[]): Tensor => ({
  name,
  datatype: 'BYTES',
  shape: [data.length],
  data,
});
const bools = (name: string, data: boolean[]): Tensor => ({
  name,
  datatype: 'BOOL',
  shape: [data.length],
  data: Uint8Array.from(data.map(Number)),
});
const fp16 = (name: string, bits: number[]): Tensor => ({
  name,
  datatype: 'FP16',
  shape: [bits.length],
  data: Uint16Array.from(bits),
});

const scores = [0.1, 0.7, 0.2, 0.5, 0.3, 0.2];

describe('compareAnswers', () => {
  it.each<[string, Tensor[], Tensor[]]>([
    [
      'identical class scores and labels',
      [fp32('p', [2, 3], scores), int64('label', [1, 0])],
      [fp32('p', [2, 3], scores), int64('label', [1, 0])],
    ],
    [
      'class scores that differ but pick the same classes',
      [fp32('p', [2, 3], scores)],
      [fp32('p', [2, 3], [0.3, 0.4, 0.3, 0.9, 0, 0.1])],
    ],
    [
      'regression values within the relative tolerance',
      [fp32('y', [2], [1000, -2])],
      [fp32('y', [2], [1000.09, -2.0001])],
    ],
    ['tiny values within the absolute tolerance', [fp32('y', [1, 1], [0])], [fp32('y', [1, 1], [5e-7])]],
    [
      'a single score column, compared as numbers',
      [fp32('y', [3, 1], [1, 2, 3])],
      [fp32('y', [3, 1], [1, 2, 3])],
    ],
    ['NaN against NaN', [fp32('y', [2], [NaN, 1])], [fp32('y', [2], [NaN, 1])]],
    ['equal strings', [strings('s', ['cat', 'chat'])], [strings('s', ['cat', 'chat'])]],
    ['equal booleans', [bools('b', [true, false])], [bools('b', [true, false])]],
    [
      'only the outputs present in both',
      [int64('label', [2]), fp32('extra', [1], [1])],
      [int64('label', [2]), int64('other', [9])],
    ],
  ])('agrees on %s', (_what, live, shadow) => {
    expect(compareAnswers(answer(live), answer(shadow), tolerance)).toEqual({ result: 'agree' });
    // The same in binary tensors, and across the two forms.
    expect(compareAnswers(answer(live, true), answer(shadow, true), tolerance)).toEqual({ result: 'agree' });
    expect(compareAnswers(answer(live), answer(shadow, true), tolerance)).toEqual({ result: 'agree' });
    expect(compareAnswers(answer(live, true), answer(shadow), tolerance)).toEqual({ result: 'agree' });
  });

  it.each<[string, Tensor[], Tensor[], RegExp]>([
    [
      'a row predicting another class',
      [fp32('p', [2, 3], scores)],
      [fp32('p', [2, 3], [0.1, 0.7, 0.2, 0.2, 0.3, 0.5])],
      /output p: row 1 predicts class 2 instead of 0/,
    ],
    [
      'a label',
      [int64('label', [1, 0])],
      [int64('label', [1, 2])],
      /output label: element 1 is 2 instead of 0/,
    ],
    [
      'a value beyond the tolerance',
      [fp32('y', [2], [1000, 1])],
      [fp32('y', [2], [1000.2, 1])],
      /output y: element 0 is 1000.2\d* instead of 1000/,
    ],
    ['NaN against a number', [fp32('y', [1], [1])], [fp32('y', [1], [NaN])], /element 0 is NaN instead of 1/],
    [
      'a shape',
      [fp32('p', [2, 3], scores)],
      [fp32('p', [3, 2], scores)],
      /output p: shape \[3,2\] instead of \[2,3\]/,
    ],
    [
      'a datatype kind',
      [fp32('y', [2], [1, 2])],
      [int64('y', [1, 2])],
      /output y: datatype INT64 instead of FP32/,
    ],
    ['a string', [strings('s', ['cat'])], [strings('s', ['dog'])], /element 0 is dog instead of cat/],
    ['a boolean', [bools('b', [true])], [bools('b', [false])], /element 0 is false instead of true/],
  ])('disagrees on %s', (_what, live, shadow, reason) => {
    for (const [l, s] of [
      [false, false],
      [true, true],
      [false, true],
    ])
      expect(compareAnswers(answer(live, l), answer(shadow, s), tolerance)).toEqual({
        result: 'disagree',
        reason: expect.stringMatching(reason),
      });
  });

  it('reads FP16 binary tensors (no JSON form)', () => {
    // 0x3c00 = 1.0, 0x3c01 = 1.0009765625: within a relative tolerance of 1e-3, not of 1e-4.
    const live = answer([fp16('h', [0x3c00])], true);
    const shadow = answer([fp16('h', [0x3c01])], true);
    expect(compareAnswers(live, shadow, { absolute: 0, relative: 1e-3 }).result).toBe('agree');
    expect(compareAnswers(live, shadow, tolerance).result).toBe('disagree');
  });

  it('uses the live value as the reference for the relative tolerance', () => {
    // |110.5 - 100| = 10.5: within 0.1 * 110.5 (live 110.5), not within 0.1 * 100 (live 100).
    const t = { absolute: 0, relative: 0.1 };
    expect(compareAnswers(answer([fp32('y', [1], [110.5])]), answer([fp32('y', [1], [100])]), t).result).toBe(
      'agree',
    );
    expect(compareAnswers(answer([fp32('y', [1], [100])]), answer([fp32('y', [1], [110.5])]), t).result).toBe(
      'disagree',
    );
  });

  it('compares JSON integers with binary 64-bit ones and booleans with their bytes', () => {
    const live = json({
      outputs: [
        { name: 'label', datatype: 'INT64', shape: [2], data: [[3], [4]] },
        { name: 'b', datatype: 'BOOL', shape: [2], data: [true, false] },
      ],
    });
    const shadow = answer([int64('label', [3, 4]), bools('b', [true, false])], true);
    expect(compareAnswers(live, shadow, tolerance).result).toBe('agree');
  });

  it.each<[string, Answer, RegExp]>([
    ['not JSON', { body: Buffer.from('<html>') }, /shadow answer: not JSON/],
    ['no outputs', json({ error: 'x' }), /shadow answer: no outputs list/],
    [
      'an unknown datatype',
      json({ outputs: [{ name: 'y', datatype: 'FP8', shape: [1], data: [1] }] }),
      /output y: unknown datatype "FP8"/,
    ],
    [
      'a bad shape',
      json({ outputs: [{ name: 'y', datatype: 'FP32', shape: [-1], data: [1] }] }),
      /output y: shape must be a list of sizes/,
    ],
    [
      'too few values',
      json({ outputs: [{ name: 'y', datatype: 'FP32', shape: [2], data: [1] }] }),
      /output y: 1 values for shape \[2\]/,
    ],
    ['no data', json({ outputs: [{ name: 'y', datatype: 'FP32', shape: [1] }] }), /output y: no data/],
    [
      'strings as floats',
      json({ outputs: [{ name: 'y', datatype: 'FP32', shape: [1], data: ['1'] }] }),
      /FP32 data must be numbers/,
    ],
    [
      'a header length beyond the body',
      { body: Buffer.from('{"outputs":[]}'), headerLength: 99 },
      /Inference-Header-Content-Length 99 does not fit/,
    ],
    [
      'binary data beyond the body',
      {
        body: Buffer.from(
          '{"outputs":[{"name":"y","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4}}]}',
        ),
        headerLength: 92,
      },
      /binary_data_size 4 does not fit the body/,
    ],
    [
      'no output in common',
      json({ outputs: [{ name: 'z', datatype: 'FP32', shape: [1], data: [1] }] }),
      /no output in common/,
    ],
  ])('cannot compare a shadow answer with %s', (_what, shadow, reason) => {
    const live = answer([fp32('y', [1], [1])]);
    expect(compareAnswers(live, shadow, tolerance)).toEqual({
      result: 'uncomparable',
      reason: expect.stringMatching(reason),
    });
  });

  it('says which side could not be read', () => {
    const good = answer([fp32('y', [1], [1])]);
    expect(compareAnswers({ body: Buffer.from('nope') }, good, tolerance)).toEqual({
      result: 'uncomparable',
      reason: expect.stringMatching(/^live answer: not JSON/),
    });
  });
});
