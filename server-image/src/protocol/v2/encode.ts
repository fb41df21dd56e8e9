/**
 * Response encoding: InferResult -> JSON, or JSON header + raw tensors (Triton's binary tensor extension).
 * Pure: returns the body's parts and the header values; the HTTP layer only writes them. Binary outputs are views
 * of the output tensors, written after the JSON without being copied into one buffer.
 */
import { bytesOf, datatypeByV2, halfToNumber, type TensorData } from './datatypes.js';
import type { InferResult, RequestedOutput, Tensor, WireInferResponse, WireOutput } from './types.js';

export interface EncodedBody {
  /** The JSON text: the whole body, or the header that the binary parts follow. */
  json: string;
  /** Binary outputs in order, after the JSON (views, not copies); empty for an all-JSON response. */
  binary: Uint8Array[];
  contentType: string;
  /** Set when binary tensors follow the JSON: the value of Inference-Header-Content-Length (bytes of `json`). */
  headerLength?: number;
}

export function encodeInferResponse(
  modelName: string,
  modelVersion: string,
  id: string | undefined,
  result: InferResult,
  requested: readonly RequestedOutput[],
): EncodedBody {
  const binaryParts: Uint8Array[] = [];
  const exact = new Map<string, string>();
  const outputs: WireOutput[] = result.outputs.map((tensor, i) => {
    const binary = requested[i]?.binary ?? false;
    if (!binary) {
      const digits = exactIntegers(tensor);
      if (digits === undefined)
        return {
          name: tensor.name,
          datatype: tensor.datatype,
          shape: tensor.shape,
          data: toJsonData(tensor),
        };
      // JSON.stringify cannot write integers beyond 2^53 exactly: a placeholder is swapped for the digits below.
      const token = `${EXACT_TOKEN}${exact.size}_${nonce()}`;
      exact.set(JSON.stringify(token), digits);
      return {
        name: tensor.name,
        datatype: tensor.datatype,
        shape: tensor.shape,
        data: token as unknown as unknown[],
      };
    }
    const bytes = toBinary(tensor);
    binaryParts.push(bytes);
    return {
      name: tensor.name,
      datatype: tensor.datatype,
      shape: tensor.shape,
      parameters: { binary_data_size: bytes.byteLength },
    };
  });
  const response: WireInferResponse = { model_name: modelName, model_version: modelVersion, outputs };
  if (id !== undefined) response.id = id;
  let text = JSON.stringify(response);
  for (const [token, digits] of exact) text = text.replace(token, digits);
  if (binaryParts.length === 0) return { json: text, binary: binaryParts, contentType: 'application/json' };
  return {
    json: text,
    binary: binaryParts,
    contentType: 'application/octet-stream',
    headerLength: Buffer.byteLength(text, 'utf8'),
  };
}

/** The whole body as one Buffer (a copy): for tests and callers that need it in one piece. */
export function bodyBytes(encoded: EncodedBody): Buffer {
  return Buffer.concat([Buffer.from(encoded.json, 'utf8'), ...encoded.binary]);
}

const EXACT_TOKEN = '__modelship_exact_';
const nonce = (): string => Math.random().toString(36).slice(2);

/**
 * For INT64/UINT64 tensors holding values beyond ±2^53 (which JSON numbers would round): the exact JSON array
 * text, e.g. "[18446744073709551615,1]". Undefined when plain numbers are exact.
 */
function exactIntegers(tensor: Tensor): string | undefined {
  if (tensor.datatype !== 'INT64' && tensor.datatype !== 'UINT64') return undefined;
  const data = tensor.data as BigInt64Array | BigUint64Array;
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  for (const v of data) if (v > max || v < -max) return `[${data.join(',')}]`;
  return undefined;
}

/** A tensor's values as a flat JSON array. 64-bit integers become numbers (exact up to 2^53; see exactIntegers). */
export function toJsonData(tensor: Tensor): unknown[] {
  const data: TensorData = tensor.data;
  if (Array.isArray(data)) return data;
  switch (tensor.datatype) {
    case 'BOOL':
      return Array.from(data as Uint8Array, (v) => v !== 0);
    case 'INT64':
    case 'UINT64':
      return Array.from(data as BigInt64Array, (v) => Number(v));
    case 'FP16':
      // Node 26 may hand back a Float16Array (already numbers); Node 20 hands back the raw bits.
      return data instanceof Uint16Array ? Array.from(data, halfToNumber) : Array.from(data as Float32Array);
    default:
      return Array.from(data as Float32Array);
  }
}

/** A tensor's values as raw little-endian bytes; BYTES as 4-byte length prefixes and UTF-8. */
export function toBinary(tensor: Tensor): Uint8Array {
  if (datatypeByV2(tensor.datatype)?.v2 !== 'BYTES') return bytesOf(tensor.data as ArrayBufferView);
  return encodeStrings(tensor.data as string[]);
}

export function encodeStrings(strings: readonly string[]): Uint8Array {
  const encoded = strings.map((s) => Buffer.from(s, 'utf8'));
  const out = Buffer.allocUnsafe(encoded.reduce((n, b) => n + 4 + b.byteLength, 0));
  let offset = 0;
  for (const b of encoded) {
    out.writeUInt32LE(b.byteLength, offset);
    b.copy(out, offset + 4);
    offset += 4 + b.byteLength;
  }
  return out;
}
