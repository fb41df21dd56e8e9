import type { Registry } from 'prom-client';
import type { Logger } from '../telemetry/logger.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { realClock, type Clock, type TimerHandle } from './clock.js';
import { counterOn, gaugeOn, histogramOn } from './metrics.js';

/** What a handler returns: nothing, or when to look at the key again although nothing changed. */
export type ReconcileResult = { requeueAfterMs?: number } | void | undefined;

/** Processes one key ("namespace/name"). Throwing means "retry later with backoff". */
export type KeyHandler = (key: string) => Promise<ReconcileResult>;

export interface WorkQueueOptions {
  /** Names the queue in logs and in the `name` label of its metrics, e.g. "modeldeployments". */
  name: string;
  logger: Logger;
  registry: Registry;
  clock?: Clock;
  /** Per-key retry delays after failures. @default 100 ms doubling to 5 min, no jitter */
  backoff?: BackoffOptions;
}

const durationBuckets = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * A level-triggered work queue of keys, like client-go's rate-limited workqueue:
 * - a key is queued at most once however often it is added (events only mean "look again");
 * - a key is never handed to two workers at once: added while being processed, it is marked dirty and
 *   queued again when processing ends;
 * - failed keys come back after a per-key exponential backoff, successful ones are forgotten;
 * - delayed adds keep the earliest deadline.
 * Keys are handed out in FIFO order of their (latest) queuing.
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  /** Keys that need processing: queued, or added again while being processed. */
  private readonly dirty = new Set<string>();
  private readonly active = new Set<string>();
  /** When each dirty key was first added, for the queue-duration histogram. */
  private readonly addedAt = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; timer: TimerHandle }>();
  private readonly failures = new Map<string, number>();
  private readonly idleWorkers: ((key: string | undefined) => void)[] = [];
  private workers: Promise<void>[] = [];
  private shuttingDown = false;
  private readonly clock: Clock;
  private readonly backoff: BackoffOptions;
  private readonly log: Logger;
  private readonly metrics;

  constructor(private readonly o: WorkQueueOptions) {
    this.clock = o.clock ?? realClock;
    this.backoff = o.backoff ?? { initialMs: 100, maxMs: 5 * 60_000, factor: 2 };
    this.log = o.logger.child({ workqueue: o.name });
    const labelNames = ['name'] as const;
    this.metrics = {
      depth: gaugeOn(o.registry, {
        name: 'modelship_operator_workqueue_depth',
        help: 'Keys waiting to be processed (not counting delayed ones).',
        labelNames,
      }),
      queueDuration: histogramOn(o.registry, {
        name: 'modelship_operator_workqueue_queue_duration_seconds',
        help: 'Time from a key being added to a worker starting on it.',
        labelNames,
        buckets: durationBuckets,
      }),
      workDuration: histogramOn(o.registry, {
        name: 'modelship_operator_workqueue_work_duration_seconds',
        help: 'Time a handler took for one key.',
        labelNames,
        buckets: durationBuckets,
      }),
      retries: counterOn(o.registry, {
        name: 'modelship_operator_workqueue_retries_total',
        help: 'Keys re-queued with backoff after a failure.',
        labelNames,
      }),
    };
    this.metrics.depth.set({ name: o.name }, 0);
  }

  /**
   * Queues `key` for processing. No-op when it is already queued, or after shutDown. When it is being
   * processed, it is processed once more after the current run ends.
   */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    this.addedAt.set(key, this.clock.now());
    if (!this.active.has(key)) this.enqueue(key);
  }

  /**
   * Adds `key` after `ms` milliseconds (at once when ms <= 0). If the key is already waiting, the earlier of
   * the two deadlines wins. A delayed key is not counted by len(). No-op after shutDown.
   */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const at = this.clock.now() + ms;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) this.clock.clearTimeout(pending.timer);
    const timer = this.clock.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, timer });
  }

  /**
   * Adds `key` after its backoff: 100 ms for its first failure, doubling with each further one up to
   * 5 minutes (with the default options), until forget(key).
   */
  addRateLimited(key: string): void {
    if (this.shuttingDown) return;
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    this.metrics.retries.inc({ name: this.o.name });
    this.addAfter(key, backoffDelay(n, this.backoff));
  }

  /** Resets `key`'s backoff (it does not remove a pending delayed add). Idempotent. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Keys ready to be handed out now (excluding delayed keys and keys being processed). */
  len(): number {
    return this.queue.length;
  }

  /** Keys handlers are working on right now. */
  processing(): number {
    return this.active.size;
  }

  /**
   * Starts `concurrency` workers that call `handler` for each key, one key per worker at a time. A handler
   * that resolves makes the queue forget the key's failures, then re-adds it after `requeueAfterMs` if
   * given; one that throws gets the key re-added with backoff. Throws if called twice.
   */
  start(handler: KeyHandler, concurrency: number): void {
    if (this.workers.length > 0) throw new Error(`workqueue ${this.o.name} already started`);
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new Error('concurrency must be an integer >= 1');
    for (let i = 0; i < concurrency; i++) this.workers.push(this.work(handler));
  }

  /**
   * Stops handing out keys, drops delayed adds (clearing their timers, so the process can exit), waits for
   * the handlers in flight, and resolves when they have all returned or after `timeoutMs`, whichever comes
   * first (a warning is logged if handlers were still running). add() is a no-op from the first call on.
   * Idempotent.
   */
  async shutDown(options: { timeoutMs?: number } = {}): Promise<void> {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) this.clock.clearTimeout(timer);
    this.delayed.clear();
    for (const wake of this.idleWorkers.splice(0)) wake(undefined);
    const idle = Promise.all(this.workers).then(() => true);
    if (options.timeoutMs === undefined) {
      await idle;
      return;
    }
    let timer: TimerHandle | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = this.clock.setTimeout(() => resolve(false), options.timeoutMs!);
    });
    const finished = await Promise.race([idle, timedOut]);
    this.clock.clearTimeout(timer);
    if (!finished) {
      this.log.warn('shutdown timed out with handlers still running', { keys: [...this.active] });
    }
  }

  private enqueue(key: string): void {
    const worker = this.idleWorkers.shift();
    if (worker) {
      this.take(key);
      worker(key);
      return;
    }
    this.queue.push(key);
    this.metrics.depth.set({ name: this.o.name }, this.queue.length);
  }

  /** Marks `key` as being processed and records how long it waited. */
  private take(key: string): void {
    this.dirty.delete(key);
    this.active.add(key);
    const added = this.addedAt.get(key);
    this.addedAt.delete(key);
    if (added !== undefined) {
      this.metrics.queueDuration.observe({ name: this.o.name }, (this.clock.now() - added) / 1000);
    }
  }

  /** The next key, waiting for one if needed; undefined once shutting down. */
  private next(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) {
      this.metrics.depth.set({ name: this.o.name }, this.queue.length);
      this.take(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.idleWorkers.push(resolve));
  }

  private done(key: string): void {
    this.active.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) this.enqueue(key);
  }

  private async work(handler: KeyHandler): Promise<void> {
    for (;;) {
      const key = await this.next();
      if (key === undefined) return;
      const started = this.clock.now();
      try {
        const result = await handler(key);
        this.forget(key);
        if (result && result.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
      } catch (err) {
        this.onFailure(key, err);
      } finally {
        this.metrics.workDuration.observe({ name: this.o.name }, (this.clock.now() - started) / 1000);
        this.done(key);
      }
    }
  }

  private onFailure(key: string, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.log.warn('handler failed, retrying with backoff', {
      key,
      retries: this.failures.get(key) ?? 0,
      err: message,
    });
    this.addRateLimited(key);
  }
}
