/**
 * modelship-operator: wiring only. Configuration → logger and metrics → controller (informers, queue,
 * reconciler) → leader election → reconciling. On SIGTERM: stop taking work, finish in-flight reconciles,
 * release the lease (a standby takes over at once), exit 0.
 */
import * as k8s from '@kubernetes/client-node';
import { parseConfig, type OperatorConfig } from './config.js';
import { Controller } from './controller.js';
import { LeaderElector, leaderIdentity } from './kube/leader.js';
import { createLogger } from './telemetry/logger.js';
import { createOperatorMetrics } from './telemetry/metrics.js';
import { healthServer, listen, metricsServer } from './telemetry/servers.js';
import { packageVersion } from './version.js';

function loadKubeConfig(config: OperatorConfig): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
  else kc.loadFromDefault();
  return kc;
}

async function main(): Promise<void> {
  const config = parseConfig(process.argv);
  const logger = createLogger(config.logLevel);
  const { kubeconfig: _secretPath, ...shown } = config;
  logger.info('starting modelship-operator', { version: packageVersion, config: shown });
  const kc = loadKubeConfig(config);
  const metrics = createOperatorMetrics();
  const controller = new Controller({
    kubeConfig: kc,
    namespaces: config.namespaces,
    logger,
    metrics,
    serverImage: config.serverImage,
    // The Lease's namespace is the operator's own (POD_NAMESPACE in the chart).
    operatorNamespace: config.leaderElectionNamespace,
    concurrency: config.concurrency,
    maxConcurrentRollouts: config.maxConcurrentRollouts,
    requireModelDigest: config.requireModelDigest,
    resyncPeriodMs: config.resyncPeriodMs,
  });
  const servers = [metricsServer(metrics.registry), healthServer(() => controller.hasSynced())];
  const [metricsPort, healthPort] = await Promise.all([
    listen(servers[0]!, config.metricsPort, config.bindAddress),
    listen(servers[1]!, config.healthPort, config.bindAddress),
  ]);
  logger.info('serving metrics and health', { metricsPort, healthPort });

  let shuttingDown = false;
  const startReconciling = () => {
    logger.info('reconciling', { namespaces: config.namespaces });
    controller.start();
  };
  // Caches start at once, also in a standby replica: a take-over then needs no initial list.
  const synced = controller.startCaches().then(() => logger.info('caches synced'));

  const elector = config.leaderElect
    ? new LeaderElector({
        kubeConfig: kc,
        leaseNamespace: config.leaderElectionNamespace,
        leaseName: config.leaderElectionId,
        identity: leaderIdentity(process.env.POD_NAME),
        leaseDurationMs: config.leaseDurationMs,
        renewDeadlineMs: config.renewDeadlineMs,
        retryPeriodMs: config.retryPeriodMs,
        logger,
        registry: metrics.registry,
        onStartedLeading: async () => {
          await synced;
          if (!shuttingDown) startReconciling();
        },
        // Lost the lease without asking: another replica may already act. Stop at once, as controller-runtime does.
        onStoppedLeading: () => {
          if (!shuttingDown) {
            logger.error('lost the leader lease; exiting');
            process.exit(1);
          }
        },
      })
    : undefined;

  const shutdown = async (signal: string, code: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info('shutting down', { signal });
    await controller.stop(config.shutdownTimeoutMs);
    if (elector) await elector.release();
    for (const s of servers) s.close();
    logger.info('stopped');
    process.exit(code);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
  process.on('SIGINT', () => void shutdown('SIGINT', 0));

  if (elector) {
    elector.start();
  } else {
    await synced;
    startReconciling();
  }
}

main().catch((err: Error) => {
  createLogger('error').error('operator failed', { error: err.message, stack: err.stack });
  process.exit(1);
});
