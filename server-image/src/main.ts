/**
 * Wiring: config -> metrics, registry, data plane, HTTP servers -> model load (with retries) -> ready.
 * The ports open first, so liveness answers and readiness says why it is not ready while the model loads.
 * shutdown() is the SIGTERM path: readiness false at once, stop accepting connections, let in-flight and queued
 * requests finish (bounded by drainTimeoutMs), then close.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'winston';
import type { ServerConfig } from './config.js';
import { DataPlane, type Lifecycle } from './dataplane.js';
import { createInferenceApp } from './http/app.js';
import { createMetricsServer } from './http/metrics-server.js';
import { accessLogVia, createLogging, type AccessLog } from './logger.js';
import { ServingMetrics } from './metrics.js';
import { loadModel } from './repository/loader.js';
import type { OnnxModel } from './repository/model.js';
import { ModelRegistry, type ModelEntry } from './repository/registry.js';
import { ModelStatistics } from './statistics.js';

export const SERVER_NAME = 'modelship';
export const SERVER_VERSION = '0.1.0';

export interface RunningServer {
  /** The inference port actually bound (useful with port 0). */
  readonly port: number;
  readonly metricsPort: number;
  readonly metrics: ServingMetrics;
  /** Resolves true once the model is ready, false when the last load attempt failed. */
  readonly loaded: Promise<boolean>;
  /** Resolves with the reason if a loaded model stops being able to serve (its onnxruntime worker died). */
  readonly broken: Promise<string>;
  /** Graceful: readiness false, drain in-flight and queued requests (bounded), close. Idempotent. */
  shutdown(): Promise<void>;
}

/**
 * Starts the server. `logger` defaults to JSON logs on stdout; `accessLog` to the hand-built access line when the
 * logger is the default one, else to `logger` itself (tests inject a winston logger and read its lines).
 */
export async function startServer(
  config: ServerConfig,
  logger?: Logger,
  accessLog?: AccessLog,
): Promise<RunningServer> {
  const logging = logger ? undefined : createLogging(config.logLevel, { model: config.modelName });
  const log = logger ?? logging!.logger;
  const access = accessLog ?? logging?.access ?? accessLogVia(log);
  log.info('starting', { config: { ...config, modelUri: redact(config.modelUri) } });

  const metrics = new ServingMetrics(config.revision);
  const labels = { model: config.modelName, version: config.modelVersion };
  metrics.declareModel(labels);
  const registry = new ModelRegistry();
  const entry: ModelEntry = {
    name: config.modelName,
    version: config.modelVersion,
    stats: new ModelStatistics(config.modelName, config.modelVersion),
    state: { phase: 'loading', attempt: 1 },
  };
  registry.add(entry);
  const lifecycle: Lifecycle = { draining: false };
  const dataplane = new DataPlane(
    registry,
    metrics,
    { name: SERVER_NAME, version: SERVER_VERSION },
    lifecycle,
  );
  const app = createInferenceApp(dataplane, {
    maxRequestBytes: config.maxRequestBytes,
    logger: log,
    accessLog: access,
    isDraining: () => lifecycle.draining,
  });

  const server = createServer(app.handle);
  // Longer than the usual load balancer idle timeout (60 s), so the balancer, not the server, closes idle sockets.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const metricsServer = createMetricsServer(metrics.registry);
  await listen(server, config.port, config.host);
  try {
    await listen(metricsServer, config.metricsPort, config.host);
  } catch (err) {
    server.close();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const metricsPort = (metricsServer.address() as AddressInfo).port;
  log.info('listening', { port, metricsPort, host: config.host });

  let model: OnnxModel | undefined;
  const loaded = loadModel(
    entry,
    {
      uri: config.modelUri,
      fetch: {
        cacheDir: config.cacheDir,
        maxBytes: config.maxModelBytes,
        sha256: config.modelSha256,
        timeoutMs: config.fetchTimeoutMs,
        pvcRoot: config.pvcRoot,
        s3: config.s3Endpoint ? { endpoint: config.s3Endpoint, forcePathStyle: true } : undefined,
      },
      session: { intraOpThreads: config.intraOpThreads, interOpThreads: config.interOpThreads },
      batching: {
        maxBatchSize: config.maxBatchSize,
        maxQueueDelayMs: config.maxQueueDelayMs,
        maxQueueSize: config.maxQueueSize,
        maxConcurrentBatches: config.maxConcurrentBatches,
      },
      attempts: config.loadAttempts,
      retryDelayMs: config.loadRetryDelayMs,
    },
    { logger: log, metrics },
  ).then((m) => {
    model = m;
    return m !== undefined;
  });
  // A dead onnxruntime worker cannot come back: not ready, and the caller (cli.ts) exits so Kubernetes restarts.
  const broken = loaded.then(() =>
    model
      ? model.failed.then((err) => {
          entry.state = { phase: 'failed', error: err.message };
          metrics.setReady(labels, false);
          log.error('the model can no longer serve', { error: err.message });
          return err.message;
        })
      : new Promise<string>(() => undefined),
  );

  let shuttingDown: Promise<void> | undefined;
  const shutdown = (): Promise<void> =>
    (shuttingDown ??= (async () => {
      lifecycle.draining = true;
      metrics.setReady(labels, false);
      log.info('shutting down: readiness is false, draining in-flight requests', { inflight: app.inflight });
      // Connections opened from now on are dropped at once (by now, after the pod's preStop delay, no Service
      // routes new connections here). Open ones keep being served, every answer with `Connection: close`, until
      // no request has arrived for DRAIN_QUIET_MS: a client in the middle of a keep-alive exchange gets its answer
      // and a clean close instead of a reset racing its next request.
      server.on('connection', (socket) => socket.destroy());
      const drained = (async () => {
        for (;;) {
          await Promise.all([app.whenIdle(), entry.runner?.whenIdle()]);
          const quietFor = performance.now() - app.lastActivity;
          if (app.inflight === 0 && quietFor >= DRAIN_QUIET_MS) return true;
          await new Promise((r) => setTimeout(r, Math.max(10, DRAIN_QUIET_MS - quietFor)));
        }
      })();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), config.drainTimeoutMs);
      });
      const clean = await Promise.race([drained, timedOut]);
      clearTimeout(timer);
      if (!clean)
        log.warn('drain timeout reached; closing with requests still in flight', { inflight: app.inflight });
      // Stop accepting, then close what is left (idle keep-alive connections; busy ones only after a timeout).
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      metricsServer.closeAllConnections();
      await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
      // A load still in progress is not awaited (a download may take minutes); the process exits after this.
      await model?.close();
      log.info('stopped', { drained: clean });
    })());

  return { port, metricsPort, metrics, loaded, broken, shutdown };
}

/** How long the server must have had no request before it closes its connections on shutdown. */
const DRAIN_QUIET_MS = 1000;

async function listen(server: Server, port: number, host: string): Promise<void> {
  server.listen(port, host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err))]);
}

/** Credentials and query strings (presigned URLs) never reach the logs. */
function redact(uri: string): string {
  return uri.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1').replace(/\?.*$/, '');
}
