/**
 * THE datatype table: Open Inference Protocol datatype <-> onnxruntime tensor type <-> typed array. Every other
 * module derives what it needs from here (Triton and MLServer keep one such table too).
 */

export type V2Datatype =
  | 'BOOL'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FP16'
  | 'FP32'
  | 'FP64'
  | 'BYTES';

/** onnxruntime-node's names for the same types (`Tensor.Type`). */
export type OrtType =
  | 'bool'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'float16'
  | 'float32'
  | 'float64'
  | 'string';

export type NumericArray =
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Float32Array
  | Float64Array;

/** Tensor contents: a typed array for numbers and BOOL (one byte each), strings for BYTES. */
export type TensorData = NumericArray | string[];

type NumericArrayConstructor = {
  new (length: number): NumericArray;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): NumericArray;
  readonly BYTES_PER_ELEMENT: number;
};

/** How JSON `data` elements of a type are checked and stored. */
export type JsonKind = 'bool' | 'int' | 'bigint' | 'float' | 'string' | 'none';

export interface DatatypeInfo {
  readonly v2: V2Datatype;
  readonly ort: OrtType;
  /** Size of one element in binary form; 0 for BYTES, whose elements are length-prefixed. */
  readonly bytesPerElement: number;
  /** The typed array holding the values; undefined for BYTES. */
  readonly array: NumericArrayConstructor | undefined;
  /** FP16 has no JSON form (KServe and Triton refuse it too): 'none'. */
  readonly json: JsonKind;
  /** Inclusive bounds for integer types carried as JS numbers. */
  readonly min?: number;
  readonly max?: number;
}

const TABLE: readonly DatatypeInfo[] = [
  { v2: 'BOOL', ort: 'bool', bytesPerElement: 1, array: Uint8Array, json: 'bool' },
  { v2: 'UINT8', ort: 'uint8', bytesPerElement: 1, array: Uint8Array, json: 'int', min: 0, max: 255 },
  { v2: 'UINT16', ort: 'uint16', bytesPerElement: 2, array: Uint16Array, json: 'int', min: 0, max: 65535 },
  {
    v2: 'UINT32',
    ort: 'uint32',
    bytesPerElement: 4,
    array: Uint32Array,
    json: 'int',
    min: 0,
    max: 4294967295,
  },
  { v2: 'UINT64', ort: 'uint64', bytesPerElement: 8, array: BigUint64Array, json: 'bigint', min: 0 },
  { v2: 'INT8', ort: 'int8', bytesPerElement: 1, array: Int8Array, json: 'int', min: -128, max: 127 },
  { v2: 'INT16', ort: 'int16', bytesPerElement: 2, array: Int16Array, json: 'int', min: -32768, max: 32767 },
  {
    v2: 'INT32',
    ort: 'int32',
    bytesPerElement: 4,
    array: Int32Array,
    json: 'int',
    min: -2147483648,
    max: 2147483647,
  },
  { v2: 'INT64', ort: 'int64', bytesPerElement: 8, array: BigInt64Array, json: 'bigint' },
  { v2: 'FP16', ort: 'float16', bytesPerElement: 2, array: Uint16Array, json: 'none' },
  { v2: 'FP32', ort: 'float32', bytesPerElement: 4, array: Float32Array, json: 'float' },
  { v2: 'FP64', ort: 'float64', bytesPerElement: 8, array: Float64Array, json: 'float' },
  { v2: 'BYTES', ort: 'string', bytesPerElement: 0, array: undefined, json: 'string' },
];

const BY_V2 = new Map<string, DatatypeInfo>(TABLE.map((d) => [d.v2, d]));
const BY_ORT = new Map<string, DatatypeInfo>(TABLE.map((d) => [d.ort, d]));

export const V2_DATATYPES: readonly V2Datatype[] = TABLE.map((d) => d.v2);

/** The entry for a protocol datatype name, or undefined for an unknown name. */
export function datatypeByV2(name: string): DatatypeInfo | undefined {
  return BY_V2.get(name);
}

/** The entry for an onnxruntime tensor type, or undefined when the protocol has no such type (e.g. int4). */
export function datatypeByOrt(type: string): DatatypeInfo | undefined {
  return BY_ORT.get(type);
}

/** Little-endian, unpadded bytes of a numeric tensor (a view, no copy). */
export function bytesOf(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * A typed array over `bytes`. Shares memory when the offset is aligned for the element size, else copies (Node's
 * pooled Buffers often start at odd offsets, and typed arrays cannot be unaligned).
 */
export function typedArrayFromBytes(info: DatatypeInfo, bytes: Uint8Array): NumericArray {
  const Ctor = info.array;
  if (!Ctor) throw new Error(`${info.v2} has no typed array`);
  const count = bytes.byteLength / info.bytesPerElement;
  if (bytes.byteOffset % info.bytesPerElement === 0) return new Ctor(bytes.buffer, bytes.byteOffset, count);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Ctor(copy.buffer, 0, count);
}

/** IEEE 754 half precision bits -> number, for FP16 outputs written as JSON. */
export function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
