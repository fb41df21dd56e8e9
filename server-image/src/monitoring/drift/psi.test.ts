import { describe, expect, it } from '@jest/globals';
import { PSI_EPSILON, psi } from './psi.js';

describe('psi', () => {
  it('is Σ (a − e) · ln(a / e), computed by hand', () => {
    // Observed 10, 20, 70 of 100 against 0.2, 0.3, 0.5:
    //   (0.1 − 0.2) ln(0.1/0.2) = −0.1 · −0.693147 = 0.0693147
    //   (0.2 − 0.3) ln(0.2/0.3) = −0.1 · −0.405465 = 0.0405465
    //   (0.7 − 0.5) ln(0.7/0.5) =  0.2 ·  0.336472 = 0.0672944
    expect(psi([0.2, 0.3, 0.5], [10, 20, 70])).toBeCloseTo(0.1771556, 6);
  });

  it('is 0 when the observed fractions are the baseline', () => {
    expect(psi([0.25, 0.75], [5, 15])).toBe(0);
  });

  it('floors empty bins at epsilon, on either side', () => {
    const e = PSI_EPSILON;
    expect(psi([0.5, 0.5, 0], [0, 1, 1])).toBeCloseTo(
      (e - 0.5) * Math.log(e / 0.5) + 0 + (0.5 - e) * Math.log(0.5 / e),
      12,
    );
  });

  it('reads the counts at an offset, and is undefined without samples', () => {
    expect(psi([0.5, 0.5], [9, 9, 3, 3], 2)).toBe(0);
    expect(psi([0.5, 0.5], [0, 0])).toBeUndefined();
  });
});
