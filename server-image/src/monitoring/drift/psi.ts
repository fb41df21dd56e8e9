/**
 * Population Stability Index of observed counts against a baseline's frequencies:
 *
 *   PSI = Σ over bins (a − e) · ln(a / e)
 *
 * with a the observed fraction of the bin and e the baseline's. An empty bin (a or e = 0) would make the term
 * infinite, so both fractions are floored at PSI_EPSILON first (each term stays finite and >= 0; the floor is the
 * usual one, 1e-4). Rules of thumb: < 0.1 no shift, 0.1–0.25 a moderate shift, > 0.25 a large one.
 */

export const PSI_EPSILON = 1e-4;

/**
 * `counts[offset .. offset + expected.length)` are the observed counts of the bins; undefined when they are all 0
 * (no samples: no PSI, rather than a misleading 0).
 */
export function psi(
  expected: readonly number[],
  counts: ArrayLike<number>,
  offset = 0,
  epsilon = PSI_EPSILON,
): number | undefined {
  let total = 0;
  for (let i = 0; i < expected.length; i++) total += counts[offset + i]!;
  if (total === 0) return undefined;
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = Math.max(counts[offset + i]! / total, epsilon);
    const e = Math.max(expected[i]!, epsilon);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}
