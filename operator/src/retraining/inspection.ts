/**
 * The validation Job's result: what `modelship-server inspect` wrote to its termination message (one JSON object:
 * `{"ok":true,"signature":{...},"sha256":"...","loadMs":n,"holdout":{"rows":n,"accuracy":x}}` or
 * `{"ok":false,"reason":"..."}`). Pure.
 */
import type { Signature, TensorSpec } from './gate.js';

export type Inspection =
  | { ok: true; signature: Signature; sha256?: string; loadMs?: number; holdout?: Record<string, number> }
  | { ok: false; reason: string };

const fail = (reason: string): Inspection => ({ ok: false, reason });

function tensors(value: unknown, what: string): TensorSpec[] | string {
  if (!Array.isArray(value)) return `signature.${what} is not a list`;
  const out: TensorSpec[] = [];
  for (const t of value as unknown[]) {
    const o = t as Record<string, unknown>;
    if (!o || typeof o.name !== 'string' || typeof o.datatype !== 'string' || !Array.isArray(o.shape))
      return `signature.${what} has an entry without name, datatype and shape`;
    if (!(o.shape as unknown[]).every((d) => Number.isInteger(d)))
      return `signature.${what}.${o.name} has a shape that is not a list of integers`;
    out.push({ name: o.name, datatype: o.datatype, shape: o.shape as number[] });
  }
  return out;
}

export function parseInspection(message: string): Inspection {
  const text = message.trim();
  if (!text) return fail('the validation job wrote no result to its termination message');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return fail(`the validation job's result is not JSON: ${text.slice(0, 200)}`);
  }
  const o = parsed as Record<string, unknown>;
  if (!o || typeof o !== 'object' || Array.isArray(o))
    return fail("the validation job's result is not a JSON object");
  if (o.ok !== true)
    return fail(typeof o.reason === 'string' && o.reason ? o.reason : 'validation failed without a reason');
  const sig = o.signature as Record<string, unknown> | undefined;
  if (!sig || typeof sig !== 'object') return fail("the validation job's result has no signature");
  const inputs = tensors(sig.inputs, 'inputs');
  if (typeof inputs === 'string') return fail(inputs);
  const outputs = tensors(sig.outputs, 'outputs');
  if (typeof outputs === 'string') return fail(outputs);
  const holdout: Record<string, number> = {};
  if (o.holdout && typeof o.holdout === 'object')
    for (const [k, v] of Object.entries(o.holdout as Record<string, unknown>))
      if (k !== 'rows' && typeof v === 'number' && Number.isFinite(v)) holdout[k] = v;
  return {
    ok: true,
    signature: { inputs, outputs },
    ...(typeof o.sha256 === 'string' ? { sha256: o.sha256 } : {}),
    ...(typeof o.loadMs === 'number' ? { loadMs: o.loadMs } : {}),
    ...(Object.keys(holdout).length ? { holdout } : {}),
  };
}
