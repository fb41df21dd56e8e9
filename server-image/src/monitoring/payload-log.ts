/**
 * Inputs and outputs logged for audits: an InferenceObserver that samples the answered requests (decided at once,
 * with one call to `random`), and on the next turn serializes each kept one (payload-record.ts: redaction, size
 * limit) and hands it to its sink (payload-sinks.ts: stdout, or payload-http.ts: a collector). Serializing drops
 * the references to the request's tensors, so the queue holds strings. A record that cannot be kept is counted
 * (`modelship_payload_log_dropped_total`), never waited for: inference does not slow down or fail for the log.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'winston';
import type { Clock } from '../clock.js';
import type { PayloadLogMode } from './defaults.js';
import type { InferenceObserver, InferenceRecord } from './observer.js';
import { payloadJson, type PayloadFormat } from './payload-record.js';
import { HTTP_SINK_DEFAULTS, HttpPayloadSink, type HttpSinkOptions } from './payload-http.js';
import {
  StdoutPayloadSink,
  type DropReason,
  type PayloadCounters,
  type PayloadSink,
} from './payload-sinks.js';

export interface PayloadLogOptions extends PayloadFormat {
  /** Fraction of requests logged, 0..1. */
  sample: number;
  /** Uniform in [0, 1); injected so tests know which requests are sampled. */
  random: () => number;
  /** Records waiting to be serialized (one event-loop turn's worth at most); beyond it they are dropped (queue_full). */
  maxPending: number;
  logger: Logger;
}

export type PayloadLogCounters = PayloadCounters & { unsampled(): void };

export class PayloadLogMonitor implements InferenceObserver {
  private pending: InferenceRecord[] = [];
  private scheduled = false;

  constructor(
    private readonly opts: PayloadLogOptions,
    private readonly sink: PayloadSink,
    private readonly counters: PayloadLogCounters,
  ) {}

  observe(record: InferenceRecord): void {
    // sample 1 costs no random number; sample 0 keeps nothing.
    if (this.opts.sample < 1 && !(this.opts.random() < this.opts.sample)) return this.counters.unsampled();
    if (this.pending.length >= this.opts.maxPending) return this.counters.dropped('queue_full', 1);
    this.pending.push(record);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.serializePending());
    }
  }

  /** Records observed but not yet delivered. */
  get queued(): number {
    return this.pending.length + this.sink.queued;
  }

  /** Serializes what is pending, then lets the sink deliver what it can within `ms`. */
  async close(ms: number): Promise<void> {
    this.serializePending();
    await this.sink.close(ms);
  }

  private serializePending(): void {
    this.scheduled = false;
    const records = this.pending;
    this.pending = [];
    for (const r of records) {
      let json: string;
      try {
        json = payloadJson(r, this.opts);
      } catch (err) {
        this.opts.logger.error('payload log: a record could not be serialized', {
          requestId: r.requestId,
          error: String(err),
        });
        continue;
      }
      this.sink.write({ json, model: r.model, version: r.version, time: r.time });
    }
  }
}

/** The payload log's metrics, on the server's registry; `queued` is read at scrape time. */
export function payloadLogMetrics(registry: Registry, queued: () => number): PayloadLogCounters {
  const records = new Counter({
    name: 'modelship_payload_log_records_total',
    help: 'Payload records by result: sent (written to stdout, or accepted by the collector), unsampled (left out by --payload-log-sample)',
    labelNames: ['result'],
    registers: [registry],
  });
  const dropped = new Counter({
    name: 'modelship_payload_log_dropped_total',
    help: 'Payload records lost, by reason: queue_full (the collector was behind or down), rejected (the collector refused them with a 4xx), shutdown (undelivered at exit)',
    labelNames: ['reason'],
    registers: [registry],
  });
  new Gauge({
    name: 'modelship_payload_log_queue_length',
    help: 'Payload records waiting for delivery',
    registers: [registry],
    collect() {
      this.set(queued());
    },
  });
  const sent = records.labels('sent');
  const unsampled = records.labels('unsampled');
  sent.inc(0);
  unsampled.inc(0);
  const reasons: DropReason[] = ['queue_full', 'rejected', 'shutdown'];
  const drops = new Map(reasons.map((r) => [r, dropped.labels(r)] as const));
  for (const d of drops.values()) d.inc(0);
  return {
    sent: (n) => sent.inc(n),
    dropped: (reason, n) => drops.get(reason)!.inc(n),
    unsampled: () => unsampled.inc(),
  };
}

export interface PayloadLogConfig {
  mode: PayloadLogMode;
  url?: string;
  sample: number;
  redact: readonly string[];
  maxBytes: number;
  queueSize: number;
  batchSize: number;
  flushMs: number;
  revision: string;
}

export interface PayloadLogDeps {
  registry: Registry;
  logger: Logger;
  clock: Clock;
  random: () => number;
  /** Where stdout records go: the process's stdout line writer (asked for only by the stdout log). */
  stdout: () => { write(line: string): void; flush(): void };
  /** The HTTP sink's timeout and backoff (tests shorten them). */
  http?: Partial<Pick<HttpSinkOptions, 'timeoutMs' | 'backoffMs' | 'maxBackoffMs'>>;
}

/** The configured payload log, or undefined for `none` (no observer at all: no cost). */
export function createPayloadLog(c: PayloadLogConfig, deps: PayloadLogDeps): PayloadLogMonitor | undefined {
  if (c.mode === 'none') return undefined;
  // Read at scrape time, by when `monitor` is set.
  const counters = payloadLogMetrics(deps.registry, () => monitor.queued);
  let sink: PayloadSink;
  if (c.mode === 'http') {
    if (!c.url) throw new Error('the http payload log needs a collector URL (--payload-log-url)');
    sink = new HttpPayloadSink({
      url: c.url,
      queueSize: c.queueSize,
      batchSize: c.batchSize,
      flushMs: c.flushMs,
      ...HTTP_SINK_DEFAULTS,
      ...deps.http,
      clock: deps.clock,
      logger: deps.logger,
      counters,
    });
  } else sink = new StdoutPayloadSink(deps.stdout(), counters);
  const monitor = new PayloadLogMonitor(
    {
      revision: c.revision,
      redact: new Set(c.redact),
      maxBytes: c.maxBytes,
      sample: c.sample,
      random: deps.random,
      maxPending: c.queueSize,
      logger: deps.logger,
    },
    sink,
    counters,
  );
  return monitor;
}
