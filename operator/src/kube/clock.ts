/**
 * Time as the controller machinery sees it. Everything that waits or measures takes a `Clock`, so unit
 * tests can drive time by hand (see `FakeClock` in fake-clock.ts) instead of sleeping.
 */

/** An opaque timer handle returned by `Clock.setTimeout`. */
export type TimerHandle = unknown;

export interface Clock {
  /** Milliseconds on a clock that never goes backwards; only differences are meaningful. */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds (0 or negative: on a later turn of the event loop). */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer. Idempotent; unknown or already-fired handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock: `performance.now()` (monotonic, unaffected by wall-clock jumps) and Node timers. */
export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.max(0, ms)),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Resolves after `ms` on `clock`, or as soon as `signal` aborts (then with `false`). Resolves `true` when the
 * full time elapsed. Never rejects, and clears its timer on abort, so an aborted sleep holds nothing open.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clock.clearTimeout(timer);
      resolve(false);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
