/**
 * Operator configuration: flags, each with an environment variable (so a container spec can set them).
 * Parsed once in main.ts; nothing else reads process.env or argv.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { defaultServerImage, packageVersion } from './version.js';

export interface OperatorConfig {
  kubeconfig?: string;
  /** 'all' or the namespaces whose ModelDeployments are reconciled. */
  namespaces: 'all' | string[];
  serverImage: string;
  logLevel: string;
  bindAddress: string;
  metricsPort: number;
  healthPort: number;
  leaderElect: boolean;
  leaderElectionNamespace: string;
  leaderElectionId: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  concurrency: number;
  maxConcurrentRollouts: number;
  /** A remote model (http, https, s3) without sha256 is not rolled out, in every ModelDeployment. */
  requireModelDigest: boolean;
  resyncPeriodMs: number;
  shutdownTimeoutMs: number;
}

const int = (min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`must be an integer >= ${min}`);
  return n;
};

export function buildCommand(env: NodeJS.ProcessEnv = process.env): Command {
  const opt = (flags: string, description: string, envName: string) =>
    new Option(flags, description).env(envName);
  return new Command('modelship-operator')
    .description('Modelship operator: reconciles ModelDeployments into serving Deployments and Services.')
    .version(packageVersion)
    .addOption(
      opt('--kubeconfig <path>', 'kubeconfig file; default: KUBECONFIG, then in-cluster', 'KUBECONFIG'),
    )
    .addOption(
      opt(
        '--namespaces <list>',
        'comma-separated namespaces to watch; empty: all',
        'MODELSHIP_WATCH_NAMESPACES',
      ).default(''),
    )
    .addOption(
      opt('--server-image <image>', 'default serving image', 'MODELSHIP_SERVER_IMAGE').default(
        defaultServerImage,
      ),
    )
    .addOption(
      opt('--log-level <level>', 'error, warn, info or debug', 'MODELSHIP_LOG_LEVEL')
        .choices(['error', 'warn', 'info', 'debug'])
        .default('info'),
    )
    .addOption(
      opt(
        '--bind-address <address>',
        'address of the metrics and health servers',
        'MODELSHIP_BIND_ADDRESS',
      ).default('0.0.0.0'),
    )
    .addOption(
      opt('--metrics-port <port>', 'Prometheus /metrics port', 'MODELSHIP_METRICS_PORT')
        .argParser(int(0))
        .default(8080),
    )
    .addOption(
      opt('--health-port <port>', '/healthz and /readyz port', 'MODELSHIP_HEALTH_PORT')
        .argParser(int(0))
        .default(8081),
    )
    .addOption(
      opt(
        '--no-leader-elect',
        'run without leader election (a single replica only)',
        'MODELSHIP_NO_LEADER_ELECT',
      ),
    )
    .addOption(
      opt(
        '--leader-election-namespace <ns>',
        'namespace of the leader election Lease',
        'MODELSHIP_LEADER_ELECTION_NAMESPACE',
      ).default(env.POD_NAMESPACE ?? 'modelship-system'),
    )
    .addOption(
      opt('--leader-election-id <name>', 'name of the Lease', 'MODELSHIP_LEADER_ELECTION_ID').default(
        'modelship-operator',
      ),
    )
    .addOption(
      opt('--lease-duration-ms <ms>', 'how long a lease is valid', 'MODELSHIP_LEASE_DURATION_MS')
        .argParser(int(1000))
        .default(15000),
    )
    .addOption(
      opt(
        '--renew-deadline-ms <ms>',
        'give up leading after failing to renew this long',
        'MODELSHIP_RENEW_DEADLINE_MS',
      )
        .argParser(int(500))
        .default(10000),
    )
    .addOption(
      opt('--retry-period-ms <ms>', 'lease renew/acquire interval', 'MODELSHIP_RETRY_PERIOD_MS')
        .argParser(int(100))
        .default(2000),
    )
    .addOption(
      opt('--concurrency <n>', 'ModelDeployments reconciled at once', 'MODELSHIP_CONCURRENCY')
        .argParser(int(1))
        .default(4),
    )
    .addOption(
      opt(
        '--max-concurrent-rollouts <n>',
        'rollouts of a new default serving image (an operator upgrade) at once across all ModelDeployments; the others wait for a slot (spec changes never wait)',
        'MODELSHIP_MAX_CONCURRENT_ROLLOUTS',
      )
        .argParser(int(1))
        .default(3),
    )
    .addOption(
      opt(
        '--require-model-digest',
        'refuse to roll out a remote model (http://, https://, s3://) without spec.model.sha256, in every ModelDeployment (spec.model.requireDigest for all)',
        'MODELSHIP_REQUIRE_MODEL_DIGEST',
      ),
    )
    .addOption(
      opt(
        '--resync-period-ms <ms>',
        'look at every ModelDeployment again this often',
        'MODELSHIP_RESYNC_PERIOD_MS',
      )
        .argParser(int(1000))
        .default(600000),
    )
    .addOption(
      opt(
        '--shutdown-timeout-ms <ms>',
        'longest wait for in-flight reconciles on SIGTERM',
        'MODELSHIP_SHUTDOWN_TIMEOUT_MS',
      )
        .argParser(int(0))
        .default(20000),
    );
}

/**
 * Flags built from the environment `env` (which need not be process.env), placed before the real arguments so
 * that a flag on the command line still wins.
 */
function argsFromEnv(cmd: Command, env: NodeJS.ProcessEnv): string[] {
  const args: string[] = [];
  for (const option of cmd.options) {
    const value = option.envVar ? env[option.envVar] : undefined;
    if (value === undefined || value === '') continue;
    if (option.negate || option.isBoolean()) {
      if (['1', 'true', 'yes'].includes(value.toLowerCase())) args.push(option.long!);
    } else {
      args.push(`${option.long}=${value}`);
    }
  }
  return args;
}

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  const cmd = buildCommand(env);
  const [node, script, ...rest] = argv;
  cmd.parse([node ?? 'node', script ?? 'modelship-operator', ...argsFromEnv(cmd, env), ...rest], {
    from: 'node',
  });
  const o = cmd.opts<Record<string, unknown>>();
  if ((o.renewDeadlineMs as number) >= (o.leaseDurationMs as number)) {
    cmd.error('--renew-deadline-ms must be shorter than --lease-duration-ms');
  }
  const namespaces = String(o.namespaces)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    kubeconfig: o.kubeconfig as string | undefined,
    namespaces: namespaces.length ? namespaces : 'all',
    serverImage: o.serverImage as string,
    logLevel: o.logLevel as string,
    bindAddress: o.bindAddress as string,
    metricsPort: o.metricsPort as number,
    healthPort: o.healthPort as number,
    leaderElect: o.leaderElect as boolean,
    leaderElectionNamespace: o.leaderElectionNamespace as string,
    leaderElectionId: o.leaderElectionId as string,
    leaseDurationMs: o.leaseDurationMs as number,
    renewDeadlineMs: o.renewDeadlineMs as number,
    retryPeriodMs: o.retryPeriodMs as number,
    concurrency: o.concurrency as number,
    maxConcurrentRollouts: o.maxConcurrentRollouts as number,
    requireModelDigest: o.requireModelDigest === true,
    resyncPeriodMs: o.resyncPeriodMs as number,
    shutdownTimeoutMs: o.shutdownTimeoutMs as number,
  };
}
