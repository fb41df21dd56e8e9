/**
 * Authentication's metrics, on the serving metrics' registry (so they carry its `revision` label):
 *   modelship_caller_requests_total{model,caller}  requests authenticated, by caller (bounded: caller-names.ts)
 *   modelship_auth_failures_total{reason}          requests refused, by reason (reasons.ts: a fixed set)
 */
import { Counter, type Registry } from 'prom-client';
import { CallerNames } from './caller-names.js';
import { AUTH_FAILURE_REASONS, type AuthOutcome } from './reasons.js';

export class AuthMetrics {
  private readonly names: CallerNames;
  /** The labelled child per caller label, looked up once (prom-client's labels() hashes on every call). */
  private readonly callerSeries = new Map<string, { inc(): void }>();
  private readonly failureSeries = new Map<string, { inc(): void }>();
  private readonly callers: Counter<'model' | 'caller'>;

  constructor(
    registry: Registry,
    private readonly model: string,
    callerLabels?: number,
  ) {
    this.names = new CallerNames(callerLabels);
    this.callers = new Counter({
      name: 'modelship_caller_requests_total',
      help: 'Requests authenticated on the inference port, by caller (API key name or JWT subject; the first 100 distinct callers by name, later ones as "other")',
      labelNames: ['model', 'caller'],
      registers: [registry],
    });
    const failures = new Counter({
      name: 'modelship_auth_failures_total',
      help: `Requests refused with 401, by reason: ${AUTH_FAILURE_REASONS.join(', ')}`,
      labelNames: ['reason'],
      registers: [registry],
    });
    // Every reason at zero from the start, so rate() and alerts see 0 rather than no data.
    for (const reason of AUTH_FAILURE_REASONS) {
      const child = failures.labels(reason);
      child.inc(0);
      this.failureSeries.set(reason, child);
    }
  }

  record(outcome: AuthOutcome): void {
    if ('failure' in outcome) {
      this.failureSeries.get(outcome.failure)!.inc();
      return;
    }
    let series = this.callerSeries.get(outcome.caller);
    if (!series) {
      const label = this.names.label(outcome.caller);
      // Callers beyond the bound share the `other` child, kept under that label only (not one entry each).
      series = this.callerSeries.get(label) ?? this.callers.labels(this.model, label);
      this.callerSeries.set(label, series);
    }
    series.inc();
  }
}
