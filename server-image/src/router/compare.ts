/**
 * Do two Open Inference Protocol (V2) answers to the same request predict the same thing? The live revision's
 * answer is the reference, the shadow's is judged against it. Pure: bytes in, a verdict out.
 *
 * For every output present in both answers (by name): shapes must match; integer, bool and string outputs must be
 * equal exactly; float outputs shaped [N, K] with K > 1 are class scores and agree when each row's argmax (the
 * predicted class) is the same; other float outputs agree elementwise within |shadow - live| <= absolute +
 * relative * |live|. Binary tensors (Inference-Header-Content-Length) are decoded, so a JSON answer and a binary
 * one compare by value. An answer that cannot be read as V2 outputs is `uncomparable`, never a disagreement.
 */
import { datatypeByV2, halfToNumber, typedArrayFromBytes } from '../protocol/v2/datatypes.js';

export interface Answer {
  /** The whole response body. */
  body: Buffer;
  /** Its Inference-Header-Content-Length: the JSON header's size when binary tensors follow it. */
  headerLength?: number;
}

export interface Tolerance {
  absolute: number;
  relative: number;
}

export type Verdict =
  | { result: 'agree' }
  /** `reason` names the first output that differs and how. */
  | { result: 'disagree'; reason: string }
  | { result: 'uncomparable'; reason: string };

/** One output, values normalised: numbers (NaN for JSON null) for floats, canonical strings for the rest. */
interface Output {
  name: string;
  datatype: string;
  shape: number[];
  values: { kind: 'float'; data: ArrayLike<number> } | { kind: 'exact'; data: string[] };
}

class Unreadable extends Error {}

const FLOATS = new Set(['FP16', 'FP32', 'FP64']);

export function compareAnswers(live: Answer, shadow: Answer, tolerance: Tolerance): Verdict {
  let a: Output[];
  let b: Output[];
  try {
    a = readOutputs(live);
  } catch (err) {
    return { result: 'uncomparable', reason: `live answer: ${(err as Error).message}` };
  }
  try {
    b = readOutputs(shadow);
  } catch (err) {
    return { result: 'uncomparable', reason: `shadow answer: ${(err as Error).message}` };
  }
  const byName = new Map(b.map((o) => [o.name, o]));
  let compared = 0;
  for (const l of a) {
    const s = byName.get(l.name);
    if (!s) continue;
    compared++;
    const difference = differs(l, s, tolerance);
    if (difference) return { result: 'disagree', reason: `output ${l.name}: ${difference}` };
  }
  if (compared === 0) return { result: 'uncomparable', reason: 'the answers have no output in common' };
  return { result: 'agree' };
}

/** How `s` (shadow) differs from `l` (live), or undefined when they agree. */
function differs(l: Output, s: Output, tol: Tolerance): string | undefined {
  if (l.shape.length !== s.shape.length || l.shape.some((d, i) => d !== s.shape[i]))
    return `shape [${s.shape.join(',')}] instead of [${l.shape.join(',')}]`;
  if (l.values.kind !== s.values.kind) return `datatype ${s.datatype} instead of ${l.datatype}`;
  if (l.values.kind === 'exact') {
    const x = l.values.data;
    const y = s.values.data as string[];
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return `element ${i} is ${y[i]} instead of ${x[i]}`;
    return undefined;
  }
  const x = l.values.data;
  const y = (s.values as { data: ArrayLike<number> }).data;
  if (l.shape.length === 2 && l.shape[1]! > 1) {
    const [rows, k] = l.shape as [number, number];
    for (let r = 0; r < rows; r++) {
      const p = argmax(x, r * k, k);
      const q = argmax(y, r * k, k);
      if (p !== q) return `row ${r} predicts class ${q} instead of ${p}`;
    }
    return undefined;
  }
  for (let i = 0; i < x.length; i++) {
    const want = x[i]!;
    const got = y[i]!;
    if (want === got || (Number.isNaN(want) && Number.isNaN(got))) continue;
    // Written so that NaN against a number, or different infinities, fail the test.
    if (!(Math.abs(got - want) <= tol.absolute + tol.relative * Math.abs(want)))
      return `element ${i} is ${got} instead of ${want}`;
  }
  return undefined;
}

/** Index (within the row) of the row's largest score; the first of equal ones; NaN never wins. */
function argmax(data: ArrayLike<number>, start: number, length: number): number {
  let best = 0;
  for (let i = 1; i < length; i++) if (data[start + i]! > data[start + best]!) best = i;
  return best;
}

function readOutputs(answer: Answer): Output[] {
  const { body, headerLength } = answer;
  if (
    headerLength !== undefined &&
    !(Number.isInteger(headerLength) && headerLength > 0 && headerLength <= body.length)
  )
    throw new Unreadable(
      `Inference-Header-Content-Length ${headerLength} does not fit a ${body.length}-byte body`,
    );
  const jsonEnd = headerLength ?? body.length;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.subarray(0, jsonEnd).toString('utf8'));
  } catch (err) {
    throw new Unreadable(`not JSON: ${(err as Error).message}`);
  }
  const outputs = (parsed as { outputs?: unknown } | null)?.outputs;
  if (!Array.isArray(outputs)) throw new Unreadable('no outputs list');
  let offset = jsonEnd;
  return outputs.map((raw: unknown): Output => {
    const o = raw as {
      name?: unknown;
      datatype?: unknown;
      shape?: unknown;
      data?: unknown;
      parameters?: unknown;
    };
    if (typeof o?.name !== 'string') throw new Unreadable('an output has no name');
    const where = `output ${o.name}`;
    if (typeof o.datatype !== 'string' || !datatypeByV2(o.datatype))
      throw new Unreadable(`${where}: unknown datatype ${JSON.stringify(o.datatype)}`);
    if (!Array.isArray(o.shape) || !o.shape.every((d) => Number.isInteger(d) && (d as number) >= 0))
      throw new Unreadable(`${where}: shape must be a list of sizes`);
    const shape = o.shape as number[];
    const count = shape.reduce((n, d) => n * d, 1);
    const size = (o.parameters as { binary_data_size?: unknown } | undefined)?.binary_data_size;
    let values: Output['values'];
    if (size !== undefined) {
      if (!Number.isInteger(size) || (size as number) < 0 || offset + (size as number) > body.length)
        throw new Unreadable(`${where}: binary_data_size ${JSON.stringify(size)} does not fit the body`);
      values = fromBinary(o.datatype, body.subarray(offset, offset + (size as number)), where);
      offset += size as number;
    } else if (Array.isArray(o.data))
      values = fromJson(o.datatype, (o.data as unknown[]).flat(Infinity), where);
    else throw new Unreadable(`${where}: no data`);
    if (values.data.length !== count)
      throw new Unreadable(`${where}: ${values.data.length} values for shape [${shape.join(',')}]`);
    return { name: o.name, datatype: o.datatype, shape, values };
  });
}

function fromJson(datatype: string, data: unknown[], where: string): Output['values'] {
  if (FLOATS.has(datatype)) {
    // JSON has no NaN or infinities: JSON.stringify writes them as null.
    const out = data.map((v) => (v === null ? NaN : v));
    if (!out.every((v) => typeof v === 'number'))
      throw new Unreadable(`${where}: ${datatype} data must be numbers`);
    return { kind: 'float', data: out as number[] };
  }
  // Integers beyond 2^53 are rounded by JSON.parse on both sides alike; labels and counts are far below that.
  if (!data.every((v) => typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean'))
    throw new Unreadable(`${where}: ${datatype} data must be numbers, strings or booleans`);
  return { kind: 'exact', data: data.map(String) };
}

function fromBinary(datatype: string, bytes: Buffer, where: string): Output['values'] {
  const info = datatypeByV2(datatype)!;
  if (datatype === 'BYTES') return { kind: 'exact', data: strings(bytes, where) };
  if (bytes.length % info.bytesPerElement !== 0)
    throw new Unreadable(`${where}: ${bytes.length} bytes is not a whole number of ${datatype} values`);
  const typed = typedArrayFromBytes(info, bytes);
  if (datatype === 'FP16') return { kind: 'float', data: Array.from(typed as Uint16Array, halfToNumber) };
  if (FLOATS.has(datatype)) return { kind: 'float', data: typed as Float32Array | Float64Array };
  if (datatype === 'BOOL')
    return { kind: 'exact', data: Array.from(typed as Uint8Array, (v) => String(v !== 0)) };
  return { kind: 'exact', data: Array.from(typed as ArrayLike<number | bigint>, String) };
}

/** BYTES in binary form: each element a 4-byte little-endian length, then that many bytes (UTF-8). */
function strings(bytes: Buffer, where: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < bytes.length) {
    if (i + 4 > bytes.length) throw new Unreadable(`${where}: a BYTES element is cut short`);
    const n = bytes.readUInt32LE(i);
    if (i + 4 + n > bytes.length) throw new Unreadable(`${where}: a BYTES element is cut short`);
    out.push(bytes.toString('utf8', i + 4, i + 4 + n));
    i += 4 + n;
  }
  return out;
}
