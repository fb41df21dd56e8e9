import { describe, expect, it } from '@jest/globals';
import { whenQuiet, type Activity } from './drain.js';
import { FakeClock, flushMicrotasks } from './testing/fake-clock.js';

/** An Activity the test starts and ends work on by hand, timed on `clock`. */
function activity(clock: FakeClock) {
  let busy = 0;
  let last = clock.now();
  const listeners = new Set<() => void>();
  const change = (delta: number) => {
    busy += delta;
    last = clock.now();
    for (const l of [...listeners]) l();
  };
  const a: Activity & { start(): void; end(): void; listeners: number } = {
    idle: () => busy === 0,
    lastActivity: () => last,
    subscribe: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    start: () => change(1),
    end: () => change(-1),
    get listeners() {
      return listeners.size;
    },
  };
  return a;
}

/** Tracks a promise's outcome without awaiting it. */
function watch<T>(p: Promise<T>): { settled: boolean; value?: T } {
  const w: { settled: boolean; value?: T } = { settled: false };
  void p.then((value) => Object.assign(w, { settled: true, value }));
  return w;
}

describe('whenQuiet', () => {
  it('resolves at once when everything has been idle for the quiet period already', async () => {
    const clock = new FakeClock();
    const http = activity(clock);
    await clock.advance(1000);
    const quiet = watch(whenQuiet([http], clock, 1000));
    await flushMicrotasks();
    expect(quiet).toEqual({ settled: true, value: true });
    expect(http.listeners).toBe(0);
  });

  it('waits for the rest of the quiet period after the last activity, to the millisecond', async () => {
    const clock = new FakeClock();
    const http = activity(clock);
    await clock.advance(300);
    http.start();
    http.end(); // last activity at 300
    await clock.advance(200);
    const quiet = watch(whenQuiet([http], clock, 1000));
    await clock.advance(799);
    expect(quiet.settled).toBe(false);
    await clock.advance(1);
    expect(quiet).toEqual({ settled: true, value: true });
  });

  it('waits while any activity is busy, and starts the quiet period again at each start and end', async () => {
    const clock = new FakeClock();
    const http = activity(clock);
    const batcher = activity(clock);
    http.start();
    batcher.start();
    const quiet = watch(whenQuiet([http, batcher], clock, 1000));
    await clock.advance(5000);
    http.end(); // at 5000; the batcher is still busy
    await clock.advance(5000);
    expect(quiet.settled).toBe(false);
    batcher.end(); // at 10000
    await clock.advance(600);
    http.start(); // a request on an open connection at 10600
    await clock.advance(1000);
    expect(quiet.settled).toBe(false);
    http.end(); // at 11600
    await clock.advance(999);
    expect(quiet.settled).toBe(false);
    await clock.advance(1);
    expect(quiet).toEqual({ settled: true, value: true });
    expect([http.listeners, batcher.listeners, clock.pendingDelays()]).toEqual([0, 0, []]);
  });

  it('resolves false when the signal aborts first, leaving no timer or subscription', async () => {
    const clock = new FakeClock();
    const http = activity(clock);
    http.start();
    const abort = new AbortController();
    const quiet = watch(whenQuiet([http], clock, 1000, abort.signal));
    await clock.advance(100);
    abort.abort();
    await flushMicrotasks();
    expect(quiet).toEqual({ settled: true, value: false });
    expect([http.listeners, clock.pendingDelays()]).toEqual([0, []]);
    http.end();
    const already = new AbortController();
    already.abort();
    await expect(whenQuiet([http], clock, 1000, already.signal)).resolves.toBe(false);
  });
});
