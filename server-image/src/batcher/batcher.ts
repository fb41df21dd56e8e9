/**
 * The dynamic batcher: requests queue per batch key; a batch leaves when it reaches `maxBatchSize` rows or when its
 * oldest request has waited `maxQueueDelayMs` (the deadline starts at the first request, as in MLServer and Triton),
 * and at most `maxConcurrentBatches` run at once. A full queue refuses at once (503), never blocks.
 * The batcher knows nothing about tensors: it is given how to size and key a request and how to run a batch.
 * Deadlines are kept on an injected clock, so unit tests move time by hand.
 */
import { realClock, type Clock, type TimerHandle } from '../clock.js';
import { InferenceError } from '../protocol/v2/errors.js';

export interface BatcherOptions {
  /** Most rows in one batch; 1 runs every request alone. */
  maxBatchSize: number;
  /** How long the oldest queued request may wait for a fuller batch. 0 dispatches as soon as a slot is free. */
  maxQueueDelayMs: number;
  /** Most requests waiting (not yet running); beyond it enqueue rejects with a 503. */
  maxQueueSize: number;
  /** Most batches running at the same time. */
  maxConcurrentBatches: number;
}

export interface BatchPolicy<Req> {
  /** Rows a request adds to a batch, or undefined when it must run alone. */
  rows(req: Req): number | undefined;
  /** Requests with equal keys may share a batch. */
  key(req: Req): string;
}

/** Runs a batch; must return one result per request, in order. A rejection fails every request of the batch. */
export type ExecuteBatch<Req, Res> = (requests: Req[]) => Promise<Res[]>;

export interface BatcherHooks {
  /** Time a request spent queued, in milliseconds, when its batch starts. */
  onDequeue?(waitedMs: number): void;
}

interface Queued<Req, Res> {
  req: Req;
  rows: number;
  enqueuedAt: number;
  resolve(res: Res): void;
  reject(err: unknown): void;
}

interface Group<Req, Res> {
  items: Queued<Req, Res>[];
  rows: number;
}

export class Batcher<Req, Res> {
  private readonly groups = new Map<string, Group<Req, Res>>();
  private queuedCount = 0;
  private running = 0;
  private runningRequests = 0;
  private timer: TimerHandle | undefined;
  private aloneCounter = 0;
  private last: number;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly opts: BatcherOptions,
    private readonly policy: BatchPolicy<Req>,
    private readonly execute: ExecuteBatch<Req, Res>,
    private readonly hooks: BatcherHooks = {},
    private readonly clock: Clock = realClock,
  ) {
    this.last = clock.now();
  }

  /** Requests waiting in the queue. */
  get queued(): number {
    return this.queuedCount;
  }

  /** Requests queued or in a running batch. */
  get pending(): number {
    return this.queuedCount + this.runningRequests;
  }

  /** Batches running now. */
  get inflightBatches(): number {
    return this.running;
  }

  /** Nothing queued or running. */
  idle(): boolean {
    return this.queuedCount === 0 && this.running === 0;
  }

  /** Clock time of the last request queued or batch finished. */
  lastActivity(): number {
    return this.last;
  }

  /** Calls `listener` after every request queued and every batch finished (graceful shutdown waits with it). */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Queues a request; resolves with its result. Rejects at once with a 503 InferenceError when the queue is full. */
  enqueue(req: Req): Promise<Res> {
    if (this.queuedCount >= this.opts.maxQueueSize)
      return Promise.reject(
        new InferenceError(
          'unavailable',
          `the request queue is full (${this.opts.maxQueueSize} requests waiting); retry later`,
          'queue_full',
          1,
        ),
      );
    return new Promise<Res>((resolve, reject) => {
      const rows = this.opts.maxBatchSize > 1 ? this.policy.rows(req) : undefined;
      // A request that must run alone gets a key of its own and counts as a full batch.
      const key = rows === undefined ? `alone:${++this.aloneCounter}` : this.policy.key(req);
      const now = this.clock.now();
      this.last = now;
      const item: Queued<Req, Res> = {
        req,
        rows: rows ?? this.opts.maxBatchSize,
        enqueuedAt: now,
        resolve,
        reject,
      };
      let group = this.groups.get(key);
      if (!group) this.groups.set(key, (group = { items: [], rows: 0 }));
      group.items.push(item);
      group.rows += item.rows;
      this.queuedCount++;
      this.schedule();
      this.notify();
    });
  }

  private notify(): void {
    if (this.listeners.size > 0) for (const listener of [...this.listeners]) listener();
  }

  private schedule(): void {
    while (this.running < this.opts.maxConcurrentBatches && this.queuedCount > 0) {
      const [key, group] = this.oldestGroup();
      const waited = this.clock.now() - group.items[0]!.enqueuedAt;
      if (group.rows >= this.opts.maxBatchSize || waited >= this.opts.maxQueueDelayMs) {
        this.dispatch(key, group);
        continue;
      }
      this.armTimer(this.opts.maxQueueDelayMs - waited);
      return;
    }
  }

  private oldestGroup(): [string, Group<Req, Res>] {
    let best: [string, Group<Req, Res>] | undefined;
    for (const entry of this.groups) {
      if (!best || entry[1].items[0]!.enqueuedAt < best[1].items[0]!.enqueuedAt) best = entry;
    }
    return best!;
  }

  private armTimer(ms: number): void {
    if (this.timer !== undefined) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.schedule();
    }, ms);
  }

  /** Takes requests of one key in arrival order up to maxBatchSize rows (at least one) and runs them. */
  private dispatch(key: string, group: Group<Req, Res>): void {
    const batch: Queued<Req, Res>[] = [];
    let rows = 0;
    while (group.items.length > 0) {
      const next = group.items[0]!;
      if (batch.length > 0 && rows + next.rows > this.opts.maxBatchSize) break;
      group.items.shift();
      batch.push(next);
      rows += next.rows;
    }
    group.rows -= rows;
    if (group.items.length === 0) this.groups.delete(key);
    this.queuedCount -= batch.length;
    if (this.timer !== undefined && this.queuedCount === 0) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    const now = this.clock.now();
    for (const item of batch) this.hooks.onDequeue?.(now - item.enqueuedAt);
    this.running++;
    this.runningRequests += batch.length;
    let run: Promise<Res[]>;
    try {
      run = this.execute(batch.map((b) => b.req));
    } catch (err) {
      run = Promise.reject(err);
    }
    run
      .then(
        (results) => {
          batch.forEach((item, i) => item.resolve(results[i]!));
        },
        (err: unknown) => {
          for (const item of batch) item.reject(err);
        },
      )
      .finally(() => {
        this.running--;
        this.runningRequests -= batch.length;
        this.last = this.clock.now();
        this.schedule();
        this.notify();
      });
  }
}
