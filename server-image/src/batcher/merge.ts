/**
 * Pure tensor plumbing for dynamic batching: which requests may share a batch, concatenation along the first
 * dimension, and splitting the outputs back. No I/O, table-tested in merge.test.ts.
 */
import type { NumericArray, TensorData } from '../protocol/v2/datatypes.js';
import type { Tensor } from '../protocol/v2/types.js';

/**
 * The rows (first dimension) a request contributes, when all its inputs agree on it; undefined when they do not
 * (such a request runs alone, and onnxruntime judges it).
 */
export function batchRows(inputs: readonly Tensor[]): number | undefined {
  const rows = inputs[0]?.shape[0];
  if (rows === undefined) return undefined;
  return inputs.every((t) => t.shape.length > 0 && t.shape[0] === rows) ? rows : undefined;
}

/**
 * Requests may share a batch when every input has the same datatype and the same dimensions after the first.
 * Inputs arrive in the model's input order, so the key is positional. Example: two inputs FP32 [n, 4] and
 * INT64 [n] give "FP32[4]|INT64[]".
 */
export function batchKey(inputs: readonly Tensor[]): string {
  // Built with plain concatenation: it runs for every request (map/slice/join allocate three arrays per input).
  let key = '';
  for (let i = 0; i < inputs.length; i++) {
    const t = inputs[i]!;
    key += i === 0 ? `${t.datatype}[` : `|${t.datatype}[`;
    for (let d = 1; d < t.shape.length; d++) key += d === 1 ? `${t.shape[d]}` : `,${t.shape[d]}`;
    key += ']';
  }
  return key;
}

/** Concatenates each input along dimension 0, request after request. All requests must share a batchKey. */
export function mergeInputs(requests: readonly (readonly Tensor[])[]): Tensor[] {
  const first = requests[0];
  if (!first) throw new Error('mergeInputs needs at least one request');
  if (requests.length === 1) return [...first];
  return first.map((tensor, i) => {
    const parts = requests.map((r) => r[i]!);
    const rows = parts.reduce((n, t) => n + t.shape[0]!, 0);
    return {
      name: tensor.name,
      datatype: tensor.datatype,
      shape: [rows, ...tensor.shape.slice(1)],
      data: concatData(parts.map((t) => t.data)),
    };
  });
}

function concatData(parts: TensorData[]): TensorData {
  const first = parts[0]!;
  if (Array.isArray(first)) return ([] as string[]).concat(...(parts as string[][]));
  const total = parts.reduce((n, p) => n + p.length, 0);
  const Ctor = first.constructor as new (n: number) => NumericArray;
  const out = new Ctor(total);
  let offset = 0;
  for (const p of parts as NumericArray[]) {
    (out as Float32Array).set(p as Float32Array, offset);
    offset += p.length;
  }
  return out;
}

/**
 * Splits batch outputs back into one list per request, by the rows each contributed. Numeric parts are views
 * (subarray), not copies. Throws when an output's first dimension is not the batch's row count.
 * Example: rows [1, 3] and an output of shape [4, 2] give shapes [1, 2] and [3, 2].
 */
export function splitOutputs(outputs: readonly Tensor[], rows: readonly number[]): Tensor[][] {
  const total = rows.reduce((a, b) => a + b, 0);
  const perRequest: Tensor[][] = rows.map(() => []);
  for (const out of outputs) {
    if (out.shape[0] !== total)
      throw new Error(
        `output '${out.name}' has first dimension ${String(out.shape[0])}, not the batch size ${total}: the model cannot be batched`,
      );
    const rowSize = out.shape.slice(1).reduce((a, b) => a * b, 1);
    let start = 0;
    rows.forEach((n, i) => {
      const end = start + n * rowSize;
      const data = Array.isArray(out.data) ? out.data.slice(start, end) : out.data.subarray(start, end);
      perRequest[i]!.push({
        name: out.name,
        datatype: out.datatype,
        shape: [n, ...out.shape.slice(1)],
        data,
      });
      start = end;
    });
  }
  return perRequest;
}
