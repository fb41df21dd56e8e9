/**
 * One inference exchange as an audit record (payload-log.ts), serialized to one line of JSON. Pure.
 *
 *   {"type":"payload","requestId","id"?,"time":ISO,"model","version","revision","caller"?,"status","latencyMs",
 *    "inputs":[{"name","datatype","shape","data":[...]}], "outputs":[...], "error"?, "truncated"?}
 *
 * A tensor named in `redact` carries `"sha256": "<hex>"` of its bytes instead of `data` (numbers: their
 * little-endian binary form, as the binary protocol sends them; BYTES: each element as a 4-byte little-endian
 * length and its UTF-8 bytes, Triton's binary form). A record longer than `maxBytes` keeps everything but the
 * tensors' data and says `"truncated": true` (each tensor too).
 */
import { createHash } from 'node:crypto';
import { bytesOf, halfToNumber } from '../protocol/v2/datatypes.js';
import type { Tensor } from '../protocol/v2/types.js';
import type { InferenceRecord } from './observer.js';

export interface PayloadFormat {
  revision: string;
  /** Input and output names whose data is replaced by its hash. */
  redact: ReadonlySet<string>;
  maxBytes: number;
}

/** Tells payload lines apart from log lines on stdout (those have `message` and `level`). */
export const PAYLOAD_TYPE = 'payload';

export function payloadJson(r: InferenceRecord, f: PayloadFormat): string {
  const head: Record<string, unknown> = {
    type: PAYLOAD_TYPE,
    requestId: r.requestId,
    ...(r.protocolId !== undefined ? { id: r.protocolId } : {}),
    time: new Date(r.time).toISOString(),
    model: r.model,
    version: r.version,
    revision: f.revision,
    ...(r.caller !== undefined ? { caller: r.caller } : {}),
    status: r.status,
    latencyMs: Math.round(r.latencyMs * 1000) / 1000,
  };
  const tail: Record<string, unknown> = r.error !== undefined ? { error: r.error } : {};
  const inputs = r.inputs ?? [];
  const outputs = r.outputs ?? [];
  // Each element takes at least 2 characters in JSON: a tensor that cannot fit is not converted at all.
  const elements = [...inputs, ...outputs].reduce(
    (n, t) => n + (f.redact.has(t.name) ? 0 : t.data.length),
    0,
  );
  if (elements * 2 <= f.maxBytes) {
    const full = JSON.stringify({
      ...head,
      inputs: inputs.map((t) => tensorJson(t, f)),
      outputs: outputs.map((t) => tensorJson(t, f)),
      ...tail,
    });
    if (Buffer.byteLength(full) <= f.maxBytes) return full;
  }
  const bare = (t: Tensor) => ({ name: t.name, datatype: t.datatype, shape: t.shape, truncated: true });
  return JSON.stringify({
    ...head,
    inputs: inputs.map(bare),
    outputs: outputs.map(bare),
    ...tail,
    truncated: true,
  });
}

function tensorJson(t: Tensor, f: PayloadFormat): Record<string, unknown> {
  const meta = { name: t.name, datatype: t.datatype, shape: t.shape };
  return f.redact.has(t.name) ? { ...meta, sha256: sha256Of(t) } : { ...meta, data: jsonData(t) };
}

function jsonData(t: Tensor): unknown[] {
  if (Array.isArray(t.data)) return t.data;
  const data = t.data;
  switch (t.datatype) {
    case 'BOOL':
      return Array.from(data as Uint8Array, (b) => b !== 0);
    case 'FP16':
      return Array.from(data as Uint16Array, halfToNumber);
    case 'INT64':
    case 'UINT64':
      // Exact: beyond 2^53 a decimal string, as the protocol's own JSON writes them.
      return Array.from(data as BigInt64Array | BigUint64Array, (v) => {
        const n = Number(v);
        return Number.isSafeInteger(n) ? n : v.toString();
      });
    default:
      return Array.from(data as ArrayLike<number>);
  }
}

export function sha256Of(t: Tensor): string {
  const hash = createHash('sha256');
  if (Array.isArray(t.data)) {
    const length = Buffer.alloc(4);
    for (const s of t.data) {
      const bytes = Buffer.from(s, 'utf8');
      length.writeUInt32LE(bytes.byteLength);
      hash.update(length);
      hash.update(bytes);
    }
  } else hash.update(bytesOf(t.data));
  return hash.digest('hex');
}
