/**
 * Has anyone changed what the operator applied? Server-side apply already merges, so the only question
 * before writing is whether a write would change anything. The comparison is against the server's own
 * rendering of our last apply (its response, or a dry-run), so defaulting and normalisation (quantities,
 * protocol: TCP, ...) never look like drift. Only a fingerprint of that rendering is kept, projected onto the
 * fields we set, so memory stays small however large the objects are. Pure.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../util/canonical-json.js';

/** Top-level fields the API server owns or list responses omit. */
const skippedTopLevel = new Set(['apiVersion', 'kind', 'status']);

/**
 * The part of `obj` at the paths `desired` sets: fields set by others (extra labels, extra list entries after
 * ours, status) are not our business and are left out. Arrays are compared by position up to our length.
 */
function project(desired: unknown, obj: unknown, top = true): unknown {
  if (Array.isArray(desired)) {
    if (!Array.isArray(obj)) return obj;
    return desired.map((d, i) => project(d, obj[i], false));
  }
  if (desired !== null && typeof desired === 'object') {
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return obj;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(desired)) {
      if (v === undefined || (top && skippedTopLevel.has(k))) continue;
      out[k] = project(v, (obj as Record<string, unknown>)[k], false);
    }
    return out;
  }
  return obj;
}

/** A short digest of `obj` restricted to the fields `desired` sets. */
export function fingerprint(desired: unknown, obj: unknown): string {
  return createHash('sha256')
    .update(canonicalJson(project(desired, obj)))
    .digest('base64url');
}
