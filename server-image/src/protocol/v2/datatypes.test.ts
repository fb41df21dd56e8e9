import { describe, expect, it } from '@jest/globals';
import { V2_DATATYPES, datatypeByOrt, datatypeByV2, halfToNumber, typedArrayFromBytes } from './datatypes.js';

describe('the datatype table', () => {
  it('maps every protocol datatype to an onnxruntime type and back', () => {
    expect(V2_DATATYPES).toHaveLength(13);
    for (const v2 of V2_DATATYPES) expect(datatypeByOrt(datatypeByV2(v2)!.ort)!.v2).toBe(v2);
  });
  it('knows nothing of types the protocol cannot carry', () => {
    expect(datatypeByOrt('int4')).toBeUndefined();
    expect(datatypeByV2('FLOAT')).toBeUndefined();
  });
  it.each([
    [0x3c00, 1],
    [0xc000, -2],
    [0x7bff, 65504],
    [0x0001, 2 ** -24],
    [0x7c00, Infinity],
    [0x8000, -0],
  ])('half %s is %s', (bits, value) => {
    expect(halfToNumber(bits)).toBe(value);
  });
  it('halfToNumber of NaN bits is NaN', () => {
    expect(halfToNumber(0x7e00)).toBeNaN();
  });
  it('typedArrayFromBytes shares aligned memory and copies unaligned bytes', () => {
    const info = datatypeByV2('FP32')!;
    const buf = new Uint8Array(9);
    new DataView(buf.buffer).setFloat32(1, 1.5, true);
    const unaligned = typedArrayFromBytes(info, buf.subarray(1, 5));
    expect(Array.from(unaligned as Float32Array)).toEqual([1.5]);
    expect(unaligned.buffer).not.toBe(buf.buffer);
    const source = new Uint8Array(Float32Array.of(2.5).buffer);
    const aligned = typedArrayFromBytes(info, source);
    expect(Array.from(aligned as Float32Array)).toEqual([2.5]);
    expect(aligned.buffer).toBe(source.buffer);
  });
});
