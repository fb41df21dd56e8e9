/**
 * The JSON merge patch (RFC 7386) that turns `from` into `to`: what changed, and null for every member that `to`
 * no longer has (a merge patch that merely omits a member leaves it as it was). Arrays are replaced whole, as
 * merge patches do. Pure.
 */
export function mergePatch(from: unknown, to: unknown): unknown {
  if (!isObject(from) || !isObject(to)) return to === undefined ? null : to;
  const patch: Record<string, unknown> = {};
  for (const key of Object.keys(from))
    if (from[key] !== undefined && to[key] === undefined) patch[key] = null;
  for (const [key, value] of Object.entries(to)) {
    if (value === undefined) continue;
    if (JSON.stringify(value) === JSON.stringify(from[key])) continue;
    patch[key] = isObject(value) && isObject(from[key]) ? mergePatch(from[key], value) : value;
  }
  return patch;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
