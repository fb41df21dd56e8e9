/**
 * The serving runtime's environment variables: the contract with the operator, which imports this file to build
 * pod templates. Keep it free of imports and of logic. Each variable has a matching `modelship-server serve` flag,
 * except the router's and those of `modelship-server inspect` (INSPECT_ONLY_ENV_VARS), which have flags there.
 */

/** Model name in the protocol's URLs (--model-name). @default 'model' */
export const MODEL_NAME = 'MODELSHIP_MODEL_NAME';
/** Model version (--model-version). @default '1' */
export const MODEL_VERSION = 'MODELSHIP_MODEL_VERSION';
/** Where the model is: a path, file://, http(s)://, s3://bucket/key or pvc://claim/path (--model-uri). Required. */
export const MODEL_URI = 'MODELSHIP_MODEL_URI';
/** Expected lowercase hex sha256 of the model file (--model-sha256). Optional. */
export const MODEL_SHA256 = 'MODELSHIP_MODEL_SHA256';
/**
 * Refuse http(s):// and s3:// model URIs that come without MODEL_SHA256, before any download: "true" or "false"
 * (--require-digest). @default false
 */
export const REQUIRE_DIGEST = 'MODELSHIP_REQUIRE_DIGEST';
/**
 * A PEM public key (cosign.pub; ECDSA P-256/P-384/P-521, RSA >= 2048 or Ed25519), inline: the model file's signature
 * must verify with it before the model loads (--model-public-key). Needs MODEL_SIGNATURE or MODEL_SIGNATURE_URI.
 */
export const MODEL_PUBLIC_KEY = 'MODELSHIP_MODEL_PUBLIC_KEY';
/** The model file's signature, base64, inline: what `cosign sign-blob --output-signature` writes (--model-signature). */
export const MODEL_SIGNATURE = 'MODELSHIP_MODEL_SIGNATURE';
/** Where that signature file is instead, same URI forms as the model (--model-signature-uri). */
export const MODEL_SIGNATURE_URI = 'MODELSHIP_MODEL_SIGNATURE_URI';
/** The model card, a JSON object, served as `parameters.model_card` in the model's metadata (--model-card). */
export const MODEL_CARD = 'MODELSHIP_MODEL_CARD';
/** Inference port (--port). @default 8080 */
export const PORT = 'MODELSHIP_PORT';
/** Prometheus metrics port (--metrics-port). @default 9090 */
export const METRICS_PORT = 'MODELSHIP_METRICS_PORT';
/** Address both ports listen on (--host). @default '0.0.0.0' */
export const HOST = 'MODELSHIP_HOST';
/** Most rows in one batch (--max-batch-size). @default 32 */
export const MAX_BATCH_SIZE = 'MODELSHIP_MAX_BATCH_SIZE';
/**
 * Longest the oldest queued request waits for a fuller batch, ms (--max-queue-delay-ms). @default 0: a batch leaves
 * as soon as a batch slot is free, holding whatever queued while the previous batch ran, so a lone client never
 * waits and concurrent clients still batch (see server-image/README.md, Benchmark).
 */
export const MAX_QUEUE_DELAY_MS = 'MODELSHIP_MAX_QUEUE_DELAY_MS';
/** Most queued requests; beyond it 503 with Retry-After (--max-queue-size). @default 1024 */
export const MAX_QUEUE_SIZE = 'MODELSHIP_MAX_QUEUE_SIZE';
/** Batches running at once (--max-concurrent-batches). @default 1 */
export const MAX_CONCURRENT_BATCHES = 'MODELSHIP_MAX_CONCURRENT_BATCHES';
/** onnxruntime intra-op threads, 0 = onnxruntime's default (--intra-op-threads). @default 0 */
export const INTRA_OP_THREADS = 'MODELSHIP_INTRA_OP_THREADS';
/** onnxruntime inter-op threads, 0 = onnxruntime's default (--inter-op-threads). @default 0 */
export const INTER_OP_THREADS = 'MODELSHIP_INTER_OP_THREADS';
/** Where downloaded models go; the only place besides /tmp the server writes (--cache-dir). */
export const CACHE_DIR = 'MODELSHIP_CACHE_DIR';
/** Where pvc:// claims are mounted (--pvc-root). @default '/mnt/pvc' */
export const PVC_ROOT = 'MODELSHIP_PVC_ROOT';
/** Largest model download in bytes (--max-model-bytes). @default 2147483648 (2 GiB, onnxruntime's protobuf limit) */
export const MAX_MODEL_BYTES = 'MODELSHIP_MAX_MODEL_BYTES';
/** S3-compatible endpoint for s3:// URIs (--s3-endpoint); else the AWS SDK's AWS_* handling. */
export const S3_ENDPOINT = 'MODELSHIP_S3_ENDPOINT';
/** Largest request body in bytes; larger gets 413 (--max-request-bytes). @default 67108864 (64 MiB) */
export const MAX_REQUEST_BYTES = 'MODELSHIP_MAX_REQUEST_BYTES';
/** Load attempts before the process exits non-zero (--load-attempts). @default 3 */
export const LOAD_ATTEMPTS = 'MODELSHIP_LOAD_ATTEMPTS';
/** Wait before the second load attempt, doubled each time, ms (--load-retry-delay-ms). @default 2000 */
export const LOAD_RETRY_DELAY_MS = 'MODELSHIP_LOAD_RETRY_DELAY_MS';
/** Per-attempt model download timeout, ms (--fetch-timeout-ms). @default 300000 */
export const FETCH_TIMEOUT_MS = 'MODELSHIP_FETCH_TIMEOUT_MS';
/**
 * Requests one keep-alive connection carries before the server answers with `Connection: close`
 * (--max-requests-per-connection), so that long-lived clients reconnect and spread over the Service's current
 * endpoints: a connection opened while the Service still selected the revision's pods, before the router fronted
 * them, would otherwise bypass the router (and the canary's weights) for as long as it lives. 0 = no limit.
 * @default 1000 (nginx's keepalive_requests)
 */
export const MAX_REQUESTS_PER_CONNECTION = 'MODELSHIP_MAX_REQUESTS_PER_CONNECTION';
/** Longest a SIGTERM waits for in-flight and queued requests, ms (--drain-timeout-ms). @default 30000 */
export const DRAIN_TIMEOUT_MS = 'MODELSHIP_DRAIN_TIMEOUT_MS';
/** winston level: error, warn, info, debug (--log-level). @default 'info' */
export const LOG_LEVEL = 'MODELSHIP_LOG_LEVEL';
/** The pod's revision, a label on every metric (--revision). @default '' */
export const REVISION = 'MODELSHIP_REVISION';
/**
 * Where the input drift baseline (baseline.json) is, same URI forms as the model (--baseline-uri). Unset or empty:
 * drift monitoring is off. A baseline that cannot be fetched or is invalid is a warning, never a failed load.
 */
export const BASELINE_URI = 'MODELSHIP_BASELINE_URI';
/** The sliding window drift is measured over, ms (--drift-window-ms). @default 3600000 (one hour) */
export const DRIFT_WINDOW_MS = 'MODELSHIP_DRIFT_WINDOW_MS';

/**
 * Ground-truth feedback (`POST /v2/models/{name}/feedback`): predictions kept for their feedback, the oldest
 * dropped beyond it; 0 turns feedback off (the endpoint answers 404) (--feedback-store-size). @default 10000
 */
export const FEEDBACK_STORE_SIZE = 'MODELSHIP_FEEDBACK_STORE_SIZE';
/** Feedback: the oldest prediction kept, ms (--feedback-max-age-ms). @default 3600000 */
export const FEEDBACK_MAX_AGE_MS = 'MODELSHIP_FEEDBACK_MAX_AGE_MS';
/** Feedback: the output holding the prediction that ground truth is joined to; unset or '' = the model's first output (--feedback-output). */
export const FEEDBACK_OUTPUT = 'MODELSHIP_FEEDBACK_OUTPUT';
/** Feedback: the sliding window of the accuracy, MAE and RMSE gauges, ms (--feedback-window-ms). @default 3600000 */
export const FEEDBACK_WINDOW_MS = 'MODELSHIP_FEEDBACK_WINDOW_MS';
/**
 * The other replicas, comma-separated http://host:port (--feedback-peers): feedback for a prediction this pod did
 * not keep is forwarded to them. The operator names the ModelDeployment's headless `<name>-pods` Service.
 */
export const FEEDBACK_PEERS = 'MODELSHIP_FEEDBACK_PEERS';
/** Payload (audit) logs: `none`, `stdout` or `http` (--payload-log). @default 'none' */
export const PAYLOAD_LOG = 'MODELSHIP_PAYLOAD_LOG';
/** Payload logs: the collector's URL for `http`, required then (--payload-log-url). */
export const PAYLOAD_LOG_URL = 'MODELSHIP_PAYLOAD_LOG_URL';
/** Payload logs: fraction of requests logged, 0..1 (--payload-log-sample). @default 1 */
export const PAYLOAD_LOG_SAMPLE = 'MODELSHIP_PAYLOAD_LOG_SAMPLE';
/** Payload logs: comma-separated input/output names logged as a sha256 of their data (--payload-log-redact). @default '' */
export const PAYLOAD_LOG_REDACT = 'MODELSHIP_PAYLOAD_LOG_REDACT';
/** Payload logs: longest record in bytes; beyond it the tensors' data is left out (--payload-log-max-bytes). @default 65536 */
export const PAYLOAD_LOG_MAX_BYTES = 'MODELSHIP_PAYLOAD_LOG_MAX_BYTES';
/** Payload logs: records waiting for the collector; beyond it the newest are dropped (--payload-log-queue-size). @default 1000 */
export const PAYLOAD_LOG_QUEUE_SIZE = 'MODELSHIP_PAYLOAD_LOG_QUEUE_SIZE';
/** Payload logs: most records per POST to the collector (--payload-log-batch-size). @default 100 */
export const PAYLOAD_LOG_BATCH_SIZE = 'MODELSHIP_PAYLOAD_LOG_BATCH_SIZE';
/** Payload logs: longest a record waits for a fuller batch, ms (--payload-log-flush-ms). @default 1000 */
export const PAYLOAD_LOG_FLUSH_MS = 'MODELSHIP_PAYLOAD_LOG_FLUSH_MS';

/**
 * TLS: a directory holding tls.crt and tls.key (a mounted kubernetes.io/tls Secret, as cert-manager writes it):
 * the inference port (and the router's, for `route`) serves HTTPS, and picks up a renewed certificate without a
 * restart (--tls-dir). Unset or '': plain HTTP.
 */
export const TLS_DIR = 'MODELSHIP_TLS_DIR';
/** TLS: `true` makes the metrics port serve HTTPS with the same certificate; needs TLS_DIR (--metrics-tls). @default 'false' */
export const METRICS_TLS = 'MODELSHIP_METRICS_TLS';
/**
 * Inference authentication, API keys: a directory (a mounted Secret) where every regular file whose name does not
 * start with '.' is one key, its name the caller's identity, its content the key or `sha256:<64 lowercase hex>` of
 * it; reloaded on change (--auth-api-keys-dir). Unset: no API keys.
 */
export const AUTH_API_KEYS_DIR = 'MODELSHIP_AUTH_API_KEYS_DIR';
/** Inference authentication, JWTs: the OIDC issuer (--auth-oidc-issuer). Unset: no JWTs. */
export const AUTH_OIDC_ISSUER = 'MODELSHIP_AUTH_OIDC_ISSUER';
/** JWTs: accepted audiences, comma-separated; required with the issuer (--auth-oidc-audiences). */
export const AUTH_OIDC_AUDIENCES = 'MODELSHIP_AUTH_OIDC_AUDIENCES';
/** JWTs: the issuer's JWKS URL (--auth-oidc-jwks-uri). @default the jwks_uri of its /.well-known/openid-configuration */
export const AUTH_OIDC_JWKS_URI = 'MODELSHIP_AUTH_OIDC_JWKS_URI';
/** JWTs: a JSON object, claim -> a string or an array of accepted strings (--auth-oidc-required-claims). */
export const AUTH_OIDC_REQUIRED_CLAIMS = 'MODELSHIP_AUTH_OIDC_REQUIRED_CLAIMS';
/** JWTs: the clock skew allowed on exp and nbf, seconds (--auth-oidc-clock-skew-seconds). @default 60 */
export const AUTH_OIDC_CLOCK_SKEW_SECONDS = 'MODELSHIP_AUTH_OIDC_CLOCK_SKEW_SECONDS';

/** The router (`modelship-server route`): the ConfigMap holding its route table (--configmap). */
export const ROUTER_CONFIGMAP = 'MODELSHIP_ROUTER_CONFIGMAP';
/** The router: the namespace of that ConfigMap, normally the pod's own (--namespace). */
export const ROUTER_NAMESPACE = 'MODELSHIP_ROUTER_NAMESPACE';
/**
 * The router: a PEM CA bundle that https:// backend and shadow URLs are verified against (the TLS Secret's ca.crt),
 * re-read when it changes (--backend-ca-file). Unset: Node's trust store (plus NODE_EXTRA_CA_CERTS).
 */
export const ROUTER_BACKEND_CA_FILE = 'MODELSHIP_ROUTER_BACKEND_CA_FILE';

/** `inspect`: the holdout set to score, same URI forms as the model (--holdout). Optional. */
export const HOLDOUT_URI = 'MODELSHIP_HOLDOUT_URI';
/** `inspect`: largest holdout file in bytes (--max-holdout-bytes). @default 67108864 (64 MiB) */
export const MAX_HOLDOUT_BYTES = 'MODELSHIP_MAX_HOLDOUT_BYTES';
/**
 * `inspect`: the file the result is written to for the Job's pod status, cut to Kubernetes' 4096 bytes; '' writes
 * none (--termination-log). @default '/dev/termination-log'
 */
export const TERMINATION_LOG = 'MODELSHIP_TERMINATION_LOG';
/** `inspect`: longest the whole inspection may take, ms; then it fails with `deadline_exceeded` (--timeout-ms). @default 900000 */
export const INSPECT_TIMEOUT_MS = 'MODELSHIP_INSPECT_TIMEOUT_MS';

/** The variables only `modelship-server inspect` reads. */
export const INSPECT_ONLY_ENV_VARS = [
  HOLDOUT_URI,
  MAX_HOLDOUT_BYTES,
  TERMINATION_LOG,
  INSPECT_TIMEOUT_MS,
] as const;

/** Every variable above, for checks (e.g. that the Dockerfile only sets known ones). */
export const ALL_ENV_VARS = [
  MODEL_NAME,
  MODEL_VERSION,
  MODEL_URI,
  MODEL_SHA256,
  REQUIRE_DIGEST,
  MODEL_PUBLIC_KEY,
  MODEL_SIGNATURE,
  MODEL_SIGNATURE_URI,
  MODEL_CARD,
  PORT,
  METRICS_PORT,
  HOST,
  MAX_BATCH_SIZE,
  MAX_QUEUE_DELAY_MS,
  MAX_QUEUE_SIZE,
  MAX_CONCURRENT_BATCHES,
  INTRA_OP_THREADS,
  INTER_OP_THREADS,
  CACHE_DIR,
  PVC_ROOT,
  MAX_MODEL_BYTES,
  S3_ENDPOINT,
  MAX_REQUEST_BYTES,
  LOAD_ATTEMPTS,
  LOAD_RETRY_DELAY_MS,
  FETCH_TIMEOUT_MS,
  DRAIN_TIMEOUT_MS,
  LOG_LEVEL,
  REVISION,
  BASELINE_URI,
  DRIFT_WINDOW_MS,
  FEEDBACK_STORE_SIZE,
  FEEDBACK_MAX_AGE_MS,
  FEEDBACK_OUTPUT,
  FEEDBACK_WINDOW_MS,
  FEEDBACK_PEERS,
  PAYLOAD_LOG,
  PAYLOAD_LOG_URL,
  PAYLOAD_LOG_SAMPLE,
  PAYLOAD_LOG_REDACT,
  PAYLOAD_LOG_MAX_BYTES,
  PAYLOAD_LOG_QUEUE_SIZE,
  PAYLOAD_LOG_BATCH_SIZE,
  PAYLOAD_LOG_FLUSH_MS,
  TLS_DIR,
  METRICS_TLS,
  AUTH_API_KEYS_DIR,
  AUTH_OIDC_ISSUER,
  AUTH_OIDC_AUDIENCES,
  AUTH_OIDC_JWKS_URI,
  AUTH_OIDC_REQUIRED_CLAIMS,
  AUTH_OIDC_CLOCK_SKEW_SECONDS,
  ROUTER_CONFIGMAP,
  ROUTER_NAMESPACE,
  ROUTER_BACKEND_CA_FILE,
  ...INSPECT_ONLY_ENV_VARS,
] as const;

/** Defaults the operator's CRD repeats (batching) and the probes it sets. */
export const DEFAULTS = {
  port: 8080,
  metricsPort: 9090,
  maxBatchSize: 32,
  maxQueueDelayMs: 0,
  maxQueueSize: 1024,
  readinessPath: '/v2/health/ready',
  livenessPath: '/v2/health/live',
  metricsPath: '/metrics',
} as const;
