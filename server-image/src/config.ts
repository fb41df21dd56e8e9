/**
 * `modelship-server serve` configuration: every flag with its environment variable (env.ts) and default, parsed
 * once into a typed ServerConfig that main.ts passes down. Nothing reads the environment anywhere else.
 * `inspect` takes serve's model-loading flags (the same Option objects) plus its own, into an InspectConfig;
 * `baseline` (a drift baseline from a sample) has flags only.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option, type CommanderError } from 'commander';
import { authOptions, authSettingsOf, type AuthSettings } from './auth/options.js';
import * as ENV from './env.js';
import {
  FEEDBACK_DEFAULTS,
  PAYLOAD_LOG_DEFAULTS,
  PAYLOAD_LOG_MODES,
  type PayloadLogMode,
} from './monitoring/defaults.js';
import type { RouterConfig } from './router/main.js';
import { TRUST_LOADING_FLAGS, trustConfig, trustOptions, type TrustConfig } from './trust-options.js';

export interface ServerConfig extends AuthSettings, TrustConfig {
  modelName: string;
  modelVersion: string;
  modelUri: string;
  modelSha256?: string;
  host: string;
  port: number;
  metricsPort: number;
  maxBatchSize: number;
  maxQueueDelayMs: number;
  maxQueueSize: number;
  maxConcurrentBatches: number;
  intraOpThreads: number;
  interOpThreads: number;
  cacheDir: string;
  pvcRoot: string;
  maxModelBytes: number;
  s3Endpoint?: string;
  maxRequestBytes: number;
  maxRequestsPerConnection: number;
  loadAttempts: number;
  loadRetryDelayMs: number;
  fetchTimeoutMs: number;
  drainTimeoutMs: number;
  logLevel: string;
  revision: string;
  /** The drift baseline; undefined: drift monitoring off. */
  baselineUri?: string;
  driftWindowMs: number;
  // Monitoring (src/monitoring/). Optional: absent means the default in monitoring/defaults.ts.
  /** Predictions kept for ground-truth feedback; 0 = feedback off. */
  feedbackStoreSize?: number;
  feedbackMaxAgeMs?: number;
  /** The output holding the prediction; absent = the model's first. */
  feedbackOutput?: string;
  feedbackWindowMs?: number;
  /** The other replicas feedback is forwarded to when the prediction is not kept here (base URLs). */
  feedbackPeers?: string;
  payloadLog?: PayloadLogMode;
  /** The collector, for payloadLog 'http'. */
  payloadLogUrl?: string;
  payloadLogSample?: number;
  payloadLogRedact?: string[];
  payloadLogMaxBytes?: number;
  payloadLogQueueSize?: number;
  payloadLogBatchSize?: number;
  payloadLogFlushMs?: number;
  /** A kubernetes.io/tls Secret's directory (tls.crt, tls.key): the inference port serves HTTPS. */
  tlsDir?: string;
  /** The metrics port serves HTTPS too, with the same certificate (needs tlsDir). */
  metricsTls?: boolean;
}

/** `modelship-server inspect`: serve's settings for fetching and opening the model, and its own. */
export interface InspectConfig extends Pick<
  ServerConfig,
  | 'requireDigest'
  | 'modelSignature'
  | 'modelUri'
  | 'modelSha256'
  | 'intraOpThreads'
  | 'interOpThreads'
  | 'cacheDir'
  | 'pvcRoot'
  | 'maxModelBytes'
  | 's3Endpoint'
  | 'loadAttempts'
  | 'loadRetryDelayMs'
  | 'fetchTimeoutMs'
  | 'logLevel'
> {
  holdoutUri?: string;
  maxHoldoutBytes: number;
  /** '' writes no termination message. */
  terminationLog: string;
  timeoutMs: number;
}

/** `modelship-server baseline`: a drift baseline computed from a sample file. */
export interface BaselineCommandConfig {
  sample: string;
  input: string;
  bins: number;
  featureNames?: string[];
  categorical?: string[];
  /** '-' = stdout. */
  out: string;
}

const int =
  (min: number, what = `an integer >= ${min}`, max = Number.MAX_SAFE_INTEGER) =>
  (value: string): number => {
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`must be ${what}, got '${value}'`);
    return n;
  };

const nonNegative = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`must be a number >= 0, got '${value}'`);
  return n;
};

const sha256 = (value: string): string => {
  if (!/^[0-9a-fA-F]{64}$/.test(value)) throw new InvalidArgumentError('must be 64 hexadecimal digits');
  return value.toLowerCase();
};

const port = int(0, 'a port number 0-65535', 65535);

const fraction = (value: string): number => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1)
    throw new InvalidArgumentError(`must be a number from 0 to 1, got '${value}'`);
  return n;
};

const httpUrl = (value: string): string | undefined => {
  if (value === '') return undefined; // a template that always sets the variable
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`must be an http:// or https:// URL, got '${value}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidArgumentError(`must be an http:// or https:// URL, got '${url.protocol}'`);
  return value;
};

/** "true" or "false" (an environment variable cannot be a bare flag: commander would take "false" as set). */
const bool = (value: string): boolean => {
  const v = value.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false' || v === '') return false;
  throw new InvalidArgumentError(`must be true or false, got '${value}'`);
};

/** The TLS flags of `serve` and `route` (src/tls/). */
const tlsOptions = (o: (flags: string, description: string, env: string) => Option): Option[] => [
  o(
    '--tls-dir <dir>',
    'serve HTTPS with tls.crt and tls.key from this directory (a kubernetes.io/tls Secret), reloaded when they change',
    ENV.TLS_DIR,
  ),
  o('--metrics-tls <bool>', 'the metrics port serves HTTPS too, with the same certificate', ENV.METRICS_TLS)
    .default(false)
    .argParser(bool),
];

/** Comma-separated names, empty ones ignored ('' = none: a template that always sets the variable). */
const someNames = (value: string): string[] =>
  value
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');

/** Shared by `serve` and `route`: both are behind a Service whose endpoints change under long-lived clients. */
const maxRequestsPerConnection = (o: (flags: string, description: string, env: string) => Option): Option =>
  o(
    '--max-requests-per-connection <n>',
    'requests one keep-alive connection carries before Connection: close, so clients rebalance (0 = no limit)',
    ENV.MAX_REQUESTS_PER_CONNECTION,
  )
    .default(1000)
    .argParser(int(0));

/** The options of `serve`, in --help order. Each has an environment variable; flags win over variables. */
function serveOptions(): Option[] {
  const o = (flags: string, description: string, env: string): Option =>
    new Option(flags, description).env(env);
  return [
    o('--model-name <name>', 'model name in the protocol URLs', ENV.MODEL_NAME).default('model'),
    o(
      '--model-version <version>',
      'model version reported and accepted in /versions/{v}',
      ENV.MODEL_VERSION,
    ).default('1'),
    o(
      '--model-uri <uri>',
      'model location: path, file://, http(s)://, s3://bucket/key, pvc://claim/path',
      ENV.MODEL_URI,
    ),
    o(
      '--model-sha256 <hex>',
      'expected sha256 of the model file; a mismatch fails the load',
      ENV.MODEL_SHA256,
    ).argParser(sha256),
    ...trustOptions(o),
    o('--host <address>', 'address to listen on', ENV.HOST).default('0.0.0.0'),
    o('--port <port>', 'inference port (HTTP, Open Inference Protocol V2)', ENV.PORT)
      .default(8080)
      .argParser(port),
    o('--metrics-port <port>', 'Prometheus metrics port (GET /metrics)', ENV.METRICS_PORT)
      .default(9090)
      .argParser(port),
    o('--max-batch-size <rows>', 'most rows per batch; 1 disables batching', ENV.MAX_BATCH_SIZE)
      .default(32)
      .argParser(int(1)),
    o(
      '--max-queue-delay-ms <ms>',
      'longest the oldest request waits for a fuller batch (0: batches form from what queued while the previous one ran)',
      ENV.MAX_QUEUE_DELAY_MS,
    )
      .default(ENV.DEFAULTS.maxQueueDelayMs)
      .argParser(nonNegative),
    o('--max-queue-size <requests>', 'most queued requests; more get 503 + Retry-After', ENV.MAX_QUEUE_SIZE)
      .default(1024)
      .argParser(int(1)),
    o('--max-concurrent-batches <n>', 'batches that run at the same time', ENV.MAX_CONCURRENT_BATCHES)
      .default(1)
      .argParser(int(1)),
    o(
      '--intra-op-threads <n>',
      "onnxruntime intra-op threads (0 = onnxruntime's default)",
      ENV.INTRA_OP_THREADS,
    )
      .default(0)
      .argParser(int(0)),
    o(
      '--inter-op-threads <n>',
      "onnxruntime inter-op threads (0 = onnxruntime's default)",
      ENV.INTER_OP_THREADS,
    )
      .default(0)
      .argParser(int(0)),
    o('--cache-dir <dir>', 'where downloaded models are stored', ENV.CACHE_DIR).default(
      join(tmpdir(), 'modelship-cache'),
    ),
    o('--pvc-root <dir>', 'where pvc:// claims are mounted', ENV.PVC_ROOT).default('/mnt/pvc'),
    o('--max-model-bytes <bytes>', 'largest model download', ENV.MAX_MODEL_BYTES)
      .default(2 ** 31)
      .argParser(int(1)),
    o(
      '--s3-endpoint <url>',
      'S3-compatible endpoint for s3:// (else AWS_ENDPOINT_URL_S3 / AWS defaults)',
      ENV.S3_ENDPOINT,
    ),
    o('--max-request-bytes <bytes>', 'largest request body; larger gets 413', ENV.MAX_REQUEST_BYTES)
      .default(64 * 1024 * 1024)
      .argParser(int(1)),
    maxRequestsPerConnection(o),
    o('--load-attempts <n>', 'model load attempts before exiting non-zero', ENV.LOAD_ATTEMPTS)
      .default(3)
      .argParser(int(1)),
    o(
      '--load-retry-delay-ms <ms>',
      'wait before the second load attempt, doubled after each',
      ENV.LOAD_RETRY_DELAY_MS,
    )
      .default(2000)
      .argParser(int(0)),
    o('--fetch-timeout-ms <ms>', 'per-attempt model download timeout', ENV.FETCH_TIMEOUT_MS)
      .default(300_000)
      .argParser(int(1)),
    o(
      '--drain-timeout-ms <ms>',
      'on SIGTERM, longest wait for in-flight and queued requests',
      ENV.DRAIN_TIMEOUT_MS,
    )
      .default(30_000)
      .argParser(int(0)),
    o('--log-level <level>', 'error, warn, info or debug', ENV.LOG_LEVEL)
      .default('info')
      .choices(['error', 'warn', 'info', 'debug']),
    o('--revision <revision>', "the pod's revision, a label on every metric", ENV.REVISION).default(''),
    o(
      '--baseline-uri <uri>',
      'input drift baseline (baseline.json), same URI forms as --model-uri; unset = drift monitoring off',
      ENV.BASELINE_URI,
    ),
    o('--drift-window-ms <ms>', 'the sliding window input drift is measured over', ENV.DRIFT_WINDOW_MS)
      .default(3_600_000)
      .argParser(int(1000, 'an integer >= 1000')),
    ...monitoringOptions(o),
    ...tlsOptions(o),
    ...authOptions(o),
  ];
}

/** serve's monitoring flags: ground-truth feedback and payload (audit) logs (src/monitoring/). */
function monitoringOptions(o: (flags: string, description: string, env: string) => Option): Option[] {
  return [
    o(
      '--feedback-store-size <predictions>',
      'predictions kept for ground-truth feedback (POST .../feedback), oldest dropped first; 0 = feedback off',
      ENV.FEEDBACK_STORE_SIZE,
    )
      .default(FEEDBACK_DEFAULTS.storeSize)
      .argParser(int(0)),
    o('--feedback-max-age-ms <ms>', 'oldest prediction kept for feedback', ENV.FEEDBACK_MAX_AGE_MS)
      .default(FEEDBACK_DEFAULTS.maxAgeMs)
      .argParser(int(1)),
    o(
      '--feedback-output <name>',
      "the output holding the prediction (default: the model's first)",
      ENV.FEEDBACK_OUTPUT,
    ),
    o(
      '--feedback-peers <urls>',
      'comma-separated http://host:port of the other replicas; feedback for a prediction not kept here is forwarded to them (a host name means every address it resolves to: a headless Service)',
      ENV.FEEDBACK_PEERS,
    ),
    o(
      '--feedback-window-ms <ms>',
      'sliding window of the feedback accuracy, MAE and RMSE gauges',
      ENV.FEEDBACK_WINDOW_MS,
    )
      .default(FEEDBACK_DEFAULTS.windowMs)
      .argParser(int(1)),
    o('--payload-log <sink>', 'log inputs and outputs for audits: none, stdout or http', ENV.PAYLOAD_LOG)
      .default(PAYLOAD_LOG_DEFAULTS.mode)
      .choices(PAYLOAD_LOG_MODES),
    o(
      '--payload-log-url <url>',
      'the collector CloudEvents batches are POSTed to (required with --payload-log http)',
      ENV.PAYLOAD_LOG_URL,
    ).argParser(httpUrl),
    o('--payload-log-sample <fraction>', 'fraction of requests logged, 0 to 1', ENV.PAYLOAD_LOG_SAMPLE)
      .default(PAYLOAD_LOG_DEFAULTS.sample)
      .argParser(fraction),
    o(
      '--payload-log-redact <names>',
      'comma-separated input/output names logged as a sha256 of their data instead',
      ENV.PAYLOAD_LOG_REDACT,
    )
      .default([])
      .argParser(someNames),
    o(
      '--payload-log-max-bytes <bytes>',
      "longest payload record; a longer one keeps its metadata, not the tensors' data",
      ENV.PAYLOAD_LOG_MAX_BYTES,
    )
      .default(PAYLOAD_LOG_DEFAULTS.maxBytes)
      .argParser(int(1)),
    o(
      '--payload-log-queue-size <records>',
      'records waiting for the collector; beyond it the newest are dropped and counted',
      ENV.PAYLOAD_LOG_QUEUE_SIZE,
    )
      .default(PAYLOAD_LOG_DEFAULTS.queueSize)
      .argParser(int(1)),
    o(
      '--payload-log-batch-size <records>',
      'most records per POST to the collector',
      ENV.PAYLOAD_LOG_BATCH_SIZE,
    )
      .default(PAYLOAD_LOG_DEFAULTS.batchSize)
      .argParser(int(1)),
    o(
      '--payload-log-flush-ms <ms>',
      'longest a record waits for a fuller batch to the collector',
      ENV.PAYLOAD_LOG_FLUSH_MS,
    )
      .default(PAYLOAD_LOG_DEFAULTS.flushMs)
      .argParser(int(0)),
  ];
}

/** serve's flags that decide how a model is fetched and opened: `inspect` must open it the same way. */
const MODEL_LOADING_FLAGS: ReadonlySet<string> = new Set([
  '--model-uri',
  '--model-sha256',
  '--intra-op-threads',
  '--inter-op-threads',
  '--cache-dir',
  '--pvc-root',
  '--max-model-bytes',
  '--s3-endpoint',
  '--load-attempts',
  '--load-retry-delay-ms',
  '--fetch-timeout-ms',
  '--log-level',
  ...TRUST_LOADING_FLAGS,
]);

/** The options of `inspect`: serve's model-loading ones, then the holdout and where the result goes. */
function inspectOptions(): Option[] {
  const o = (flags: string, description: string, env: string): Option =>
    new Option(flags, description).env(env);
  return [
    ...serveOptions().filter((option) => MODEL_LOADING_FLAGS.has(option.long ?? '')),
    o(
      '--holdout <uri>',
      'a holdout set to score (JSON, see src/inspect/holdout.ts); same URI forms as --model-uri',
      ENV.HOLDOUT_URI,
    ),
    o('--max-holdout-bytes <bytes>', 'largest holdout file', ENV.MAX_HOLDOUT_BYTES)
      .default(64 * 1024 * 1024)
      .argParser(int(1)),
    o(
      '--termination-log <path>',
      "also write the result here, cut to Kubernetes' 4096 bytes ('' = nowhere)",
      ENV.TERMINATION_LOG,
    ).default('/dev/termination-log'),
    o('--timeout-ms <ms>', 'longest the whole inspection may take, retries included', ENV.INSPECT_TIMEOUT_MS)
      .default(900_000)
      .argParser(int(1)),
  ];
}

const names = (value: string): string[] => {
  const list = value.split(',').map((n) => n.trim());
  if (list.some((n) => n === ''))
    throw new InvalidArgumentError(`must be comma-separated names, got '${value}'`);
  return list;
};

/** The options of `baseline` (a tool run by hand or by a training pipeline: flags only). */
function baselineOptions(): Option[] {
  return [
    new Option(
      '--sample <file>',
      'the sample: .csv (rows, optional header), or .json (a V2 request {"inputs": [...]} or an array of rows)',
    ).makeOptionMandatory(),
    new Option(
      '--input <name>',
      "the model's input tensor the features are columns of",
    ).makeOptionMandatory(),
    new Option('--bins <n>', 'bins per numeric feature (quantiles of the sample)')
      .default(10)
      .argParser(int(2)),
    new Option(
      '--feature-names <a,b,...>',
      'feature names, one per column (else the header, else input[i])',
    ).argParser(names),
    new Option('--categorical <a,b,...>', 'features binned by value rather than by number').argParser(names),
    new Option('--out <file>', "where to write baseline.json ('-' = stdout)").makeOptionMandatory(),
  ];
}

/** The options of `route`: the router in front of a ModelDeployment's revisions. */
function routeOptions(): Option[] {
  const o = (flags: string, description: string, env: string): Option =>
    new Option(flags, description).env(env);
  return [
    o('--configmap <name>', 'the ConfigMap holding the route table (in a cluster)', ENV.ROUTER_CONFIGMAP),
    o('--namespace <name>', "that ConfigMap's namespace", ENV.ROUTER_NAMESPACE),
    new Option(
      '--routes-file <path>',
      'a file holding the route table instead (outside a cluster); polled for changes',
    ),
    o('--host <address>', 'address to listen on', ENV.HOST).default('0.0.0.0'),
    o('--port <port>', 'the port clients call', ENV.PORT).default(8080).argParser(port),
    o('--metrics-port <port>', 'Prometheus metrics port (GET /metrics)', ENV.METRICS_PORT)
      .default(9090)
      .argParser(port),
    maxRequestsPerConnection(o),
    new Option('--upstream-timeout-ms <ms>', 'longest a backend may stay silent on a request')
      .default(60_000)
      .argParser(int(1)),
    o('--drain-timeout-ms <ms>', 'on SIGTERM, longest wait for requests in flight', ENV.DRAIN_TIMEOUT_MS)
      .default(20_000)
      .argParser(int(0)),
    o('--log-level <level>', 'error, warn, info or debug', ENV.LOG_LEVEL)
      .default('info')
      .choices(['error', 'warn', 'info', 'debug']),
    ...tlsOptions(o),
    o(
      '--backend-ca-file <path>',
      "PEM CA bundle https:// backends are verified against (else the system's), re-read when it changes",
      ENV.ROUTER_BACKEND_CA_FILE,
    ),
  ];
}

/**
 * The `modelship-server` program: `serve` (the model), `route` (the router), `inspect` (validate a model once,
 * as a Job) and `baseline` (a drift baseline from a sample); each handler receives its parsed configuration.
 */
export function buildProgram(
  onServe: (config: ServerConfig) => Promise<void> | void,
  onRoute: (config: RouterConfig) => Promise<void> | void = () => undefined,
  onInspect: (config: InspectConfig) => Promise<void> | void = () => undefined,
  onBaseline: (config: BaselineCommandConfig) => Promise<void> | void = () => undefined,
): Command {
  const program = new Command('modelship-server')
    .description(
      'Serves one ONNX model over the Open Inference Protocol (V2), with dynamic batching and metrics',
    )
    .showHelpAfterError();
  const serve = program
    .command('serve')
    .description('load the model, then serve it; every flag can also be set by its environment variable');
  for (const option of serveOptions()) serve.addOption(option);
  // Usage errors exit 2 (as a shell's builtins do), so they are told apart from a failed model load (1).
  const exitCodes = (err: CommanderError): never => {
    const ok =
      err.code === 'commander.helpDisplayed' ||
      err.code === 'commander.help' ||
      err.code === 'commander.version';
    process.exit(ok ? 0 : 2);
  };
  program.exitOverride(exitCodes);
  serve.exitOverride(exitCodes);
  serve.action(async (opts: Record<string, unknown>) => {
    await onServe(toConfig(opts, serve));
  });
  const route = program
    .command('route')
    .description(
      "route requests to a ModelDeployment's revisions by weight and header, from a route table kept up to date",
    );
  for (const option of routeOptions()) route.addOption(option);
  route.exitOverride(exitCodes);
  route.action(async (opts: Record<string, unknown>) => {
    if (!opts.routesFile && !(opts.configmap && opts.namespace))
      route.error('error: give --configmap and --namespace (in a cluster), or --routes-file', {
        exitCode: 2,
      });
    await onRoute({
      host: opts.host as string,
      port: opts.port as number,
      metricsPort: opts.metricsPort as number,
      configMap: opts.configmap as string | undefined,
      namespace: opts.namespace as string | undefined,
      routesFile: opts.routesFile as string | undefined,
      upstreamTimeoutMs: opts.upstreamTimeoutMs as number,
      maxRequestsPerConnection: opts.maxRequestsPerConnection as number,
      drainTimeoutMs: opts.drainTimeoutMs as number,
      logLevel: opts.logLevel as string,
      ...tlsConfig(opts, route),
      backendCaFile: (opts.backendCaFile as string) || undefined,
    });
  });
  const inspect = program
    .command('inspect')
    .description(
      'load the model as serve does (fetch, sha256, session, warm-up), report its signature and optionally a ' +
        'holdout score as one JSON line on stdout and in the termination message; exit 0 if ok, 1 if not',
    );
  for (const option of inspectOptions()) inspect.addOption(option);
  inspect.exitOverride(exitCodes);
  inspect.action(async (opts: Record<string, unknown>) => {
    if (typeof opts.modelUri !== 'string' || opts.modelUri === '')
      inspect.error(`error: --model-uri (or ${ENV.MODEL_URI}) is required`, { exitCode: 2 });
    // The signature flags' raw text is replaced by the checked key and source (trusted()).
    const { holdout, modelPublicKey: _k, modelSignature: _s, modelSignatureUri: _u, ...rest } = opts;
    const { modelCard: _c, ...trust } = trusted(opts, inspect);
    // An empty MODELSHIP_HOLDOUT_URI (a template that always sets it) means no holdout.
    await onInspect({
      ...(rest as unknown as InspectConfig),
      ...trust,
      holdoutUri: (holdout as string) || undefined,
    });
  });
  const baseline = program
    .command('baseline')
    .description(
      'compute an input drift baseline (baseline.json, for --baseline-uri) from a sample of the inputs: ' +
        'quantile bins per numeric feature, value frequencies per categorical one',
    );
  for (const option of baselineOptions()) baseline.addOption(option);
  baseline.exitOverride(exitCodes);
  baseline.action(async (opts: Record<string, unknown>) => {
    await onBaseline(opts as unknown as BaselineCommandConfig);
  });
  return program;
}

function toConfig(opts: Record<string, unknown>, cmd: Command): ServerConfig {
  if (typeof opts.modelUri !== 'string' || opts.modelUri === '')
    cmd.error(`error: --model-uri (or ${ENV.MODEL_URI}) is required`, { exitCode: 2 });
  if (opts.payloadLog === 'http' && !opts.payloadLogUrl)
    cmd.error(
      `error: --payload-log http needs the collector's URL: --payload-log-url (or ${ENV.PAYLOAD_LOG_URL})`,
      { exitCode: 2 },
    );
  // An empty MODELSHIP_BASELINE_URI (a template that always sets it) means no drift monitoring.
  // Likewise an empty --feedback-output (the first output) and --payload-log-url (none).
  const {
    baselineUri,
    feedbackOutput,
    payloadLogUrl,
    feedbackPeers,
    tlsDir,
    metricsTls,
    // The signature flags' raw text and the card's are replaced by what trusted() checked.
    modelPublicKey: _k,
    modelSignature: _s,
    modelSignatureUri: _u,
    modelCard: _m,
    ...rest
  } = opts;
  for (const peer of ((feedbackPeers as string | undefined) ?? '').split(',').filter((p) => p.trim()))
    if (!/^https?:\/\/[^/\s]+\/?$/.test(peer.trim()))
      cmd.error(`error: --feedback-peers: '${peer.trim()}' is not http://host:port`, { exitCode: 2 });
  return {
    ...(rest as unknown as ServerConfig),
    ...authSettingsOf(opts, (message) => cmd.error(message, { exitCode: 2 })),
    ...trusted(opts, cmd),
    feedbackPeers: (feedbackPeers as string) || undefined,
    baselineUri: (baselineUri as string) || undefined,
    feedbackOutput: (feedbackOutput as string) || undefined,
    payloadLogUrl: (payloadLogUrl as string) || undefined,
    ...tlsConfig({ tlsDir, metricsTls }, cmd),
  };
}

/** An empty MODELSHIP_TLS_DIR (a template that always sets it) means plain HTTP; metrics TLS needs a certificate. */
function tlsConfig(opts: Record<string, unknown>, cmd: Command): { tlsDir?: string; metricsTls: boolean } {
  const tlsDir = (opts.tlsDir as string) || undefined;
  if (opts.metricsTls === true && !tlsDir)
    cmd.error(`error: --metrics-tls needs the certificate: --tls-dir (or ${ENV.TLS_DIR})`, { exitCode: 2 });
  return { ...(tlsDir ? { tlsDir } : {}), metricsTls: opts.metricsTls === true };
}

/** The digest policy, signature and model card flags, checked; a bad combination or key is a usage error (2). */
function trusted(opts: Record<string, unknown>, cmd: Command): TrustConfig {
  try {
    return trustConfig(opts);
  } catch (err) {
    return cmd.error((err as Error).message, { exitCode: 2 });
  }
}
