/**
 * Has anyone changed what the operator applied? Server-side apply already merges, so the only question
 * before writing is whether a write would change anything. The comparison is against the server's own
 * rendering of our last apply (its response, or a dry-run), so defaulting and normalisation (quantities,
 * protocol: TCP, ...) never look like drift. Pure.
 */
import { isDeepStrictEqual } from 'node:util';

/** Top-level fields the API server owns or list responses omit. */
const skippedTopLevel = new Set(['apiVersion', 'kind', 'status']);

/**
 * True when, at every path `desired` sets, `observed` holds the same value as `applied` (the server's
 * rendering of `desired`). Fields set by others (extra labels, extra list entries after ours, status)
 * are not our business and are ignored.
 */
export function matchesApplied(desired: unknown, applied: unknown, observed: unknown, top = true): boolean {
  if (Array.isArray(desired)) {
    if (!Array.isArray(applied) || !Array.isArray(observed)) return isDeepStrictEqual(applied, observed);
    if (observed.length < desired.length) return false;
    return desired.every((d, i) => matchesApplied(d, applied[i], observed[i], false));
  }
  if (desired !== null && typeof desired === 'object') {
    if (!isObject(applied) || !isObject(observed)) return isDeepStrictEqual(applied, observed);
    return Object.entries(desired).every(
      ([k, v]) =>
        v === undefined ||
        (top && skippedTopLevel.has(k)) ||
        matchesApplied(v, applied[k], observed[k], false),
    );
  }
  return isDeepStrictEqual(applied, observed);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
