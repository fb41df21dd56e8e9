/**
 * Request decoding: JSON and Triton's binary tensor extension -> a validated InferRequest with typed arrays.
 * Pure: bytes and the model's signature in, a request or an InferenceError (400) out. Every message names the input
 * and the problem, so a client can fix its request without reading server logs.
 */
import {
  datatypeByV2,
  typedArrayFromBytes,
  type DatatypeInfo,
  type NumericArray,
  type TensorData,
} from './datatypes.js';
import { invalid } from './errors.js';
import type {
  InferRequest,
  ModelSignature,
  RequestedOutput,
  Tensor,
  TensorSpec,
  WireInput,
} from './types.js';

/** A tensor may not have more elements than this (2^31 - 1): far above any sane request, far below overflow. */
const MAX_ELEMENTS = 2 ** 31 - 1;

/** Parses the Inference-Header-Content-Length header: undefined when absent. */
export function parseHeaderLength(
  value: string | string[] | undefined,
  bodyBytes: number,
): number | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || !/^\d+$/.test(text.trim()))
    throw invalid(`Inference-Header-Content-Length must be a non-negative integer, got '${String(text)}'`);
  const n = Number(text.trim());
  if (n > bodyBytes)
    throw invalid(`Inference-Header-Content-Length is ${n} but the body has only ${bodyBytes} bytes`);
  return n;
}

/**
 * Decodes a request body.
 * @param headerLength the parsed Inference-Header-Content-Length: undefined means the body is all JSON; 0 means
 *   the body is the raw bytes of the model's single input (batch of one).
 */
export function decodeInferRequest(
  body: Uint8Array,
  headerLength: number | undefined,
  signature: ModelSignature,
): InferRequest {
  if (headerLength === 0) return decodeRawSingleInput(body, signature);
  const jsonEnd = headerLength ?? body.byteLength;
  const parsed = parseJson(body, jsonEnd);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw invalid('the request body must be a JSON object with an "inputs" array');
  const req = parsed as Record<string, unknown>;

  let id: string | undefined;
  if (req.id !== undefined) {
    if (typeof req.id !== 'string') throw invalid(`"id" must be a string, got ${describe(req.id)}`);
    id = req.id;
  }
  const params = optionalObject(req.parameters, 'request "parameters"');
  const binaryOutputDefault = optionalBoolean(params?.binary_data_output, '"binary_data_output"') ?? false;

  if (!Array.isArray(req.inputs) || req.inputs.length === 0)
    throw invalid('the request must have a non-empty "inputs" array');
  const binary = new BinaryCursor(body, jsonEnd, headerLength !== undefined);
  const byName = new Map<string, Tensor>();
  for (const raw of req.inputs) {
    const tensor = decodeInput(raw, signature, binary);
    if (byName.has(tensor.name)) throw invalid(`input '${tensor.name}' is given more than once`);
    byName.set(tensor.name, tensor);
  }
  binary.finish();
  // onnxruntime needs every input, in any order; report the first missing one by name.
  const inputs: Tensor[] = [];
  for (const spec of signature.inputs) {
    const t = byName.get(spec.name);
    if (!t) throw invalid(`missing input '${spec.name}' (${spec.datatype} ${formatShape(spec.shape)})`);
    inputs.push(t);
  }
  const outputs = decodeRequestedOutputs(req.outputs, signature, binaryOutputDefault);
  return id === undefined ? { inputs, outputs } : { id, inputs, outputs };
}

function parseJson(body: Uint8Array, end: number): unknown {
  const text = Buffer.from(body.buffer, body.byteOffset, end).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw invalid(`the request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** Walks the binary section after the JSON header, input by input, in the order the JSON lists them. */
class BinaryCursor {
  private offset: number;
  constructor(
    private readonly body: Uint8Array,
    start: number,
    private readonly enabled: boolean,
  ) {
    this.offset = start;
  }

  take(size: number, input: string): Uint8Array {
    if (!this.enabled)
      throw invalid(
        `input '${input}' has binary_data_size but the request has no Inference-Header-Content-Length header`,
      );
    const remaining = this.body.byteLength - this.offset;
    if (size > remaining)
      throw invalid(
        `input '${input}': binary_data_size is ${size} bytes but only ${remaining} bytes of binary data remain`,
      );
    const bytes = this.body.subarray(this.offset, this.offset + size);
    this.offset += size;
    return bytes;
  }

  finish(): void {
    const left = this.body.byteLength - this.offset;
    if (left > 0)
      throw invalid(
        `${left} bytes of binary data follow the JSON header but no input's binary_data_size covers them`,
      );
  }
}

function decodeInput(raw: unknown, signature: ModelSignature, binary: BinaryCursor): Tensor {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw invalid('each entry of "inputs" must be an object with name, shape, datatype and data');
  const wire = raw as Partial<WireInput>;
  if (typeof wire.name !== 'string') throw invalid('an input has no "name"');
  const name = wire.name;
  const spec = signature.inputs.find((s) => s.name === name);
  if (!spec)
    throw invalid(
      `unknown input '${name}'; the model's inputs are ${signature.inputs.map((s) => `'${s.name}'`).join(', ')}`,
    );
  if (wire.datatype !== spec.datatype)
    throw invalid(
      `input '${name}' has datatype ${describe(wire.datatype)} but the model expects ${spec.datatype}`,
    );
  const info = datatypeByV2(spec.datatype)!;
  const shape = checkShape(wire.shape, spec);
  const count = elementCount(shape, name);
  const params = optionalObject(wire.parameters, `input '${name}' "parameters"`);
  const binarySize = params?.binary_data_size;
  let data: TensorData;
  if (binarySize !== undefined) {
    if (!Number.isSafeInteger(binarySize) || (binarySize as number) < 0)
      throw invalid(`input '${name}': binary_data_size must be a non-negative integer`);
    if (wire.data !== undefined) throw invalid(`input '${name}' has both "data" and binary_data_size`);
    data = fromBinary(binary.take(binarySize as number, name), info, count, name, shape);
  } else {
    if (wire.data === undefined) throw invalid(`input '${name}' has no "data" and no binary_data_size`);
    data = fromJson(wire.data, info, count, name, shape);
  }
  return { name, datatype: spec.datatype, shape, data };
}

function checkShape(shape: unknown, spec: TensorSpec): number[] {
  const name = spec.name;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0))
    throw invalid(
      `input '${name}': "shape" must be an array of non-negative integers, got ${describe(shape)}`,
    );
  if (shape.length !== spec.shape.length)
    throw invalid(
      `input '${name}' has rank ${shape.length} (shape ${formatShape(shape)}) but the model expects rank ${spec.shape.length} ${formatShape(spec.shape)}`,
    );
  spec.shape.forEach((expected, i) => {
    if (expected >= 0 && shape[i] !== expected)
      throw invalid(
        `input '${name}': dimension ${i} is ${shape[i]} but the model fixes it to ${expected} (expected shape ${formatShape(spec.shape)}, got ${formatShape(shape)})`,
      );
  });
  return shape as number[];
}

function elementCount(shape: number[], name: string): number {
  let count = 1;
  for (const d of shape) count *= d;
  if (count > MAX_ELEMENTS)
    throw invalid(`input '${name}': shape ${formatShape(shape)} has too many elements`);
  return count;
}

function fromBinary(
  bytes: Uint8Array,
  info: DatatypeInfo,
  count: number,
  name: string,
  shape: number[],
): TensorData {
  if (info.v2 === 'BYTES') return decodeBinaryStrings(bytes, count, name);
  const expected = count * info.bytesPerElement;
  if (bytes.byteLength !== expected)
    throw invalid(
      `input '${name}': binary_data_size is ${bytes.byteLength} bytes but shape ${formatShape(shape)} of ${info.v2} needs ${expected}`,
    );
  return typedArrayFromBytes(info, bytes);
}

/** BYTES in binary: each element is a 4-byte little-endian length followed by that many bytes. */
function decodeBinaryStrings(bytes: Uint8Array, count: number, name: string): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: string[] = new Array<string>(count);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    if (offset + 4 > bytes.byteLength)
      throw invalid(`input '${name}': binary BYTES data ends at element ${i} of ${count}`);
    const len = view.getUint32(offset, true);
    offset += 4;
    if (offset + len > bytes.byteLength)
      throw invalid(`input '${name}': BYTES element ${i} claims ${len} bytes but the data ends before that`);
    out[i] = Buffer.from(bytes.buffer, bytes.byteOffset + offset, len).toString('utf8');
    offset += len;
  }
  if (offset !== bytes.byteLength)
    throw invalid(
      `input '${name}': binary_data_size is ${bytes.byteLength} bytes but its ${count} BYTES elements use ${offset}`,
    );
  return out;
}

function fromJson(
  data: unknown,
  info: DatatypeInfo,
  count: number,
  name: string,
  shape: number[],
): TensorData {
  if (info.json === 'none')
    throw invalid(
      `input '${name}': ${info.v2} cannot be sent as JSON; send it as binary data (binary_data_size)`,
    );
  if (!Array.isArray(data)) throw invalid(`input '${name}': "data" must be an array, got ${describe(data)}`);
  const flat = isFlat(data) ? data : flatten(data, Math.max(shape.length, 1), name);
  if (flat.length !== count)
    throw invalid(
      `input '${name}' has ${flat.length} elements in "data" but shape ${formatShape(shape)} needs ${count}`,
    );
  switch (info.json) {
    case 'float':
      return toFloats(flat, new info.array!(count), name, info);
    case 'int':
      return toInts(flat, new info.array!(count), name, info);
    case 'bigint':
      return toBigInts(flat, new info.array!(count) as BigInt64Array | BigUint64Array, name, info);
    case 'bool':
      return toBools(flat, new Uint8Array(count), name);
    case 'string':
      return toStrings(flat, name);
  }
}

function isFlat(data: unknown[]): boolean {
  return data.length === 0 || !Array.isArray(data[0]);
}

/** Nested `data` -> flat, row-major. Nesting deeper than the tensor's rank is refused (and bounds the recursion). */
function flatten(data: unknown[], maxDepth: number, name: string): unknown[] {
  const out: unknown[] = [];
  const walk = (arr: unknown[], depth: number): void => {
    if (depth > maxDepth)
      throw invalid(
        `input '${name}': "data" is nested ${depth}+ levels deep, more than the tensor's rank ${maxDepth}`,
      );
    for (const v of arr) {
      if (Array.isArray(v)) walk(v, depth + 1);
      else out.push(v);
    }
  };
  walk(data, 1);
  return out;
}

function badElement(name: string, i: number, v: unknown, info: DatatypeInfo, what: string): Error {
  return invalid(`input '${name}': element ${i} is ${describe(v)}, not ${what} (${info.v2})`);
}

function toFloats(flat: unknown[], out: NumericArray, name: string, info: DatatypeInfo): NumericArray {
  const arr = out as Float32Array;
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i];
    if (typeof v !== 'number') throw badElement(name, i, v, info, 'a number');
    arr[i] = v;
  }
  return out;
}

function toInts(flat: unknown[], out: NumericArray, name: string, info: DatatypeInfo): NumericArray {
  const arr = out as Int32Array;
  const min = info.min!;
  const max = info.max!;
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      throw badElement(name, i, v, info, `an integer in [${min}, ${max}]`);
    arr[i] = v;
  }
  return out;
}

function toBigInts(
  flat: unknown[],
  out: BigInt64Array | BigUint64Array,
  name: string,
  info: DatatypeInfo,
): NumericArray {
  const unsigned = info.v2 === 'UINT64';
  const [min, max] = unsigned ? [0n, 2n ** 64n - 1n] : [-(2n ** 63n), 2n ** 63n - 1n];
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i];
    let b: bigint;
    // Integers beyond 2^53 lose precision as JSON numbers, so decimal strings are accepted too.
    if (typeof v === 'number' && Number.isInteger(v)) b = BigInt(v);
    else if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) b = BigInt(v);
    else throw badElement(name, i, v, info, 'an integer');
    if (b < min || b > max) throw badElement(name, i, v, info, `an integer in [${min}, ${max}]`);
    out[i] = b;
  }
  return out;
}

function toBools(flat: unknown[], out: Uint8Array, name: string): Uint8Array {
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i];
    if (typeof v !== 'boolean')
      throw invalid(`input '${name}': element ${i} is ${describe(v)}, not true/false (BOOL)`);
    out[i] = v ? 1 : 0;
  }
  return out;
}

function toStrings(flat: unknown[], name: string): string[] {
  for (let i = 0; i < flat.length; i++) {
    if (typeof flat[i] !== 'string')
      throw invalid(`input '${name}': element ${i} is ${describe(flat[i])}, not a string (BYTES)`);
  }
  return flat as string[];
}

function decodeRequestedOutputs(
  raw: unknown,
  signature: ModelSignature,
  binaryDefault: boolean,
): RequestedOutput[] {
  if (raw === undefined) return signature.outputs.map((o) => ({ name: o.name, binary: binaryDefault }));
  if (!Array.isArray(raw)) throw invalid('"outputs" must be an array of {"name": ...}');
  const seen = new Set<string>();
  return raw.map((entry: unknown) => {
    if (typeof entry !== 'object' || entry === null || typeof (entry as { name?: unknown }).name !== 'string')
      throw invalid('each entry of "outputs" must be an object with a "name"');
    const { name, parameters } = entry as { name: string; parameters?: unknown };
    if (!signature.outputs.some((o) => o.name === name))
      throw invalid(
        `unknown output '${name}'; the model's outputs are ${signature.outputs.map((o) => `'${o.name}'`).join(', ')}`,
      );
    if (seen.has(name)) throw invalid(`output '${name}' is requested more than once`);
    seen.add(name);
    const params = optionalObject(parameters, `output '${name}' "parameters"`);
    if (params?.classification !== undefined)
      throw invalid(`output '${name}': the classification extension is not supported by this server`);
    const binary = optionalBoolean(params?.binary_data, `output '${name}' binary_data`) ?? binaryDefault;
    return { name, binary };
  });
}

/**
 * `Inference-Header-Content-Length: 0`: the body is the raw bytes of the model's only input, batch of one. A
 * dynamic first dimension becomes 1; one other dynamic dimension may be inferred from the byte count.
 */
function decodeRawSingleInput(body: Uint8Array, signature: ModelSignature): InferRequest {
  if (signature.inputs.length !== 1)
    throw invalid(
      `a raw binary body (Inference-Header-Content-Length: 0) needs a model with exactly one input; this one has ${signature.inputs.length}`,
    );
  const spec = signature.inputs[0]!;
  const info = datatypeByV2(spec.datatype)!;
  const shape = spec.shape.map((d, i) => (d < 0 && i === 0 ? 1 : d));
  const unknown = shape.filter((d) => d < 0).length;
  let data: TensorData;
  if (info.v2 === 'BYTES') {
    const strings = decodeAllStrings(body, spec.name);
    fillUnknownDim(shape, unknown, strings.length, spec);
    data = decodeBinaryStrings(body, elementCount(shape, spec.name), spec.name);
  } else {
    if (body.byteLength % info.bytesPerElement !== 0)
      throw invalid(
        `input '${spec.name}': the raw body has ${body.byteLength} bytes, not a multiple of ${info.bytesPerElement} (${info.v2})`,
      );
    fillUnknownDim(shape, unknown, body.byteLength / info.bytesPerElement, spec);
    data = fromBinary(body, info, elementCount(shape, spec.name), spec.name, shape);
  }
  return {
    inputs: [{ name: spec.name, datatype: spec.datatype, shape, data }],
    outputs: signature.outputs.map((o) => ({ name: o.name, binary: true })),
  };
}

function fillUnknownDim(shape: number[], unknown: number, elements: number, spec: TensorSpec): void {
  if (unknown === 0) return;
  if (unknown > 1)
    throw invalid(
      `input '${spec.name}' has several dynamic dimensions ${formatShape(spec.shape)}; a raw binary body cannot say them, send JSON with "shape"`,
    );
  const known = shape.reduce((p, d) => (d < 0 ? p : p * d), 1);
  if (known === 0 || elements % known !== 0)
    throw invalid(`input '${spec.name}': ${elements} elements do not fit shape ${formatShape(spec.shape)}`);
  const i = shape.findIndex((d) => d < 0);
  shape[i] = elements / known;
}

function decodeAllStrings(body: Uint8Array, name: string): string[] {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const out: string[] = [];
  let offset = 0;
  while (offset < body.byteLength) {
    if (offset + 4 > body.byteLength) throw invalid(`input '${name}': truncated BYTES length prefix`);
    const len = view.getUint32(offset, true);
    offset += 4 + len;
    if (offset > body.byteLength) throw invalid(`input '${name}': BYTES element longer than the body`);
    out.push('');
  }
  return out;
}

function optionalObject(v: unknown, what: string): Record<string, unknown> | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(`${what} must be an object`);
  return v as Record<string, unknown>;
}

function optionalBoolean(v: unknown, what: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw invalid(`${what} must be true or false, got ${describe(v)}`);
  return v;
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** A short, safe description of a JSON value for error messages (never the whole value). */
function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  const text = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
