/**
 * Wiring: config -> metrics, registry, data plane, HTTP servers -> model load (with retries) -> ready.
 * The ports open first, so liveness answers and readiness says why it is not ready while the model loads.
 * shutdown() is the SIGTERM path: readiness false and the listening socket closed at once, in-flight and queued
 * requests finish (bounded by drainTimeoutMs), then everything closes. The model's lifecycle (loading, ready,
 * draining, stopped, failed) moves only through repository/lifecycle.ts.
 */
import { once } from 'node:events';
import { Server as NetServer, type AddressInfo } from 'node:net';
import type { Logger } from 'winston';
import { startAuth, type AuthDeps } from './auth/setup.js';
import { realClock, type Clock } from './clock.js';
import type { ServerConfig } from './config.js';
import { DataPlane } from './dataplane.js';
import { whenQuiet, type Activity } from './drain.js';
import { createInferenceApp } from './http/app.js';
import { createMetricsServer } from './http/metrics-server.js';
import { accessLogVia, createLogging, stdoutLines, type AccessLog, type LineWriter } from './logger.js';
import { ServingMetrics } from './metrics.js';
import type { DriftMonitor } from './monitoring/drift/monitor.js';
import { startDriftMonitor } from './monitoring/drift/setup.js';
import { FEEDBACK_DEFAULTS, PAYLOAD_LOG_DEFAULTS } from './monitoring/defaults.js';
import { FeedbackMonitor } from './monitoring/feedback.js';
import { feedbackWithPeers } from './monitoring/feedback-peers.js';
import { tlsPeerPost } from './monitoring/peer-transport.js';
import { observeAll, type InferenceObserver } from './monitoring/observer.js';
import type { HttpSinkOptions } from './monitoring/payload-http.js';
import { createPayloadLog } from './monitoring/payload-log.js';
import { ModelLifecycle } from './repository/lifecycle.js';
import { loadModel } from './repository/loader.js';
import type { OnnxModel } from './repository/model.js';
import { ModelRegistry, type ModelEntry, type Serving } from './repository/registry.js';
import { ModelStatistics } from './statistics.js';
import { createServingServer } from './tls/server.js';
import { loadTls, type TlsDeps } from './tls/setup.js';
import { modelVerification } from './trust-options.js';

export const SERVER_NAME = 'modelship';
export const SERVER_VERSION = '0.1.0';

/** How long the server must have had no request before it closes its idle connections on shutdown. */
export const DRAIN_QUIET_MS = 1000;

/** Longest a replica waits for a peer to answer forwarded feedback. */
const FEEDBACK_PEER_TIMEOUT_MS = 2000;

export interface RunningServer {
  /** The inference port actually bound (useful with port 0). */
  readonly port: number;
  readonly metricsPort: number;
  readonly metrics: ServingMetrics;
  /** The input drift monitor, when --baseline-uri is set. */
  readonly drift?: DriftMonitor;
  /** Resolves true once the model is ready; false when it will not be (the last load attempt failed, or a shutdown began first). */
  readonly loaded: Promise<boolean>;
  /** Resolves with the reason if a loaded model stops being able to serve (its onnxruntime worker died). */
  readonly broken: Promise<string>;
  /** Why the model failed (to load, or later), as the ready endpoints say it; undefined while it has not. */
  failure(): string | undefined;
  /** Graceful: readiness false, stop accepting, drain in-flight and queued requests (bounded), close. Idempotent. */
  shutdown(): Promise<void>;
}

export interface ServerDeps {
  /** Defaults to JSON logs on stdout. */
  logger?: Logger;
  /** The access line writer: the hand-built line with the default logger, else `logger` itself. */
  accessLog?: AccessLog;
  /** Batching deadlines, load retries and the drain's quiet period; tests pass a fake one. */
  clock?: Clock;
  /** stdout's line writer, shared by the logs and the payload log's lines (else one of its own on stdout). */
  stdout?: LineWriter;
  /** Which requests the payload log samples: uniform in [0, 1) (default Math.random). */
  random?: () => number;
  /** The payload log collector's timeout and backoff (tests shorten them). */
  payloadHttp?: Partial<Pick<HttpSinkOptions, 'timeoutMs' | 'backoffMs' | 'maxBackoffMs'>>;
  /** How the TLS directory is watched (tests shorten the re-read). */
  tlsWatch?: TlsDeps['watch'];
  /** Authentication's timing: key directory re-reads, JWKS refetch cooldown and age, token re-verification (tests shorten them). */
  auth?: Pick<AuthDeps, 'keyReloadMs' | 'jwksCooldownMs' | 'jwksMaxAgeMs' | 'tokenReverifyMs'>;
}

/** Starts the server. Tests inject a winston logger and read its lines, and may drive a fake clock. */
export async function startServer(config: ServerConfig, deps: ServerDeps = {}): Promise<RunningServer> {
  const lines = deps.stdout ?? (deps.logger ? undefined : stdoutLines());
  const logging = deps.logger
    ? undefined
    : createLogging(config.logLevel, { model: config.modelName }, lines);
  const log = deps.logger ?? logging!.logger;
  const access = deps.accessLog ?? logging?.access ?? accessLogVia(log);
  const clock = deps.clock ?? realClock;
  log.info('starting', {
    config: {
      ...config,
      modelUri: redact(config.modelUri),
      ...(config.payloadLogUrl ? { payloadLogUrl: redact(config.payloadLogUrl) } : {}),
      ...(config.baselineUri ? { baselineUri: redact(config.baselineUri) } : {}),
    },
  });

  const metrics = new ServingMetrics(config.revision);
  // First: a TLS directory without a usable certificate stops the start (never plain HTTP instead).
  const tls = await loadTls(config.tlsDir, {
    registry: metrics.registry,
    logger: log,
    clock,
    watch: deps.tlsWatch,
  });
  const labels = { model: config.modelName, version: config.modelVersion };
  metrics.declareModel(labels);
  const registry = new ModelRegistry();
  const lifecycle = new ModelLifecycle<Serving>((state) => metrics.setReady(labels, state.phase === 'ready'));
  const entry: ModelEntry = {
    name: config.modelName,
    version: config.modelVersion,
    stats: new ModelStatistics(config.modelName, config.modelVersion),
    lifecycle,
    ...(config.modelCard ? { card: config.modelCard } : {}),
  };
  registry.add(entry);
  const dataplane = new DataPlane(registry, metrics, { name: SERVER_NAME, version: SERVER_VERSION });
  // What watches the answered requests (monitoring/): each one is off the request path by contract.
  const monitors: InferenceObserver[] = [];
  // Settled with the model's signature once loadModel (below) has: the drift baseline is checked against it.
  let signatureKnown: (signature: OnnxModel['signature'] | undefined) => void = () => undefined;
  const drift = startDriftMonitor(config, {
    labels,
    metrics,
    logger: log,
    clock,
    signature: new Promise((resolve) => (signatureKnown = resolve)),
    proceed: () => lifecycle.state.phase === 'loading' || lifecycle.state.phase === 'ready',
  });
  if (drift) monitors.push(drift);
  const servingNow = (): Serving | undefined => {
    const state = lifecycle.state;
    return state.phase === 'ready' || state.phase === 'draining' ? state.serving : undefined;
  };
  const feedbackStoreSize = config.feedbackStoreSize ?? FEEDBACK_DEFAULTS.storeSize;
  const feedback =
    feedbackStoreSize > 0
      ? new FeedbackMonitor({
          ...labels,
          maxEntries: feedbackStoreSize,
          maxAgeMs: config.feedbackMaxAgeMs ?? FEEDBACK_DEFAULTS.maxAgeMs,
          windowMs: config.feedbackWindowMs ?? FEEDBACK_DEFAULTS.windowMs,
          output: config.feedbackOutput,
          firstOutput: () => servingNow()?.signature.outputs[0]?.name,
          clock,
          registry: metrics.registry,
          logger: log,
        })
      : undefined;
  if (feedback) monitors.push(feedback);
  // Throws for an http log without a URL: the server does not start.
  const payloadLog = createPayloadLog(
    {
      mode: config.payloadLog ?? PAYLOAD_LOG_DEFAULTS.mode,
      url: config.payloadLogUrl,
      sample: config.payloadLogSample ?? PAYLOAD_LOG_DEFAULTS.sample,
      redact: config.payloadLogRedact ?? [],
      maxBytes: config.payloadLogMaxBytes ?? PAYLOAD_LOG_DEFAULTS.maxBytes,
      queueSize: config.payloadLogQueueSize ?? PAYLOAD_LOG_DEFAULTS.queueSize,
      batchSize: config.payloadLogBatchSize ?? PAYLOAD_LOG_DEFAULTS.batchSize,
      flushMs: config.payloadLogFlushMs ?? PAYLOAD_LOG_DEFAULTS.flushMs,
      revision: config.revision,
    },
    {
      registry: metrics.registry,
      logger: log,
      clock,
      random: deps.random ?? Math.random,
      stdout: () => lines ?? stdoutLines(),
      http: deps.payloadHttp,
    },
  );
  if (payloadLog) monitors.push(payloadLog);
  // The API keys are read before the port opens: no request is ever answered without them.
  const auth = await startAuth(config, {
    ...deps.auth,
    logger: log,
    clock,
    registry: metrics.registry,
    model: config.modelName,
  });
  const app = createInferenceApp(dataplane, {
    authenticate: auth?.authenticate,
    maxRequestBytes: config.maxRequestBytes,
    logger: log,
    accessLog: access,
    isDraining: () => lifecycle.state.phase === 'draining' || lifecycle.state.phase === 'stopped',
    clock,
    observer: observeAll(monitors, (err) => log.error('a monitor failed', { error: String(err) })),
    feedback:
      feedback &&
      (config.feedbackPeers
        ? feedbackWithPeers(feedback, {
            peers: config.feedbackPeers,
            timeoutMs: FEEDBACK_PEER_TIMEOUT_MS,
            ...(tls && config.tlsDir ? { post: tlsPeerPost(() => tls.certificate, config.tlsDir) } : {}),
          })
        : // Forwarded by a peer that lists this pod: that peer counts what nobody kept.
          (body, _path, forwarded) => feedback.feedback(body, { countMisses: !forwarded })),
  });

  const server = createServingServer(app.handle, tls);
  // Longer than the usual load balancer idle timeout (60 s), so the balancer, not the server, closes idle sockets.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  // Long-lived clients reconnect now and then, and so follow the Service to its current endpoints.
  server.maxRequestsPerSocket = config.maxRequestsPerConnection;
  const metricsServer = createMetricsServer(metrics.registry, config.metricsTls ? tls : undefined);
  try {
    await listen(server, config.port, config.host);
    await listen(metricsServer, config.metricsPort, config.host);
  } catch (err) {
    server.close();
    tls?.stop();
    auth?.close();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const metricsPort = (metricsServer.address() as AddressInfo).port;
  log.info('listening', {
    port,
    metricsPort,
    host: config.host,
    ...(tls ? { tls: true, metricsTls: config.metricsTls === true } : {}),
  });

  const model = loadModel(
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
      session: {
        intraOpThreads: config.intraOpThreads,
        interOpThreads: config.interOpThreads,
        // Observers read the inputs after the answer: onnxruntime's worker must not take them.
        keepInputs: monitors.some((m) => m.readsInputs !== false),
      },
      batching: {
        maxBatchSize: config.maxBatchSize,
        maxQueueDelayMs: config.maxQueueDelayMs,
        maxQueueSize: config.maxQueueSize,
        maxConcurrentBatches: config.maxConcurrentBatches,
      },
      verify: modelVerification(config),
      attempts: config.loadAttempts,
      retryDelayMs: config.loadRetryDelayMs,
    },
    { logger: log, metrics, clock },
  );
  let served: OnnxModel | undefined;
  const loaded = model.then((m) => {
    served = m;
    signatureKnown(m?.signature);
    const outputs = servingNow()?.signature.outputs.map((o) => o.name);
    if (
      feedback &&
      config.feedbackOutput !== undefined &&
      outputs &&
      !outputs.includes(config.feedbackOutput)
    )
      log.warn('the feedback output is not an output of the model: no prediction will be kept for feedback', {
        feedbackOutput: config.feedbackOutput,
        outputs,
      });
    return m !== undefined;
  });
  // A dead onnxruntime worker cannot come back: not ready, and the caller (cli.ts) exits so Kubernetes restarts.
  // (It cannot die after shutdown() closed it: OnnxModel.failed never resolves after close().)
  const broken = model.then((m) =>
    m
      ? m.failed.then((err) => {
          lifecycle.dispatch({ type: 'workerDied', error: err.message });
          log.error('the model can no longer serve', { error: err.message });
          return err.message;
        })
      : new Promise<string>(() => undefined),
  );

  let shuttingDown: Promise<void> | undefined;
  const shutdown = (): Promise<void> =>
    (shuttingDown ??= (async () => {
      const draining = lifecycle.dispatch({ type: 'sigterm' });
      const serving = draining.phase === 'draining' ? draining.serving : undefined;
      // Stop accepting at once: with the listening socket closed the kernel refuses new connections, which a
      // client can retry elsewhere even for a POST (a reset after connecting it cannot safely retry). net.Server's
      // close, not http.Server's: that one also closes idle keep-alive connections now, racing a client that is
      // sending its next request on one. Open connections are served on, every answer with `Connection: close`.
      const closed = once(server, 'close');
      NetServer.prototype.close.call(server);
      log.info('shutting down: readiness is false, draining in-flight requests', { inflight: app.inflight });
      const activities: Activity[] = serving ? [app, serving.runner.activity] : [app];
      const timeout = new AbortController();
      const timer = clock.setTimeout(() => timeout.abort(), config.drainTimeoutMs);
      // Idle keep-alive connections are closed only once no request has come for DRAIN_QUIET_MS: by then their
      // clients have had their `Connection: close` answers (or are gone), so none is caught mid-request.
      const clean = await whenQuiet(activities, clock, DRAIN_QUIET_MS, timeout.signal);
      clock.clearTimeout(timer);
      if (!clean)
        log.warn('drain timeout reached; closing with requests still in flight', { inflight: app.inflight });
      server.close(); // http.Server's: the idle connections left, and its timeout checks
      server.closeAllConnections(); // busy ones too, after a timeout
      await closed;
      metricsServer.closeAllConnections();
      await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
      tls?.stop();
      // A load still in progress is not awaited (a download may take minutes); the process exits after this, and
      // a model that loads after all is closed by the loader (the lifecycle no longer takes it).
      // The payload log delivers what it still holds (bounded), while the model closes.
      auth?.close();
      await Promise.all([served?.close(), payloadLog?.close(PAYLOAD_LOG_DEFAULTS.closeMs)]);
      lifecycle.dispatch({ type: 'drained' });
      log.info('stopped', { drained: clean });
    })());

  const failure = (): string | undefined =>
    lifecycle.state.phase === 'failed' ? lifecycle.state.error : undefined;
  return { port, metricsPort, metrics, ...(drift ? { drift } : {}), loaded, broken, failure, shutdown };
}

async function listen(server: NetServer, port: number, host: string): Promise<void> {
  server.listen(port, host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err))]);
}

/** Credentials and query strings (presigned URLs) never reach the logs. */
function redact(uri: string): string {
  return uri.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1').replace(/\?.*$/, '');
}
