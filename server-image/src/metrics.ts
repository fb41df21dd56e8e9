/**
 * Prometheus metrics with the meaning Triton's have, under one `modelship_` prefix. Labels: model, version, and
 * the pod's revision (a default label on every series, so canary and stable pods can be told apart).
 * Its own Registry (not prom-client's global one), so several servers can live in one process (tests).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const PREFIX = 'modelship_';
/** Seconds; from 100 µs (a small tabular model) to 10 s (a queue backed up). */
const DURATION_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

export interface ModelLabels {
  model: string;
  version: string;
}

/** The labelled series of one model, looked up once (prom-client's labels() hashes on every call). */
interface ModelSeries {
  success: ReturnType<Counter<'model' | 'version'>['labels']>;
  requestDuration: ReturnType<Histogram<'model' | 'version'>['labels']>;
  queueDuration: ReturnType<Histogram<'model' | 'version'>['labels']>;
  computeDuration: ReturnType<Histogram<'model' | 'version'>['labels']>;
  batchSize: ReturnType<Histogram<'model' | 'version'>['labels']>;
  inferenceCount: ReturnType<Counter<'model' | 'version'>['labels']>;
  execCount: ReturnType<Counter<'model' | 'version'>['labels']>;
}

export class ServingMetrics {
  private readonly series = new Map<string, ModelSeries>();
  /** Per model, how to read its pending requests: read at scrape time rather than counted per request. */
  private readonly pendingSources = new Map<string, { labels: ModelLabels; read: () => number }>();
  readonly registry = new Registry();
  private readonly success: Counter<'model' | 'version'>;
  private readonly failure: Counter<'model' | 'version' | 'reason'>;
  private readonly requestDuration: Histogram<'model' | 'version'>;
  private readonly queueDuration: Histogram<'model' | 'version'>;
  private readonly computeDuration: Histogram<'model' | 'version'>;
  private readonly batchSize: Histogram<'model' | 'version'>;
  private readonly inferenceCount: Counter<'model' | 'version'>;
  private readonly execCount: Counter<'model' | 'version'>;
  private readonly pending: Gauge<'model' | 'version'>;
  private readonly loadDuration: Gauge<'model' | 'version'>;
  private readonly ready: Gauge<'model' | 'version'>;

  constructor(revision: string) {
    const r = this.registry;
    r.setDefaultLabels({ revision });
    const labelNames = ['model', 'version'] as const;
    this.success = new Counter({
      name: `${PREFIX}inference_request_success_total`,
      help: 'Inference requests answered successfully (Triton nv_inference_request_success)',
      labelNames,
      registers: [r],
    });
    this.failure = new Counter({
      name: `${PREFIX}inference_request_failure_total`,
      help: 'Inference requests that failed, by reason: bad_request, not_found, queue_full, not_ready, too_large, internal',
      labelNames: [...labelNames, 'reason'],
      registers: [r],
    });
    this.requestDuration = new Histogram({
      name: `${PREFIX}inference_request_duration_seconds`,
      help: 'End-to-end inference request duration, body received to response written',
      labelNames,
      buckets: DURATION_BUCKETS,
      registers: [r],
    });
    this.queueDuration = new Histogram({
      name: `${PREFIX}inference_queue_duration_seconds`,
      help: 'Time requests waited in the batching queue',
      labelNames,
      buckets: DURATION_BUCKETS,
      registers: [r],
    });
    this.computeDuration = new Histogram({
      name: `${PREFIX}inference_compute_duration_seconds`,
      help: 'onnxruntime time per execution (one batch), merge and split included',
      labelNames,
      buckets: DURATION_BUCKETS,
      registers: [r],
    });
    this.batchSize = new Histogram({
      name: `${PREFIX}inference_batch_size`,
      help: 'Rows per execution',
      labelNames,
      buckets: BATCH_BUCKETS,
      registers: [r],
    });
    this.inferenceCount = new Counter({
      name: `${PREFIX}inference_count_total`,
      help: 'Inferences performed, counting each row of a batch (Triton nv_inference_count)',
      labelNames,
      registers: [r],
    });
    this.execCount = new Counter({
      name: `${PREFIX}inference_exec_count_total`,
      help: 'Model executions; average batch size = inference_count / exec_count (Triton nv_inference_exec_count)',
      labelNames,
      registers: [r],
    });
    const pendingSources = this.pendingSources;
    this.pending = new Gauge({
      name: `${PREFIX}inference_pending_requests`,
      help: 'Inference requests received and not yet answered, queued or running (Triton nv_inference_pending_request_count)',
      labelNames,
      registers: [r],
      collect() {
        for (const { labels, read } of pendingSources.values())
          this.labels(labels.model, labels.version).set(read());
      },
    });
    this.loadDuration = new Gauge({
      name: `${PREFIX}model_load_duration_seconds`,
      help: 'How long the last successful model load took: fetch, session creation and warm-up',
      labelNames,
      registers: [r],
    });
    this.ready = new Gauge({
      name: `${PREFIX}model_ready`,
      help: '1 when the model is loaded and the server accepts inference, else 0',
      labelNames,
      registers: [r],
    });
    collectDefaultMetrics({ register: r, prefix: PREFIX });
  }

  /** Creates every labelled series at zero, so dashboards and the operator see 0 rather than no data. */
  declareModel(m: ModelLabels): void {
    this.success.labels(m.model, m.version).inc(0);
    this.inferenceCount.labels(m.model, m.version).inc(0);
    this.execCount.labels(m.model, m.version).inc(0);
    this.pending.labels(m.model, m.version).set(0);
    this.ready.labels(m.model, m.version).set(0);
  }

  private of(m: ModelLabels): ModelSeries {
    const key = `${m.model}\u0000${m.version}`;
    let s = this.series.get(key);
    if (!s) {
      const l = [m.model, m.version] as const;
      s = {
        success: this.success.labels(...l),
        requestDuration: this.requestDuration.labels(...l),
        queueDuration: this.queueDuration.labels(...l),
        computeDuration: this.computeDuration.labels(...l),
        batchSize: this.batchSize.labels(...l),
        inferenceCount: this.inferenceCount.labels(...l),
        execCount: this.execCount.labels(...l),
      };
      this.series.set(key, s);
    }
    return s;
  }

  requestSucceeded(m: ModelLabels, seconds: number): void {
    const s = this.of(m);
    s.success.inc();
    s.requestDuration.observe(seconds);
  }

  requestFailed(m: ModelLabels, reason: string, seconds: number): void {
    this.failure.labels(m.model, m.version, reason).inc();
    this.of(m).requestDuration.observe(seconds);
  }

  queued(m: ModelLabels, seconds: number): void {
    this.of(m).queueDuration.observe(seconds);
  }

  executed(m: ModelLabels, rows: number, seconds: number): void {
    const s = this.of(m);
    s.computeDuration.observe(seconds);
    s.batchSize.observe(rows);
    s.inferenceCount.inc(rows);
    s.execCount.inc();
  }

  /** `read` says how many requests of the model are queued or running; it is read at each scrape. */
  trackPending(m: ModelLabels, read: () => number): void {
    this.pendingSources.set(`${m.model}\u0000${m.version}`, { labels: m, read });
  }

  loaded(m: ModelLabels, seconds: number): void {
    this.loadDuration.labels(m.model, m.version).set(seconds);
  }

  setReady(m: ModelLabels, ready: boolean): void {
    this.ready.labels(m.model, m.version).set(ready ? 1 : 0);
  }
}
