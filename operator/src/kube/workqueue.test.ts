import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { silentLogger } from '../telemetry/logger.js';
import { FakeClock, flushMicrotasks } from './testing/fake-clock.js';
import { WorkQueue, type KeyHandler } from './workqueue.js';

function deferred() {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function setup() {
  const clock = new FakeClock();
  const registry = new Registry();
  const queue = new WorkQueue({ name: 'test', logger: silentLogger(), registry, clock });
  return { clock, registry, queue };
}

async function counterValue(registry: Registry, name: string): Promise<number> {
  return (await registry.getSingleMetric(name)!.get()).values[0]?.value ?? 0;
}

async function histogramSum(registry: Registry, name: string): Promise<number | undefined> {
  const values = (await registry.getSingleMetric(name)!.get()).values as {
    metricName?: string;
    value: number;
  }[];
  return values.find((v) => v.metricName === `${name}_sum`)?.value;
}

/** A handler that records calls and blocks each one until the test releases it. */
function blockingHandler() {
  const calls: string[] = [];
  const pending = new Map<string, ReturnType<typeof deferred>[]>();
  let running = 0;
  let maxRunning = 0;
  const handler: KeyHandler = async (key) => {
    calls.push(key);
    running++;
    maxRunning = Math.max(maxRunning, running);
    const d = deferred();
    pending.set(key, [...(pending.get(key) ?? []), d]);
    try {
      await d.promise;
    } finally {
      running--;
    }
  };
  const finish = async (key: string, err?: Error) => {
    const d = pending.get(key)?.shift();
    if (!d) throw new Error(`no call of ${key} is running`);
    if (err) d.reject(err);
    else d.resolve();
    await flushMicrotasks();
  };
  return { handler, calls, finish, running: () => running, maxRunning: () => maxRunning };
}

describe('WorkQueue', () => {
  it('queues a key at most once however often it is added', async () => {
    const { queue } = setup();
    queue.add('ns/a');
    queue.add('ns/a');
    queue.add('ns/b');
    queue.add('ns/a');
    expect(queue.len()).toBe(2);
    const seen: string[] = [];
    queue.start(async (key) => {
      seen.push(key);
    }, 1);
    await flushMicrotasks();
    expect(seen).toEqual(['ns/a', 'ns/b']);
    expect(queue.len()).toBe(0);
    await queue.shutDown();
  });

  it('never hands one key to two workers, and processes a key added meanwhile once more afterwards', async () => {
    const { queue } = setup();
    const h = blockingHandler();
    queue.start(h.handler, 4);
    queue.add('ns/a');
    await flushMicrotasks();
    expect(h.calls).toEqual(['ns/a']);
    // Added three times while being processed: marked dirty, not handed to the three idle workers.
    queue.add('ns/a');
    queue.add('ns/a');
    queue.add('ns/a');
    await flushMicrotasks();
    expect(h.calls).toEqual(['ns/a']);
    expect(queue.processing()).toBe(1);
    expect(queue.len()).toBe(0);
    await h.finish('ns/a');
    expect(h.calls).toEqual(['ns/a', 'ns/a']);
    expect(h.maxRunning()).toBe(1);
    await h.finish('ns/a');
    expect(h.calls).toEqual(['ns/a', 'ns/a']);
    expect(queue.processing()).toBe(0);
    await queue.shutDown();
  });

  it('runs at most `concurrency` handlers at once, in FIFO order', async () => {
    const { queue } = setup();
    const h = blockingHandler();
    for (let i = 0; i < 10; i++) queue.add(`ns/k${i}`);
    queue.start(h.handler, 3);
    await flushMicrotasks();
    expect(h.calls).toEqual(['ns/k0', 'ns/k1', 'ns/k2']);
    expect(queue.len()).toBe(7);
    await h.finish('ns/k1');
    expect(h.calls).toEqual(['ns/k0', 'ns/k1', 'ns/k2', 'ns/k3']);
    for (let i = 0; i < 10; i++) if (i !== 1) await h.finish(`ns/k${i}`);
    expect(h.calls).toHaveLength(10);
    expect(h.maxRunning()).toBe(3);
    await queue.shutDown();
  });

  it('retries a failing key with per-key exponential backoff and resets it on success', async () => {
    const { queue, clock, registry } = setup();
    let failuresLeft = 3;
    const calls: number[] = [];
    queue.start(async (key) => {
      calls.push(clock.now());
      if (key === 'ns/a' && failuresLeft-- > 0) throw new Error('boom');
    }, 1);
    queue.add('ns/a');
    await flushMicrotasks();
    expect(clock.pendingDelays()).toEqual([100]);
    await clock.advance(100);
    expect(clock.pendingDelays()).toEqual([200]);
    await clock.advance(200);
    expect(clock.pendingDelays()).toEqual([400]);
    await clock.advance(399);
    expect(calls).toEqual([0, 100, 300]);
    await clock.advance(1);
    expect(calls).toEqual([0, 100, 300, 700]);
    // Success forgot the failures: the next failure starts from 100 ms again.
    expect(clock.pendingDelays()).toEqual([]);
    failuresLeft = 1;
    queue.add('ns/a');
    await flushMicrotasks();
    expect(clock.pendingDelays()).toEqual([100]);
    expect(await counterValue(registry, 'modelship_operator_workqueue_retries_total')).toBe(4);
    await queue.shutDown();
  });

  it('doubles the delay of a key that keeps failing up to 5 minutes', async () => {
    const { queue, clock } = setup();
    queue.start(async () => {
      throw new Error('always');
    }, 1);
    queue.add('ns/a');
    await flushMicrotasks();
    const delays: number[] = [];
    for (let i = 0; i < 14; i++) {
      const [delay] = clock.pendingDelays();
      delays.push(delay!);
      await clock.advance(delay!);
    }
    expect(delays).toEqual([
      100, 200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, 51_200, 102_400, 204_800, 300_000, 300_000,
    ]);
    await queue.shutDown();
  });

  it('keeps the earliest deadline of delayed adds and adds the key once', async () => {
    const { queue, clock } = setup();
    const calls: [string, number][] = [];
    queue.start(async (key) => {
      calls.push([key, clock.now()]);
    }, 2);
    queue.addAfter('ns/a', 1000);
    queue.addAfter('ns/a', 500); // earlier: replaces
    queue.addAfter('ns/a', 2000); // later: ignored
    expect(clock.pendingDelays()).toEqual([500]);
    expect(queue.len()).toBe(0);
    await clock.advance(499);
    expect(calls).toEqual([]);
    await clock.advance(1);
    expect(calls).toEqual([['ns/a', 500]]);
    await clock.advance(5000);
    expect(calls).toEqual([['ns/a', 500]]);
    queue.addAfter('ns/b', 0); // no delay: added at once
    await flushMicrotasks();
    expect(calls).toEqual([
      ['ns/a', 500],
      ['ns/b', 5500],
    ]);
    await queue.shutDown();
  });

  it('requeues after requeueAfterMs when the handler asks for it', async () => {
    const { queue, clock } = setup();
    const calls: number[] = [];
    queue.start(async () => {
      calls.push(clock.now());
      return calls.length < 3 ? { requeueAfterMs: 1000 } : undefined;
    }, 1);
    queue.add('ns/a');
    await clock.advance(10_000);
    expect(calls).toEqual([0, 1000, 2000]);
    await queue.shutDown();
  });

  it('treats a handler that throws synchronously like one that rejects', async () => {
    const { queue, clock } = setup();
    let calls = 0;
    queue.start(
      ((): Promise<void> => {
        calls++;
        throw new Error('sync');
      }) as KeyHandler,
      1,
    );
    queue.add('ns/a');
    await flushMicrotasks();
    expect(calls).toBe(1);
    expect(clock.pendingDelays()).toEqual([100]);
    await queue.shutDown();
  });

  it('on shutDown hands out nothing new, waits for handlers in flight and clears its timers', async () => {
    const { queue, clock } = setup();
    const h = blockingHandler();
    queue.start(h.handler, 2);
    queue.add('ns/a');
    queue.add('ns/b');
    queue.add('ns/c');
    queue.addAfter('ns/d', 1000);
    await flushMicrotasks();
    expect(h.calls).toEqual(['ns/a', 'ns/b']);
    let done = false;
    const shutdown = queue.shutDown().then(() => (done = true));
    expect(clock.pendingDelays()).toEqual([]);
    queue.add('ns/e');
    queue.add('ns/a'); // would be a dirty requeue: dropped
    await h.finish('ns/a');
    expect(done).toBe(false);
    expect(h.calls).toEqual(['ns/a', 'ns/b']); // ns/c stays queued
    await h.finish('ns/b');
    await shutdown;
    expect(done).toBe(true);
    expect(h.calls).toEqual(['ns/a', 'ns/b']);
    expect(queue.processing()).toBe(0);
    await clock.advance(10_000);
    expect(h.calls).toEqual(['ns/a', 'ns/b']);
  });

  it('stops waiting for a stuck handler after the shutdown timeout', async () => {
    const { queue, clock } = setup();
    queue.start(() => new Promise(() => undefined), 1);
    queue.add('ns/stuck');
    await flushMicrotasks();
    let done = false;
    const shutdown = queue.shutDown({ timeoutMs: 5000 }).then(() => (done = true));
    await clock.advance(4999);
    expect(done).toBe(false);
    await clock.advance(1);
    await shutdown;
    expect(done).toBe(true);
    expect(queue.processing()).toBe(1);
  });

  it('resolves shutDown at once when never started, and refuses a second start', async () => {
    const { queue } = setup();
    await queue.shutDown();
    const other = setup().queue;
    other.start(async () => undefined, 1);
    expect(() => other.start(async () => undefined, 1)).toThrow(/already started/);
    expect(() => setup().queue.start(async () => undefined, 0)).toThrow(/concurrency/);
    await other.shutDown();
  });

  it('reports depth, queue time and work time', async () => {
    const { queue, clock, registry } = setup();
    const h = blockingHandler();
    queue.add('ns/a');
    queue.add('ns/b');
    const depth = async () =>
      (await registry.getSingleMetric('modelship_operator_workqueue_depth')!.get()).values[0]!.value;
    expect(await depth()).toBe(2);
    await clock.advance(2000);
    queue.start(h.handler, 1);
    await flushMicrotasks();
    expect(await depth()).toBe(1);
    await clock.advance(3000);
    await h.finish('ns/a');
    expect(await histogramSum(registry, 'modelship_operator_workqueue_queue_duration_seconds')).toBe(2 + 5);
    expect(await histogramSum(registry, 'modelship_operator_workqueue_work_duration_seconds')).toBe(3);
    await h.finish('ns/b');
    await queue.shutDown();
  });
});
