/**
 * The router's metrics: per backend revision, requests by status class and their duration, as the client sees
 * them. A backend that cannot be reached counts as code "error". The operator's canary analysis reads these.
 * Mirrored (shadow) requests have series of their own and never count as a revision's live requests.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export type CodeClass = '2xx' | '3xx' | '4xx' | '5xx' | 'error' | 'refused';

export function codeClass(status: number): CodeClass {
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  if (status >= 300) return '3xx';
  return '2xx';
}

/**
 * What became of a request for the shadow: its answer agreed or disagreed with the live one; it failed, timed out or
 * answered other than 200 (error); it was not mirrored or not compared (skipped: too many in flight, body or answer
 * too large, live answer not 200, client gone); or an answer could not be read as V2 outputs (uncomparable).
 */
export type ShadowResult = 'agree' | 'disagree' | 'error' | 'skipped' | 'uncomparable';
export const SHADOW_RESULTS: readonly ShadowResult[] = [
  'agree',
  'disagree',
  'error',
  'skipped',
  'uncomparable',
];

export class RouterMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'revision' | 'code'>;
  private readonly duration: Histogram<'revision'>;
  private readonly weight: Gauge<'revision'>;
  private readonly reloads: Counter<'result'>;
  private readonly shadowRequests: Counter<'revision' | 'result'>;
  private readonly shadowDuration: Histogram<'revision'>;
  private readonly shadowTarget: Gauge<'revision'>;
  private readonly tlsFailures: Counter<'revision'>;
  /** Series looked up once per revision and code (prom-client's labels() hashes on every call). */
  private readonly counters = new Map<string, ReturnType<Counter<'revision' | 'code'>['labels']>>();
  private readonly histograms = new Map<string, ReturnType<Histogram<'revision'>['labels']>>();

  constructor() {
    const r = this.registry;
    collectDefaultMetrics({ register: r, prefix: 'modelship_router_' });
    this.requests = new Counter({
      name: 'modelship_router_requests_total',
      help: 'Requests the router forwarded, by backend revision and status class (error: no answer from the backend; refused: the backend refused the connection and another one answered)',
      labelNames: ['revision', 'code'],
      registers: [r],
    });
    this.duration = new Histogram({
      name: 'modelship_router_request_duration_seconds',
      help: 'Time from the request reaching the router to the end of the backend answer, by backend revision',
      labelNames: ['revision'],
      buckets: DURATION_BUCKETS,
      registers: [r],
    });
    this.weight = new Gauge({
      name: 'modelship_router_backend_weight',
      help: 'Percent of traffic each backend revision gets under the route table in force',
      labelNames: ['revision'],
      registers: [r],
    });
    this.reloads = new Counter({
      name: 'modelship_router_table_reloads_total',
      help: 'Route tables received, by result (applied, or rejected as malformed: the last good one stays)',
      labelNames: ['result'],
      registers: [r],
    });
    this.shadowRequests = new Counter({
      name: 'modelship_router_shadow_requests_total',
      help: 'Inference requests mirrored to the shadow revision, by result: agree, disagree (its prediction differs from the live answer), error (it failed, timed out or answered other than 200), skipped (not mirrored or not compared: too many in flight, too large, live answer not 200), uncomparable (an answer is not readable V2 outputs)',
      labelNames: ['revision', 'result'],
      registers: [r],
    });
    this.shadowDuration = new Histogram({
      name: 'modelship_router_shadow_duration_seconds',
      help: "Time from sending a mirrored request to the end of the shadow revision's answer (answers only, not failures)",
      labelNames: ['revision'],
      buckets: DURATION_BUCKETS,
      registers: [r],
    });
    this.tlsFailures = new Counter({
      name: 'modelship_router_backend_tls_failures_total',
      help: "Connections to an https:// backend or shadow that failed TLS (its certificate did not verify against the backend CA or did not name the route's serverName, or the handshake failed), by revision; the request counts as code error too",
      labelNames: ['revision'],
      registers: [r],
    });
    this.shadowTarget = new Gauge({
      name: 'modelship_router_shadow_target',
      help: '1 for the revision that gets mirrored requests under the route table in force',
      labelNames: ['revision'],
      registers: [r],
    });
  }

  done(revision: string, code: CodeClass, seconds: number): void {
    const key = `${revision}\u0000${code}`;
    let c = this.counters.get(key);
    if (!c) this.counters.set(key, (c = this.requests.labels(revision, code)));
    c.inc();
    let h = this.histograms.get(revision);
    if (!h) this.histograms.set(revision, (h = this.duration.labels(revision)));
    h.observe(seconds);
  }

  tableApplied(weights: { revision: string; weight: number }[], shadow?: string): void {
    this.reloads.inc({ result: 'applied' });
    this.weight.reset();
    for (const w of weights) this.weight.set({ revision: w.revision }, w.weight);
    this.shadowTarget.reset();
    if (shadow === undefined) return;
    this.shadowTarget.set({ revision: shadow }, 1);
    // Every result exists from the start (at 0), so that a ratio of rates is defined before the first disagreement.
    for (const result of SHADOW_RESULTS) this.shadowRequests.inc({ revision: shadow, result }, 0);
  }

  shadowDone(revision: string, result: ShadowResult): void {
    this.shadowRequests.inc({ revision, result });
  }

  shadowAnswered(revision: string, seconds: number): void {
    this.shadowDuration.observe({ revision }, seconds);
  }

  backendTlsFailed(revision: string): void {
    this.tlsFailures.inc({ revision });
  }

  tableRejected(): void {
    this.reloads.inc({ result: 'rejected' });
  }
}
