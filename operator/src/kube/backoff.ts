/**
 * Exponential backoff with jitter. Pure: the random source is injected.
 *
 * Worked example with the informer's defaults (initial 200 ms, factor 2, max 30 s, jitter 0.2):
 * attempt 0 → 200 ms, 1 → 400 ms, 2 → 800 ms, … 7 → 25.6 s, 8 and later → 30 s; each then stretched by a
 * random 0–20 %, so many clients that failed together do not retry together.
 */
export interface BackoffOptions {
  /** Delay before the first retry. */
  initialMs: number;
  /** Ceiling for the delay before jitter. */
  maxMs: number;
  /** Growth per consecutive failure. @default 2 */
  factor?: number;
  /** Extra random fraction added on top: delay × (1 + jitter × random()). @default 0 */
  jitter?: number;
  /** Source of randomness in [0, 1). @default Math.random */
  random?: () => number;
}

/** The delay for the `attempt`-th consecutive failure (0-based), before jitter. */
export function backoffDelay(attempt: number, o: BackoffOptions): number {
  const factor = o.factor ?? 2;
  // Cap the exponent so huge attempt counts cannot overflow to Infinity/NaN.
  const exp = Math.min(attempt, 64);
  return Math.min(o.maxMs, o.initialMs * Math.pow(factor, exp));
}

/** Stateful backoff for one retrying activity (one watch, one queue key). */
export class Backoff {
  private failures = 0;

  constructor(private readonly options: BackoffOptions) {}

  /** Records one more failure and returns how long to wait before the next try. */
  next(): number {
    const base = backoffDelay(this.failures, this.options);
    this.failures++;
    const jitter = this.options.jitter ?? 0;
    const random = this.options.random ?? Math.random;
    return Math.round(base * (1 + jitter * random()));
  }

  /** Forgets past failures: the next delay is the initial one again. Idempotent. */
  reset(): void {
    this.failures = 0;
  }
}
