/** The serving certificate's metrics, on the registry of the process that serves it (the server's or the router's). */
import { Counter, Gauge, type Registry } from 'prom-client';

export type ReloadResult = 'ok' | 'error';

export class TlsMetrics {
  private readonly expiry: Gauge;
  private readonly reloads: Counter<'result'>;

  constructor(registry: Registry) {
    this.expiry = new Gauge({
      name: 'modelship_tls_certificate_expiry_timestamp_seconds',
      help: "The served certificate's notAfter, in seconds since the epoch (alert on it minus time())",
      registers: [registry],
    });
    this.reloads = new Counter({
      name: 'modelship_tls_reloads_total',
      help: 'Certificate changes seen after start, by result: ok (now served), error (refused: the previous certificate stays)',
      labelNames: ['result'],
      registers: [registry],
    });
    // Both series exist from the start, so that an alert on increase(...{result="error"}) sees the first one.
    for (const result of ['ok', 'error'] as const) this.reloads.inc({ result }, 0);
  }

  served(notAfter: Date): void {
    this.expiry.set(notAfter.getTime() / 1000);
  }

  reloaded(result: ReloadResult): void {
    this.reloads.inc({ result });
  }
}
