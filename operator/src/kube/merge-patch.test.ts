import { describe, expect, it } from '@jest/globals';
import { mergePatch } from './merge-patch.js';

/** RFC 7386's MergePatch, to check that applying the patch gives the target. */
function apply(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as object) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = apply(out[k], v);
  }
  return out;
}

describe('mergePatch', () => {
  it.each([
    ['a member removed', { a: 1, b: 2 }, { a: 1 }, { b: null }],
    ['a nested member removed', { c: { x: 1, y: 2 } }, { c: { x: 1 } }, { c: { y: null } }],
    ['a whole object removed', { c: { x: 1 }, d: 1 }, { d: 1 }, { c: null }],
    ['a changed value and an array replaced', { a: 1, l: [1, 2] }, { a: 2, l: [1] }, { a: 2, l: [1] }],
    ['nothing changed', { a: { b: [1] } }, { a: { b: [1] } }, {}],
    ['everything new', undefined, { a: 1 }, { a: 1 }],
  ])('%s', (_what, from, to, expected) => {
    const patch = mergePatch(from, to);
    expect(patch).toEqual(expected);
    expect(apply(from, patch)).toEqual(to);
  });
});
