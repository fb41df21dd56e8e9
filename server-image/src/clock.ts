/**
 * Time as the serving runtime sees it. What waits or decides by time (the batcher's deadlines, load retries, the
 * shutdown drain) takes a Clock, so unit tests drive time by hand (testing/fake-clock.ts) instead of sleeping.
 * The server's own copy: it must not import operator code (the image ships the server only).
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

/** The real clock: performance.now() (monotonic, unaffected by wall-clock jumps) and Node's timers. */
export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.max(0, ms)),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Resolves after `ms` on `clock`. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}
