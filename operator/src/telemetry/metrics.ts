import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ModelDeploymentMetrics } from './model-deployments.js';

/** The operator's own Prometheus metrics (the machinery in kube/ registers its metrics on the same registry). */
export interface OperatorMetrics {
  registry: Registry;
  reconciles: Counter<'result'>;
  reconcileDuration: Histogram<'result'>;
  apiRequests: Counter<'verb' | 'resource' | 'code'>;
  /** Scrapes of pods that failed, by reason (metrics/scrape-failures.ts). */
  scrapeFailures: Counter<'reason'>;
  /** Phase, canary and rollback series of each ModelDeployment (see model-deployments.ts). */
  modelDeployments: ModelDeploymentMetrics;
}

export function createOperatorMetrics(registry = new Registry(), withProcessMetrics = true): OperatorMetrics {
  if (withProcessMetrics) collectDefaultMetrics({ register: registry, prefix: 'modelship_operator_' });
  return {
    registry,
    reconciles: new Counter({
      name: 'modelship_operator_reconcile_total',
      help: 'Reconciles of ModelDeployments by result (success, error, requeue).',
      labelNames: ['result'],
      registers: [registry],
    }),
    reconcileDuration: new Histogram({
      name: 'modelship_operator_reconcile_duration_seconds',
      help: 'Time one reconcile of a ModelDeployment takes.',
      labelNames: ['result'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    apiRequests: new Counter({
      name: 'modelship_operator_api_requests_total',
      help: 'Requests the operator made to the Kubernetes API, by verb, resource and HTTP status code.',
      labelNames: ['verb', 'resource', 'code'],
      registers: [registry],
    }),
    scrapeFailures: new Counter({
      name: 'modelship_operator_scrape_failures_total',
      help: 'Scrapes of pods (for canary analysis, drift and accuracy) that failed, by reason: ca, tls, timeout, connect, http, other.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    modelDeployments: new ModelDeploymentMetrics(registry),
  };
}
