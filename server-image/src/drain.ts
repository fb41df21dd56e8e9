/**
 * When a draining server may close: nothing in progress anywhere (HTTP requests, the batcher) and no activity for
 * a quiet period, so a client in the middle of a keep-alive exchange sends its next request and gets its answer
 * before its connection is closed. Event-driven: it looks again when activity starts or ends and when the quiet
 * period of the last activity is over, on the injected clock; it never polls.
 */
import type { Clock, TimerHandle } from './clock.js';

/** Work the drain waits for. */
export interface Activity {
  /** Nothing in progress. */
  idle(): boolean;
  /** Clock time of the last start or end of work. */
  lastActivity(): number;
  /** Calls `listener` whenever work starts or ends; returns a function that stops the calls. */
  subscribe(listener: () => void): () => void;
}

/**
 * Resolves true once every activity is idle and none has been active for `quietMs`; false if `signal` aborts
 * first (the drain timeout). Leaves no timer or subscription behind either way.
 */
export function whenQuiet(
  activities: readonly Activity[],
  clock: Clock,
  quietMs: number,
  signal?: AbortSignal,
): Promise<boolean> {
  return new Promise((resolve) => {
    let timer: TimerHandle | undefined;
    const unsubscribe: (() => void)[] = [];
    const finish = (quiet: boolean) => {
      if (timer !== undefined) clock.clearTimeout(timer);
      for (const off of unsubscribe) off();
      signal?.removeEventListener('abort', onAbort);
      resolve(quiet);
    };
    const onAbort = () => finish(false);
    const check = () => {
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
      // Busy: the end of that work calls check again.
      if (!activities.every((a) => a.idle())) return;
      const last = Math.max(...activities.map((a) => a.lastActivity()));
      const quietFor = clock.now() - last;
      if (quietFor >= quietMs) finish(true);
      else timer = clock.setTimeout(check, quietMs - quietFor);
    };
    if (signal?.aborted) return resolve(false);
    signal?.addEventListener('abort', onAbort, { once: true });
    for (const a of activities) unsubscribe.push(a.subscribe(check));
    check();
  });
}
