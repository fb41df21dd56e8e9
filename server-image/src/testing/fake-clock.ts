/** A manual clock for tests (excluded from the build: see server-image/tsconfig.build.json). */
import type { Clock, TimerHandle } from '../clock.js';

interface PendingTimer {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * Time moves only when the test calls `advance`, which fires due timers in order of their deadline (then of
 * creation) and lets pending promise callbacks run in between, so code reacting to a timer has settled by the time
 * `advance` resolves.
 */
export class FakeClock implements Clock {
  private current: number;
  private nextId = 1;
  private timers: PendingTimer[] = [];

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, at: this.current + Math.max(0, ms), fn };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** Deadlines of the timers still pending, relative to now, soonest first. */
  pendingDelays(): number[] {
    return this.sorted().map((t) => t.at - this.current);
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    await flushMicrotasks();
    for (;;) {
      const next = this.sorted()[0];
      if (!next || next.at > target) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.current = next.at;
      next.fn();
      await flushMicrotasks();
    }
    this.current = target;
    await flushMicrotasks();
  }

  private sorted(): PendingTimer[] {
    return [...this.timers].sort((a, b) => a.at - b.at || a.id - b.id);
  }
}

/** Lets every already-queued promise callback (and the ones they queue) run. */
export async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
