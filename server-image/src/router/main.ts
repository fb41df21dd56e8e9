/**
 * `modelship-server route`: the router in front of a ModelDeployment's revisions. Wiring: route source → table →
 * HTTP server; metrics on their own port; on SIGTERM it stops accepting at once and drains like the server does.
 */
import { once } from 'node:events';
import { Server as NetServer, type AddressInfo } from 'node:net';
import type { Logger } from 'winston';
import { realClock, type Clock } from '../clock.js';
import { whenQuiet } from '../drain.js';
import { createMetricsServer } from '../http/metrics-server.js';
import { createLogging } from '../logger.js';
import { loadCaFile, type CaFile } from '../tls/ca-file.js';
import { createServingServer } from '../tls/server.js';
import { loadTls, type TlsDeps } from '../tls/setup.js';
import { RouterMetrics } from './metrics.js';
import { createRouterApp } from './proxy.js';
import { compile, type CompiledTable } from './select.js';
import {
  configMapSource,
  fileSource,
  inClusterAccess,
  type KubeAccess,
  type RouteSource,
} from './sources.js';

export interface RouterConfig {
  host: string;
  port: number;
  metricsPort: number;
  /** The ConfigMap with the route table (in a cluster), or */
  configMap?: string;
  namespace?: string;
  /** a file with the route table (outside one). */
  routesFile?: string;
  upstreamTimeoutMs: number;
  /** Requests per keep-alive connection before Connection: close (0: no limit). */
  maxRequestsPerConnection: number;
  drainTimeoutMs: number;
  logLevel: string;
  /** A kubernetes.io/tls Secret's directory: the router serves HTTPS (and, with metricsTls, its metrics port). */
  tlsDir?: string;
  metricsTls?: boolean;
  /** PEM bundle https:// backends are verified against (else Node's trust store). */
  backendCaFile?: string;
}

export interface RunningRouter {
  readonly port: number;
  readonly metricsPort: number;
  readonly metrics: RouterMetrics;
  /** Resolves once the first route table is in force. */
  readonly ready: Promise<void>;
  shutdown(): Promise<void>;
}

const DRAIN_QUIET_MS = 1000;

export async function startRouter(
  config: RouterConfig,
  deps: {
    logger?: Logger;
    clock?: Clock;
    access?: KubeAccess;
    random?: () => number;
    /** How the TLS directory and the backend CA file are watched (tests shorten the re-read). */
    tlsWatch?: TlsDeps['watch'];
  } = {},
): Promise<RunningRouter> {
  const log = deps.logger ?? createLogging(config.logLevel, { component: 'router' }).logger;
  const clock = deps.clock ?? realClock;
  const metrics = new RouterMetrics();
  let table: CompiledTable | undefined;
  let draining = false;
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  let backendCa: CaFile | undefined;
  const app = createRouterApp({
    table: () => table,
    metrics,
    clock,
    random: deps.random,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    isDraining: () => draining,
    onShadowResult: (revision, result, reason) => log.debug('shadow answer', { revision, result, reason }),
    backendCa: () => backendCa?.pem,
  });
  // Read before anything listens: a CA file or certificate that is not usable stops the start, saying why.
  if (config.backendCaFile)
    backendCa = await loadCaFile({
      path: config.backendCaFile,
      logger: log,
      clock,
      ...deps.tlsWatch,
      changed: () => app.backendCaChanged(),
    });
  const tls = await loadTls(config.tlsDir, {
    registry: metrics.registry,
    logger: log,
    clock,
    watch: deps.tlsWatch,
  }).catch((err: unknown) => {
    backendCa?.stop();
    throw err;
  });
  const events = {
    table: (t: Parameters<typeof compile>[0]) => {
      table = compile(t);
      metrics.tableApplied(
        t.backends.map((b) => ({ revision: b.revision, weight: b.weight })),
        t.shadow?.revision,
      );
      log.info('route table applied', {
        backends: t.backends.map((b) => `${b.revision}=${b.weight}`),
        matches: t.matches.length,
        ...(t.shadow ? { shadow: t.shadow.revision } : {}),
      });
      markReady();
    },
    rejected: (reason: string) => {
      metrics.tableRejected();
      log.error('route table rejected; the last good one stays', { reason });
    },
    trouble: (reason: string) => log.warn('route source trouble; retrying', { reason }),
  };
  let source: RouteSource;
  if (config.routesFile) source = fileSource(config.routesFile, events, clock);
  else {
    if (!config.configMap || !config.namespace)
      throw new Error('route needs --configmap and --namespace, or --routes-file');
    source = configMapSource(
      deps.access ?? (await inClusterAccess()),
      config.namespace,
      config.configMap,
      events,
      clock,
    );
  }

  const server = createServingServer(app.handle, tls);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.maxRequestsPerSocket = config.maxRequestsPerConnection;
  const metricsServer = createMetricsServer(metrics.registry, config.metricsTls ? tls : undefined);
  await listen(server, config.port, config.host);
  await listen(metricsServer, config.metricsPort, config.host);
  const port = (server.address() as AddressInfo).port;
  const metricsPort = (metricsServer.address() as AddressInfo).port;
  log.info('listening', {
    port,
    metricsPort,
    ...(tls ? { tls: true, metricsTls: config.metricsTls === true } : {}),
  });

  let stopping: Promise<void> | undefined;
  const shutdown = () =>
    (stopping ??= (async () => {
      draining = true;
      const closed = once(server, 'close');
      NetServer.prototype.close.call(server); // refuse new connections now; open ones are served on
      const timeout = new AbortController();
      const timer = clock.setTimeout(() => timeout.abort(), config.drainTimeoutMs);
      const clean = await whenQuiet([app], clock, DRAIN_QUIET_MS, timeout.signal);
      clock.clearTimeout(timer);
      source.stop();
      server.close();
      server.closeAllConnections();
      await closed;
      app.close();
      tls?.stop();
      backendCa?.stop();
      metricsServer.closeAllConnections();
      await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
      log.info('stopped', { drained: clean });
    })());
  return { port, metricsPort, metrics, ready, shutdown };
}

async function listen(server: NetServer, port: number, host: string): Promise<void> {
  server.listen(port, host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err))]);
}
