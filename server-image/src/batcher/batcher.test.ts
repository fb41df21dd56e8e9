import { describe, expect, it } from '@jest/globals';
import { Batcher, type BatcherOptions } from './batcher.js';

/** A request is [key, rows]; a batch resolves each request with the list of requests it ran with. */
type Req = { id: string; key: string; rows?: number };

function harness(opts: Partial<BatcherOptions> = {}) {
  const batches: string[][] = [];
  const gates: (() => void)[] = [];
  const batcher = new Batcher<Req, string[]>(
    { maxBatchSize: 4, maxQueueDelayMs: 20, maxQueueSize: 100, maxConcurrentBatches: 1, ...opts },
    { rows: (r) => r.rows, key: (r) => r.key },
    (reqs) => {
      const ids = reqs.map((r) => r.id);
      batches.push(ids);
      // Each batch runs until the test opens its gate (or at once when no gate is wanted).
      return new Promise((resolve) => gates.push(() => resolve(reqs.map(() => ids))));
    },
  );
  const openAll = () => {
    while (gates.length) gates.shift()!();
  };
  return { batcher, batches, gates, openAll };
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('Batcher', () => {
  it('dispatches at once when maxBatchSize rows are queued', async () => {
    const h = harness({ maxQueueDelayMs: 60_000 });
    const done = ['a', 'b', 'c', 'd'].map((id) => h.batcher.enqueue({ id, key: 'k', rows: 1 }));
    await tick();
    expect(h.batches).toEqual([['a', 'b', 'c', 'd']]);
    h.openAll();
    expect(await Promise.all(done)).toEqual(Array(4).fill(['a', 'b', 'c', 'd']));
  });

  it('dispatches a partial batch when the oldest request has waited maxQueueDelayMs', async () => {
    const h = harness({ maxQueueDelayMs: 30 });
    void h.batcher.enqueue({ id: 'a', key: 'k', rows: 1 });
    await tick(10);
    void h.batcher.enqueue({ id: 'b', key: 'k', rows: 1 });
    expect(h.batches).toEqual([]);
    await tick(40);
    expect(h.batches).toEqual([['a', 'b']]);
    h.openAll();
  });

  it('never puts more than maxBatchSize rows in one batch; a request bigger than that runs alone', async () => {
    const h = harness({ maxQueueDelayMs: 0, maxBatchSize: 4 });
    void h.batcher.enqueue({ id: 'blocker', key: 'k', rows: 1 });
    await tick();
    // The only slot is busy: these three queue up together.
    for (const [id, rows] of [
      ['a', 3],
      ['c', 1],
      ['b', 2],
      ['big', 9],
    ] as const)
      void h.batcher.enqueue({ id, key: 'k', rows });
    for (let i = 0; i < 5; i++) {
      h.openAll();
      await tick();
    }
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
    await tick(30);
    expect(h.batches).toEqual([['a1', 'a2']]); // one slot: B waits for it
    h.openAll();
    await tick(5);
    expect(h.batches).toEqual([
      ['a1', 'a2'],
      ['b1', 'b2'],
    ]);
    h.openAll();
  });

  it('requests that must run alone (rows undefined) are never merged', async () => {
    const h = harness({ maxQueueDelayMs: 0, maxConcurrentBatches: 5 });
    for (const id of ['x', 'y']) void h.batcher.enqueue({ id, key: 'k' });
    await tick();
    expect(h.batches).toEqual([['x'], ['y']]);
    h.openAll();
  });

  it('limits concurrent batches, and queued requests form the next batch when a slot frees', async () => {
    const h = harness({ maxQueueDelayMs: 0, maxBatchSize: 100 });
    void h.batcher.enqueue({ id: 'a', key: 'k', rows: 1 });
    await tick();
    for (const id of ['b', 'c', 'd']) void h.batcher.enqueue({ id, key: 'k', rows: 1 });
    await tick();
    expect(h.batches).toEqual([['a']]);
    expect(h.batcher.queued).toBe(3);
    h.openAll();
    await tick();
    expect(h.batches).toEqual([['a'], ['b', 'c', 'd']]);
    h.openAll();
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
    // The queued ones still complete (and no timer outlives the test).
    await tick(250);
    h.openAll();
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
    );
    await expect(batcher.enqueue({ id: 'a', key: 'k' })).rejects.toThrow('boom');
    await expect(batcher.enqueue({ id: 'b', key: 'k' })).resolves.toBe('b');
  });

  it('pending counts queued requests and those of running batches', async () => {
    const h = harness({ maxQueueDelayMs: 0, maxBatchSize: 2 });
    void h.batcher.enqueue({ id: 'a', key: 'k', rows: 1 });
    await tick();
    for (const id of ['b', 'c', 'd']) void h.batcher.enqueue({ id, key: 'k', rows: 1 });
    expect(h.batcher.pending).toBe(4); // 'a' running, three queued
    h.openAll();
    await tick();
    expect(h.batches).toEqual([['a'], ['b', 'c']]);
    expect(h.batcher.pending).toBe(3); // 'b' and 'c' running, 'd' queued
    for (let i = 0; i < 3; i++) {
      h.openAll();
      await tick();
    }
    expect(h.batcher.pending).toBe(0);
  });

  it('whenIdle resolves once nothing is queued or running', async () => {
    const h = harness({ maxQueueDelayMs: 0 });
    void h.batcher.enqueue({ id: 'a', key: 'k', rows: 1 });
    let idle = false;
    void h.batcher.whenIdle().then(() => (idle = true));
    await tick();
    expect(idle).toBe(false);
    h.openAll();
    await tick();
    expect(idle).toBe(true);
  });
});
