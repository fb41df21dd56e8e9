/**
 * The drift monitor as the server runs it: none without --baseline-uri (no observer, no cost); otherwise the
 * monitor at once (predictions are counted from the first request) and the baseline fetched beside the model load,
 * then checked against the model's signature once both are there (a mismatch is a warning per entry).
 */
import type { Logger } from 'winston';
import type { Clock } from '../../clock.js';
import type { ServerConfig } from '../../config.js';
import type { ServingMetrics, ModelLabels } from '../../metrics.js';
import type { ModelSignature } from '../../protocol/v2/types.js';
import { mismatches } from './baseline.js';
import { loadBaseline } from './load.js';
import { DriftMonitor } from './monitor.js';

export function startDriftMonitor(
  config: ServerConfig,
  deps: {
    labels: ModelLabels;
    metrics: ServingMetrics;
    logger: Logger;
    clock: Clock;
    /** The model's signature once it is loaded (undefined if it never is). */
    signature: Promise<ModelSignature | undefined>;
    /** False once the server is shutting down: no more fetch attempts. */
    proceed: () => boolean;
  },
): DriftMonitor | undefined {
  if (!config.baselineUri) return undefined;
  const { logger } = deps;
  const monitor = new DriftMonitor({
    labels: deps.labels,
    windowMs: config.driftWindowMs,
    clock: deps.clock,
    registry: deps.metrics.registry,
    onError: (err) => logger.error('the drift monitor failed on a request', { error: String(err) }),
  });
  const baseline = loadBaseline(
    {
      uri: config.baselineUri,
      fetch: {
        cacheDir: config.cacheDir,
        timeoutMs: config.fetchTimeoutMs,
        pvcRoot: config.pvcRoot,
        s3: config.s3Endpoint ? { endpoint: config.s3Endpoint, forcePathStyle: true } : undefined,
      },
      attempts: config.loadAttempts,
      retryDelayMs: config.loadRetryDelayMs,
    },
    { logger, clock: deps.clock, proceed: deps.proceed },
  ).then((b) => {
    if (b) monitor.setBaseline(b);
    return b;
  });
  void Promise.all([baseline, deps.signature]).then(([b, signature]) => {
    if (!b || !signature) return;
    for (const problem of mismatches(b, signature))
      logger.warn('the drift baseline does not match the model: this entry will have no samples', {
        problem,
      });
  });
  return monitor;
}
