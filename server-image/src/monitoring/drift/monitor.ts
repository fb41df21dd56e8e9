/**
 * The drift monitor, an InferenceObserver: observe() only queues the record (bounded; what does not fit is counted
 * in modelship_drift_dropped_total), and the queue is drained on setImmediate, a batch of records per turn of the
 * event loop, so an answer never waits for it. Successful requests only: their input rows go into the sliding
 * window of the baseline's bins (tracker.ts), their outputs into the prediction distribution (predictions.ts).
 * Until a baseline is set (it is fetched while the model loads, load.ts) only predictions are counted.
 */
import type { Registry } from 'prom-client';
import type { Clock } from '../../clock.js';
import type { ModelLabels } from '../../metrics.js';
import type { InferenceObserver, InferenceRecord } from '../observer.js';
import type { Baseline } from './baseline.js';
import { DriftMetrics } from './metrics.js';
import { PredictionCounter } from './predictions.js';
import { DriftTracker, type DriftSnapshot } from './tracker.js';

export interface DriftMonitorOptions {
  labels: ModelLabels;
  windowMs: number;
  /** Its now() places samples in the window and ends the window at each scrape. */
  clock: Clock;
  registry: Registry;
  /** Records waiting at most (default 4096). */
  maxQueuedRecords?: number;
  /** Tensor elements (inputs and outputs) waiting at most, which bounds the memory the queue keeps alive (default 4M). */
  maxQueuedValues?: number;
  /** Records handled per turn of the event loop (default 256). */
  batchSize?: number;
  /** An unexpected failure while counting (never reaches a request). */
  onError?: (err: unknown) => void;
}

export class DriftMonitor implements InferenceObserver {
  readonly metrics: DriftMetrics;
  private tracker: DriftTracker | undefined;
  private readonly predictions: PredictionCounter;
  private queue: InferenceRecord[] = [];
  private head = 0;
  private queuedValues = 0;
  private scheduled = false;
  private readonly maxRecords: number;
  private readonly maxValues: number;
  private readonly batchSize: number;
  private idle: (() => void)[] = [];

  constructor(private readonly opts: DriftMonitorOptions) {
    this.maxRecords = opts.maxQueuedRecords ?? 4096;
    this.maxValues = opts.maxQueuedValues ?? 4 * 1024 * 1024;
    this.batchSize = opts.batchSize ?? 256;
    this.metrics = new DriftMetrics(opts.registry, opts.labels, () => this.snapshot());
    this.predictions = new PredictionCounter(this.metrics);
  }

  /** Starts measuring drift against `baseline` (an empty window). */
  setBaseline(baseline: Baseline): void {
    this.tracker = new DriftTracker(baseline, this.opts.windowMs);
    this.metrics.setBaselineLoaded(true);
  }

  get baseline(): Baseline | undefined {
    return this.tracker?.baseline;
  }

  /** The window now, or undefined without a baseline. */
  snapshot(): DriftSnapshot | undefined {
    return this.tracker?.snapshot(this.opts.clock.now());
  }

  observe(record: InferenceRecord): void {
    if (record.status !== 200 || (!record.inputs && !record.outputs)) return;
    const values = size(record);
    if (this.queue.length - this.head >= this.maxRecords || this.queuedValues + values > this.maxValues) {
      this.metrics.dropped.inc();
      return;
    }
    this.queue.push(record);
    this.queuedValues += values;
    this.schedule();
  }

  /** Resolves once every record queued so far has been counted (tests, benchmarks). */
  drained(): Promise<void> {
    if (this.head === this.queue.length) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.process());
  }

  private process(): void {
    this.scheduled = false;
    const end = Math.min(this.queue.length, this.head + this.batchSize);
    const now = this.opts.clock.now();
    for (; this.head < end; this.head++) {
      const record = this.queue[this.head]!;
      // Release the tensors as soon as they are counted.
      this.queue[this.head] = undefined as unknown as InferenceRecord;
      this.queuedValues -= size(record);
      try {
        this.tracker?.observe(now, record.inputs, record.outputs);
        if (record.outputs) this.predictions.add(record.outputs);
      } catch (err) {
        this.opts.onError?.(err);
      }
    }
    try {
      this.predictions.flush();
    } catch (err) {
      this.opts.onError?.(err);
    }
    if (this.head < this.queue.length) {
      // Behind: drop the counted prefix now and then, so the array does not grow while it never empties.
      if (this.head >= this.batchSize * 4) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      this.schedule();
      return;
    }
    this.queue = [];
    this.head = 0;
    this.queuedValues = 0;
    const waiting = this.idle;
    this.idle = [];
    for (const resolve of waiting) resolve();
  }
}

function size(record: InferenceRecord): number {
  let n = 0;
  for (const t of record.inputs ?? []) n += t.data.length;
  for (const t of record.outputs ?? []) n += t.data.length;
  return n;
}
