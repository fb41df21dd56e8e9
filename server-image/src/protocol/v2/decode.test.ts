import { describe, expect, it } from '@jest/globals';
import { decodeInferRequest, parseHeaderLength } from './decode.js';
import type { ModelSignature } from './types.js';

const SIG: ModelSignature = {
  inputs: [
    { name: 'x', datatype: 'FP32', shape: [-1, 2] },
    { name: 'ids', datatype: 'INT64', shape: [-1] },
    { name: 'text', datatype: 'BYTES', shape: [-1] },
  ],
  outputs: [
    { name: 'y', datatype: 'FP32', shape: [-1, 2] },
    { name: 'z', datatype: 'BOOL', shape: [-1] },
  ],
};

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const request = (over: Record<string, unknown> = {}) => ({
  inputs: [
    { name: 'x', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3, 4] },
    { name: 'ids', shape: [2], datatype: 'INT64', data: [7, '9007199254740993'] },
    { name: 'text', shape: [2], datatype: 'BYTES', data: ['a', 'b'] },
  ],
  ...over,
});

describe('decodeInferRequest (JSON)', () => {
  it('decodes to typed arrays in the model input order, all outputs requested as JSON by default', () => {
    const req = decodeInferRequest(json({ id: 'r1', ...request() }), undefined, SIG);
    expect(req.id).toBe('r1');
    expect(req.inputs.map((t) => t.name)).toEqual(['x', 'ids', 'text']);
    expect(req.inputs[0]!.data).toEqual(Float32Array.from([1, 2, 3, 4]));
    // Decimal strings carry 64-bit integers beyond 2^53 exactly.
    expect(req.inputs[1]!.data).toEqual(BigInt64Array.from([7n, 9007199254740993n]));
    expect(req.inputs[2]!.data).toEqual(['a', 'b']);
    expect(req.outputs).toEqual([
      { name: 'y', binary: false },
      { name: 'z', binary: false },
    ]);
  });

  it.each([
    [
      { parameters: { binary_data_output: true } },
      [
        { name: 'y', binary: true },
        { name: 'z', binary: true },
      ],
    ],
    [{ outputs: [{ name: 'z', parameters: { binary_data: true } }] }, [{ name: 'z', binary: true }]],
    [
      {
        parameters: { binary_data_output: true },
        outputs: [{ name: 'y', parameters: { binary_data: false } }],
      },
      [{ name: 'y', binary: false }],
    ],
  ])('binary output selection %#', (over, outputs) => {
    expect(decodeInferRequest(json(request(over)), undefined, SIG).outputs).toEqual(outputs);
  });

  it.each([
    [
      'INT8 out of range',
      { name: 'q', datatype: 'INT8', shape: [-1] },
      { data: [128] },
      /element 0 is 128, not an integer in \[-128, 127\] \(INT8\)/,
    ],
    [
      'UINT64 negative',
      { name: 'q', datatype: 'UINT64', shape: [-1] },
      { data: [-1] },
      /element 0 is -1, not an integer in \[0, /,
    ],
    [
      'INT32 fraction',
      { name: 'q', datatype: 'INT32', shape: [-1] },
      { data: [1.5] },
      /element 0 is 1.5, not an integer/,
    ],
    [
      'BOOL as number',
      { name: 'q', datatype: 'BOOL', shape: [-1] },
      { data: [1] },
      /element 0 is 1, not true\/false \(BOOL\)/,
    ],
    [
      'BYTES as number',
      { name: 'q', datatype: 'BYTES', shape: [-1] },
      { data: [1] },
      /element 0 is 1, not a string \(BYTES\)/,
    ],
    [
      'FP16 as JSON',
      { name: 'q', datatype: 'FP16', shape: [-1] },
      { data: [1] },
      /FP16 cannot be sent as JSON/,
    ],
  ])('%s is refused, naming the input', (_c, spec, over, message) => {
    const sig: ModelSignature = { inputs: [spec as ModelSignature['inputs'][0]], outputs: [] };
    const body = json({ inputs: [{ name: 'q', shape: [1], datatype: spec.datatype, ...over }] });
    expect(() => decodeInferRequest(body, undefined, sig)).toThrow(message);
  });
});

describe('decodeInferRequest (binary)', () => {
  function binary(header: unknown, parts: Uint8Array[]) {
    const h = json(header);
    const body = Buffer.concat([h, ...parts]);
    return { body, headerLength: h.byteLength };
  }
  const strings = (xs: string[]) =>
    Buffer.concat(
      xs.flatMap((s) => [Buffer.from(Uint32Array.of(Buffer.byteLength(s)).buffer), Buffer.from(s)]),
    );

  it('takes each input from the bytes after the header, in JSON order, even at unaligned offsets', () => {
    const x = Buffer.from(Float32Array.from([1, 2, 3, 4]).buffer);
    const ids = Buffer.from(BigInt64Array.from([5n, -6n]).buffer);
    const { body, headerLength } = binary(
      {
        inputs: [
          { name: 'text', shape: [2], datatype: 'BYTES', parameters: { binary_data_size: 14 } },
          { name: 'x', shape: [2, 2], datatype: 'FP32', parameters: { binary_data_size: 16 } },
          { name: 'ids', shape: [2], datatype: 'INT64', parameters: { binary_data_size: 16 } },
        ],
      },
      [strings(['hé', 'llo']), x, ids],
    );
    const req = decodeInferRequest(body, headerLength, SIG);
    expect(req.inputs[0]!.data).toEqual(Float32Array.from([1, 2, 3, 4]));
    expect(req.inputs[1]!.data).toEqual(BigInt64Array.from([5n, -6n]));
    expect(req.inputs[2]!.data).toEqual(['hé', 'llo']);
  });

  it.each([
    [
      'a BYTES length running past the data',
      [strings(['abc']).subarray(0, 5)],
      5,
      /BYTES element 0 claims 3 bytes/,
    ],
    [
      'fewer BYTES elements than the shape says',
      [strings(['a'])],
      5,
      /binary BYTES data ends at element 1 of 2/,
    ],
  ])('%s is refused', (_c, parts, size, message) => {
    const { body, headerLength } = binary(
      {
        inputs: [
          { name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2] },
          { name: 'ids', shape: [1], datatype: 'INT64', data: [1] },
          { name: 'text', shape: [2], datatype: 'BYTES', parameters: { binary_data_size: size } },
        ],
      },
      parts,
    );
    expect(() => decodeInferRequest(body, headerLength, SIG)).toThrow(message);
  });

  it('a raw body (header length 0) is the only input, with its dynamic dimensions filled in', () => {
    const sig: ModelSignature = {
      inputs: [{ name: 'v', datatype: 'INT32', shape: [-1, -1] }],
      outputs: [{ name: 'o', datatype: 'INT32', shape: [-1] }],
    };
    const req = decodeInferRequest(Buffer.from(Int32Array.from([1, 2, 3]).buffer), 0, sig);
    expect(req.inputs[0]).toEqual({
      name: 'v',
      datatype: 'INT32',
      shape: [1, 3],
      data: Int32Array.from([1, 2, 3]),
    });
    expect(() => decodeInferRequest(Buffer.from([1, 2, 3]), 0, SIG)).toThrow(
      /exactly one input; this one has 3/,
    );
  });
});

describe('parseHeaderLength', () => {
  it.each([
    [undefined, 10, undefined],
    ['4', 10, 4],
    ['0', 10, 0],
  ])('%p of a %d-byte body -> %p', (value, size, expected) => {
    expect(parseHeaderLength(value, size)).toBe(expected);
  });
  it.each([['-1'], ['1.5'], ['x'], ['11']])('%p is refused', (value) => {
    expect(() => parseHeaderLength(value, 10)).toThrow(/Inference-Header-Content-Length/);
  });
});
