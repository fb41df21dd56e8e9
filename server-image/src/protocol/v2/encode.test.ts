import { describe, expect, it } from '@jest/globals';
import { bodyBytes, encodeInferResponse, toJsonData } from './encode.js';
import type { Tensor } from './types.js';

const t = (datatype: Tensor['datatype'], data: Tensor['data'], shape = [data.length]): Tensor => ({
  name: 'o',
  datatype,
  shape,
  data,
});

describe('encodeInferResponse', () => {
  it('writes JSON outputs with the model name, version and id', () => {
    const r = encodeInferResponse('m', '2', 'req', { outputs: [t('FP32', Float32Array.of(0.5, 2))] }, [
      { name: 'o', binary: false },
    ]);
    expect(r.contentType).toBe('application/json');
    expect(r.headerLength).toBeUndefined();
    expect(r.binary).toEqual([]);
    expect(JSON.parse(r.json)).toEqual({
      model_name: 'm',
      model_version: '2',
      id: 'req',
      outputs: [{ name: 'o', datatype: 'FP32', shape: [2], data: [0.5, 2] }],
    });
  });

  it('puts binary outputs after the JSON header and says where it ends', () => {
    const r = encodeInferResponse(
      'm',
      '1',
      undefined,
      { outputs: [t('INT16', Int16Array.of(1, -1)), t('BYTES', ['ab'])] },
      [
        { name: 'o', binary: true },
        { name: 'o', binary: true },
      ],
    );
    const body = bodyBytes(r);
    const header = JSON.parse(body.subarray(0, r.headerLength).toString());
    expect(header.outputs.map((o: { parameters: object }) => o.parameters)).toEqual([
      { binary_data_size: 4 },
      { binary_data_size: 6 },
    ]);
    expect([...body.subarray(r.headerLength!)]).toEqual([1, 0, 0xff, 0xff, 2, 0, 0, 0, 0x61, 0x62]);
  });

  it('a binary output is a view of the tensor, not a copy', () => {
    const data = new Float32Array([1, 2, 3, 4]).subarray(2);
    const r = encodeInferResponse('m', '1', undefined, { outputs: [t('FP32', data)] }, [
      { name: 'o', binary: true },
    ]);
    expect(r.binary[0]!.buffer).toBe(data.buffer);
    expect(r.binary[0]!.byteOffset).toBe(8);
    expect(r.headerLength).toBe(Buffer.byteLength(r.json));
  });

  it('writes 64-bit integers beyond 2^53 exactly in JSON', () => {
    const r = encodeInferResponse(
      'm',
      '1',
      '__modelship_exact_0',
      { outputs: [t('UINT64', BigUint64Array.of(2n ** 64n - 1n, 1n))] },
      [{ name: 'o', binary: false }],
    );
    const text = r.json;
    expect(text).toContain('"data":[18446744073709551615,1]');
    expect(JSON.parse(text).id).toBe('__modelship_exact_0');
  });
});

describe('toJsonData', () => {
  it.each([
    [t('BOOL', Uint8Array.of(1, 0)), [true, false]],
    [t('INT64', BigInt64Array.of(-5n)), [-5]],
    [t('FP16', Uint16Array.of(0x3c00, 0xc000)), [1, -2]],
    [t('BYTES', ['x', '']), ['x', '']],
  ])('%#', (tensor, expected) => {
    expect(toJsonData(tensor)).toEqual(expected);
  });
});
