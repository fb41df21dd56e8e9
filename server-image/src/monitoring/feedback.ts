/**
 * Live accuracy from ground truth. As an InferenceObserver it keeps what each answered request predicted
 * (prediction.ts) in a bounded store (prediction-store.ts); `POST .../feedback` (http/app.ts) brings the true labels
 * for a request id, which are scored against the kept prediction and counted: counters the operator turns into
 * windows from their deltas, and sliding-window gauges (feedback-window.ts) for dashboards. A joined prediction
 * leaves the store, so each request's ground truth counts once.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'winston';
import type { Clock } from '../clock.js';
import { FeedbackBodyError, parseFeedbackBody, type FeedbackItem } from './feedback-request.js';
import { FeedbackWindow, type WindowSummary } from './feedback-window.js';
import type { InferenceObserver, InferenceRecord } from './observer.js';
import { predictionOf, score, type Score } from './prediction.js';
import { PredictionStore, type EvictionReason } from './prediction-store.js';

/** Records waiting for the next turn to have their prediction kept; beyond it the oldest is counted as evicted. */
const MAX_PENDING = 1024;

export interface FeedbackOptions {
  model: string;
  /** The served version: the label of what has no prediction to take one from (unknown request ids). */
  version: string;
  maxEntries: number;
  maxAgeMs: number;
  windowMs: number;
  /** The output holding the prediction; else the model's first. */
  output?: string;
  /** The model's first output, once the model is loaded. */
  firstOutput(): string | undefined;
  clock: Clock;
  registry: Registry;
  logger: Logger;
}

/** What the feedback endpoint answers: a status and a JSON body. */
export interface FeedbackReply {
  status: number;
  body: Record<string, unknown>;
}

type Outcome =
  | { status: 200; id: string; version: string; score: Score }
  | { status: 400 | 404; id: string; error: string };

export class FeedbackMonitor implements InferenceObserver {
  /** Only the outputs are kept: the inputs may go to onnxruntime's worker uncopied. */
  readonly readsInputs = false;
  private readonly store: PredictionStore;
  private readonly windows = new Map<string, FeedbackWindow>();
  private pending: InferenceRecord[] = [];
  private scheduled = false;
  /** Why outputs could not be kept, each logged once (a model's outputs do not change). */
  private readonly warned = new Set<string>();
  private readonly m: ReturnType<typeof createMetrics>;

  constructor(private readonly opts: FeedbackOptions) {
    this.m = createMetrics(opts.registry, opts.model, this);
    this.store = new PredictionStore({
      maxEntries: opts.maxEntries,
      maxAgeMs: opts.maxAgeMs,
      clock: opts.clock,
      onEvict: (entry, reason) => this.evicted(entry.version, reason),
    });
    const { model, version } = opts;
    for (const counter of [this.m.rows, this.m.correct, this.m.absoluteError, this.m.squaredError])
      counter.labels(model, version).inc(0);
    for (const reason of ['unknown_request', 'invalid'])
      this.m.rejected.labels(model, version, reason).inc(0);
    for (const reason of ['size', 'age']) this.m.evictions.labels(model, version, reason).inc(0);
    this.windowOf(version); // the window gauges show 0 rows rather than nothing
  }

  /** Predictions kept now (expired ones evicted first). */
  get entries(): number {
    return this.store.size;
  }

  /** The window's figures per version, for the gauges. */
  summaries(): [string, WindowSummary][] {
    return [...this.windows].map(([version, w]) => [version, w.summary()]);
  }

  observe(record: InferenceRecord): void {
    if (record.status !== 200 || !record.outputs) return;
    this.pending.push(record);
    if (this.pending.length > MAX_PENDING) this.evicted(this.pending.shift()!.version, 'size');
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.keepPending());
    }
  }

  /** Keeps the prediction of every record observed so far. Also run before feedback is looked up. */
  private keepPending(): void {
    this.scheduled = false;
    const records = this.pending;
    this.pending = [];
    for (const record of records) {
      try {
        this.keep(record);
      } catch (err) {
        this.warnOnce('failed', 'could not keep a prediction for feedback', { error: String(err) });
      }
    }
  }

  private keep(record: InferenceRecord): void {
    const name = this.opts.output ?? this.opts.firstOutput();
    const tensor = record.outputs!.find((t) => t.name === name);
    // A request that asked for other outputs only has no prediction to keep.
    if (!tensor) return;
    const prediction = predictionOf(tensor);
    if (typeof prediction === 'string') {
      this.warnOnce(prediction, 'feedback cannot score this output; choose one with --feedback-output', {
        reason: prediction,
      });
      return;
    }
    this.store.put([record.requestId, record.protocolId], prediction, record.version);
  }

  /**
   * Answers one feedback request body (already read within the size limit). Never throws. With countMisses false,
   * ids nobody kept here are not counted (the caller asks the other replicas first: feedback-peers.ts).
   */
  feedback(body: Uint8Array, opts: { countMisses?: boolean } = {}): FeedbackReply {
    this.keepPending();
    let items: FeedbackItem[];
    let bulk: boolean;
    try {
      ({ items, bulk } = parseFeedbackBody(body));
    } catch (err) {
      if (!(err instanceof FeedbackBodyError)) throw err;
      this.m.rejected.labels(this.opts.model, this.opts.version, 'invalid').inc();
      return { status: 400, body: { error: err.message } };
    }
    const outcomes = items.map((item) => this.join(item, opts.countMisses ?? true));
    if (!bulk) {
      const [o] = outcomes as [Outcome];
      return o.status === 200
        ? { status: 200, body: { id: o.id, version: o.version, ...scoreJson(o.score) } }
        : { status: o.status, body: { id: o.id, error: o.error } };
    }
    const joined = outcomes.filter((o) => o.status === 200).length;
    return {
      status: 200,
      body: {
        joined,
        rejected: outcomes.length - joined,
        results: outcomes.map((o) =>
          o.status === 200
            ? { id: o.id, status: 200, version: o.version, ...scoreJson(o.score) }
            : { id: o.id, status: o.status, error: o.error },
        ),
      },
    };
  }

  /** Counts feedback for `n` ids that no replica kept. */
  countUnknown(n: number): void {
    if (n > 0) this.m.rejected.labels(this.opts.model, this.opts.version, 'unknown_request').inc(n);
  }

  private join(item: FeedbackItem, countMisses: boolean): Outcome {
    const { model } = this.opts;
    const entry = this.store.get(item.id);
    if (!entry) {
      if (countMisses) this.countUnknown(1);
      return {
        status: 404,
        id: item.id,
        error:
          `no prediction is kept for request id '${item.id}': unknown, older than the store keeps ` +
          '(--feedback-max-age-ms, --feedback-store-size), or its feedback was already given',
      };
    }
    const s = score(entry.prediction, item.labels, item.field, item.single);
    if (typeof s === 'string') {
      // The prediction stays: the client may send corrected feedback.
      this.m.rejected.labels(model, entry.version, 'invalid').inc();
      return { status: 400, id: item.id, error: s };
    }
    this.store.remove(entry);
    const l = [model, entry.version] as const;
    this.m.rows.labels(...l).inc(s.rows);
    if (s.kind === 'classification') this.m.correct.labels(...l).inc(s.correct);
    else {
      this.m.absoluteError.labels(...l).inc(s.absoluteError);
      this.m.squaredError.labels(...l).inc(s.squaredError);
    }
    this.windowOf(entry.version).add(s);
    return { status: 200, id: item.id, version: entry.version, score: s };
  }

  private windowOf(version: string): FeedbackWindow {
    let w = this.windows.get(version);
    if (!w) this.windows.set(version, (w = new FeedbackWindow(this.opts.windowMs, this.opts.clock)));
    return w;
  }

  private evicted(version: string, reason: EvictionReason): void {
    this.m.evictions.labels(this.opts.model, version, reason).inc();
  }

  private warnOnce(key: string, message: string, meta: Record<string, unknown>): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.opts.logger.warn(message, meta);
  }
}

function scoreJson(s: Score): Record<string, number> {
  return s.kind === 'classification'
    ? { rows: s.rows, correct: s.correct }
    : { rows: s.rows, absolute_error: s.absoluteError, squared_error: s.squaredError };
}

interface MetricsSource {
  readonly entries: number;
  summaries(): [string, WindowSummary][];
}

function createMetrics(registry: Registry, model: string, monitor: MetricsSource) {
  const labelNames = ['model', 'version'] as const;
  const registers = [registry];
  const gauge = (name: string, help: string, pick: (s: WindowSummary) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      collect() {
        // Reset first: a version whose window emptied shows no accuracy rather than a stale one.
        this.reset();
        for (const [version, summary] of monitor.summaries()) {
          const value = pick(summary);
          if (value !== undefined) this.labels(model, version).set(value);
        }
      },
    });
  return {
    rows: new Counter({
      name: 'modelship_feedback_rows_total',
      help: 'Ground-truth rows joined to the prediction kept for their request',
      labelNames,
      registers,
    }),
    correct: new Counter({
      name: 'modelship_feedback_correct_total',
      help: 'Classification: joined rows whose predicted class equals the label',
      labelNames,
      registers,
    }),
    absoluteError: new Counter({
      name: 'modelship_feedback_absolute_error_sum',
      help: 'Regression: sum of |prediction - label| over joined rows',
      labelNames,
      registers,
    }),
    squaredError: new Counter({
      name: 'modelship_feedback_squared_error_sum',
      help: 'Regression: sum of (prediction - label)^2 over joined rows',
      labelNames,
      registers,
    }),
    rejected: new Counter({
      name: 'modelship_feedback_rejected_total',
      help: 'Feedback refused, by reason: unknown_request (no prediction kept for the id), invalid (malformed, or labels not fitting the prediction)',
      labelNames: [...labelNames, 'reason'],
      registers,
    }),
    evictions: new Counter({
      name: 'modelship_prediction_store_evictions_total',
      help: 'Predictions dropped before their feedback came, by reason: size (store full), age (older than the maximum), replaced (a newer request reused the id)',
      labelNames: [...labelNames, 'reason'],
      registers,
    }),
    entries: new Gauge({
      name: 'modelship_prediction_store_entries',
      help: 'Predictions kept waiting for their feedback',
      registers,
      collect() {
        this.set(monitor.entries);
      },
    }),
    accuracy: gauge(
      'modelship_feedback_accuracy',
      'Classification accuracy over the feedback window (--feedback-window-ms); absent without feedback in it',
      (s) => s.accuracy,
    ),
    mae: gauge(
      'modelship_feedback_mae',
      'Regression mean absolute error over the feedback window',
      (s) => s.mae,
    ),
    rmse: gauge(
      'modelship_feedback_rmse',
      'Regression root mean squared error over the feedback window',
      (s) => s.rmse,
    ),
    windowRows: new Gauge({
      name: 'modelship_feedback_window_rows',
      help: 'Ground-truth rows joined within the feedback window',
      labelNames,
      registers,
      collect() {
        for (const [version, summary] of monitor.summaries()) this.labels(model, version).set(summary.rows);
      },
    }),
  };
}
