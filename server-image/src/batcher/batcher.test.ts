import { describe, expect, it } from '@jest/globals';
import { FakeClock, flushMicrotasks } from '../testing/fake-clock.js';
import { Batcher, type BatcherOptions } from './batcher.js';

/** A request has an id, a batch key and its rows (undefined: it must run alone). */
type Req = { id: string; key: string; rows?: number };

/**
 * A batcher on a fake clock whose batches each resolve every request with the ids of the batch, once the test
 * opens the batch's gate.
 */
function harness(opts: Partial<BatcherOptions> = {}) {
  const clock = new FakeClock();
  const batches: string[][] = [];
  const gates: (() => void)[] = [];
  const waited: number[] = [];
  const batcher = new Batcher<Req, string[]>(
    { maxBatchSize: 4, maxQueueDelayMs: 20, maxQueueSize: 100, maxConcurrentBatches: 1, ...opts },
    { rows: (r) => r.rows, key: (r) => r.key },
    (reqs) => {
      const ids = reqs.map((r) => r.id);
      batches.push(ids);
      return new Promise((resolve) => gates.push(() => resolve(reqs.map(() => ids))));
    },
    { onDequeue: (ms) => waited.push(ms) },
    clock,
  );
  /** Opens every running batch's gate and lets the batcher react. */
  const openAll = async () => {
    while (gates.length) gates.shift()!();
    await flushMicrotasks();
  };
  return { batcher, batches, openAll, clock, waited };
}

describe('Batcher', () => {
  it('dispatches at once when maxBatchSize rows are queued', async () => {
    const h = harness({ maxQueueDelayMs: 60_000 });
    const done = ['a', 'b', 'c', 'd'].map((id) => h.batcher.enqueue({ id, key: 'k', rows: 1 }));
    expect(h.batches).toEqual([['a', 'b', 'c', 'd']]);
    expect(h.clock.pendingDelays()).toEqual([]); // no deadline left behind
    await h.openAll();
    expect(await Promise.all(done)).toEqual(Array(4).fill(['a', 'b', 'c', 'd']));
  });

  it('dispatches a partial batch exactly when the oldest request has waited maxQueueDelayMs', async () => {
    const h = harness({ maxQueueDelayMs: 30 });
    void h.batcher.enqueue({ id: 'a', key: 'k', rows: 1 });
    await h.clock.advance(10);
    void h.batcher.enqueue({ id: 'b', key: 'k', rows: 1 });
    // The deadline runs from the first request, not the last.
    expect(h.clock.pendingDelays()).toEqual([20]);
    await h.clock.advance(19);
    expect(h.batches).toEqual([]);
    await h.clock.advance(1);
    expect(h.batches).toEqual([['a', 'b']]);
    expect(h.waited).toEqual([30, 20]);
    await h.openAll();
  });

  it('with maxQueueDelayMs 0 dispatches at once, and requests queued meanwhile form the next batch', async () => {
    const h = harness({ maxQueueDelayMs: 0, maxBatchSize: 100 });
    void h.batcher.enqueue({ id: 'a', key: 'k', rows: 1 });
    expect(h.batches).toEqual([['a']]);
    for (const id of ['b', 'c', 'd']) void h.batcher.enqueue({ id, key: 'k', rows: 1 });
    expect(h.batches).toEqual([['a']]);
    expect(h.batcher.queued).toBe(3);
    await h.openAll();
    expect(h.batches).toEqual([['a'], ['b', 'c', 'd']]);
    expect(h.clock.pendingDelays()).toEqual([]); // never a timer
    await h.openAll();
  });

  it('never puts more than maxBatchSize rows in one batch; a request bigger than that runs alone', async () => {
    const h = harness({ maxQueueDelayMs: 0, maxBatchSize: 4 });
    void h.batcher.enqueue({ id: 'blocker', key: 'k', rows: 1 });
    // The only slot is busy: these queue up together.
    for (const [id, rows] of [
      ['a', 3],
      ['c', 1],
      ['b', 2],
      ['big', 9],
    ] as const)
      void h.batcher.enqueue({ id, key: 'k', rows });
    for (let i = 0; i < 5; i++) await h.openAll();
    expect(h.batches).toEqual([['blocker'], ['a', 'c'], ['b'], ['big']]);
  });

  it('batches only requests with the same key, oldest key first', async () => {
    const h = harness({ maxQueueDelayMs: 10 });
    for (const [id, key] of [
      ['a1', 'A'],
      ['b1', 'B'],
      ['a2', 'A'],
      ['b2', 'B'],
    ])
      void h.batcher.enqueue({ id: id!, key: key!, rows: 1 });
    await h.clock.advance(10);
    expect(h.batches).toEqual([['a1', 'a2']]); // one slot: B waits for it
    await h.openAll();
    expect(h.batches).toEqual([
      ['a1', 'a2'],
      ['b1', 'b2'],
    ]);
    await h.openAll();
  });

  it('requests that must run alone (rows undefined) are never merged', async () => {
    const h = harness({ maxQueueDelayMs: 0, maxConcurrentBatches: 5 });
    for (const id of ['x', 'y']) void h.batcher.enqueue({ id, key: 'k' });
    expect(h.batches).toEqual([['x'], ['y']]);
    await h.openAll();
  });

  it('runs at most maxConcurrentBatches at a time', async () => {
    const h = harness({ maxQueueDelayMs: 0, maxBatchSize: 1, maxConcurrentBatches: 2 });
    for (const id of ['a', 'b', 'c']) void h.batcher.enqueue({ id, key: 'k', rows: 1 });
    expect(h.batches).toEqual([['a'], ['b']]);
    expect(h.batcher.inflightBatches).toBe(2);
    await h.openAll();
    expect(h.batches).toEqual([['a'], ['b'], ['c']]);
    await h.openAll();
  });

  it('rejects at once with a 503 queue_full when maxQueueSize requests wait', async () => {
    const h = harness({ maxQueueDelayMs: 200, maxBatchSize: 100, maxQueueSize: 2 });
    const queued = [
      h.batcher.enqueue({ id: 'a', key: 'k', rows: 1 }),
      h.batcher.enqueue({ id: 'b', key: 'k', rows: 1 }),
    ];
    await expect(h.batcher.enqueue({ id: 'c', key: 'k', rows: 1 })).rejects.toMatchObject({
      kind: 'unavailable',
      reason: 'queue_full',
      retryAfterSeconds: 1,
    });
    expect(h.batches).toEqual([]);
    // The queued ones still complete.
    await h.clock.advance(200);
    await h.openAll();
    expect(await Promise.all(queued)).toEqual([
      ['a', 'b'],
      ['a', 'b'],
    ]);
  });

  it('a failing batch rejects each of its requests, and the batcher goes on', async () => {
    let calls = 0;
    const batcher = new Batcher<Req, string>(
      { maxBatchSize: 2, maxQueueDelayMs: 0, maxQueueSize: 10, maxConcurrentBatches: 1 },
      { rows: () => 1, key: () => 'k' },
      async (reqs) => {
        if (calls++ === 0) throw new Error('boom');
        return reqs.map((r) => r.id);
      },
      {},
      new FakeClock(),
    );
    await expect(batcher.enqueue({ id: 'a', key: 'k' })).rejects.toThrow('boom');
    await expect(batcher.enqueue({ id: 'b', key: 'k' })).resolves.toBe('b');
  });

  it('pending counts queued requests and those of running batches', async () => {
    const h = harness({ maxQueueDelayMs: 0, maxBatchSize: 2 });
    void h.batcher.enqueue({ id: 'a', key: 'k', rows: 1 });
    for (const id of ['b', 'c', 'd']) void h.batcher.enqueue({ id, key: 'k', rows: 1 });
    expect(h.batcher.pending).toBe(4); // 'a' running, three queued
    await h.openAll();
    expect(h.batches).toEqual([['a'], ['b', 'c']]);
    expect(h.batcher.pending).toBe(3); // 'b' and 'c' running, 'd' queued
    for (let i = 0; i < 3; i++) await h.openAll();
    expect(h.batcher.pending).toBe(0);
  });

  it('tells subscribers when requests queue and batches end, and whether it is idle since when', async () => {
    const h = harness({ maxQueueDelayMs: 5 });
    let calls = 0;
    const unsubscribe = h.batcher.subscribe(() => calls++);
    expect(h.batcher.idle()).toBe(true);
    await h.clock.advance(100);
    void h.batcher.enqueue({ id: 'a', key: 'k', rows: 1 });
    expect([calls, h.batcher.idle(), h.batcher.lastActivity()]).toEqual([1, false, 100]);
    await h.clock.advance(5); // dispatched: still busy
    expect([calls, h.batcher.idle()]).toEqual([1, false]);
    await h.clock.advance(7);
    await h.openAll();
    expect([calls, h.batcher.idle(), h.batcher.lastActivity()]).toEqual([2, true, 112]);
    unsubscribe();
    void h.batcher.enqueue({ id: 'b', key: 'k', rows: 1 });
    expect(calls).toBe(2);
    await h.clock.advance(5);
    await h.openAll();
  });
});
