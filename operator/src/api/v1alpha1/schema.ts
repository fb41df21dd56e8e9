/**
 * THE definition of the ModelDeployment API (modelship.dev/v1alpha1).
 *
 * Everything about the resource is derived from this file: the TypeScript types the operator uses
 * (`Static<...>` below), the CRD's OpenAPI schema with its validation rules (`make manifests` writes
 * crds/), and the defaults the operator applies when it reads an object (`withDefaults`).
 *
 * Rules for editing:
 * - every field has a description (it is what `kubectl explain` shows) and states its default;
 * - cross-field rules are CEL (`x-kubernetes-validations`) with a message that names the fields;
 * - a field is added only together with the behaviour that makes it work.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type {
  V1Affinity,
  V1EnvVar,
  V1ObjectMeta,
  V1ResourceRequirements,
  V1Toleration,
} from '@kubernetes/client-node';
import * as serverEnv from '../../../../server-image/src/env.js';
import { NetworkPolicySpec } from './network-policy.js';
import { RetrainingSpec } from './retraining.js';
import { DriftStatus, FeedbackStatus, LoggingSpec, MonitoringSpec, ShadowSpec } from './monitoring.js';
import { cel, duration, labelValuePattern, upstream, type CelRule } from './schema-kit.js';
import {
  AuthSpec,
  caBundleEnvRule,
  ModelCardSpec,
  modelVerificationFields,
  requireDigestRule,
  TlsSpec,
} from './security.js';
import { coreV1Schemas } from './generated/core-v1-schemas.js';

/** The serving runtime's own defaults: the CRD's batching defaults are the same numbers, from one place. */
const serverDefaults = serverEnv.DEFAULTS;

export const group = 'modelship.dev';
export const version = 'v1alpha1';
export const kind = 'ModelDeployment';
export const plural = 'modeldeployments';
export const apiVersion = `${group}/${version}`;
export type { CelRule };

/**
 * The serving container's variables the operator sets, each with where its value comes from. `spec.runtime.env`
 * may not set them (a CEL rule names the offender): two sources for one setting would silently disagree.
 */
export const operatorEnv = {
  [serverEnv.MODEL_NAME]: 'spec.model.name',
  [serverEnv.MODEL_VERSION]: 'spec.model.version',
  [serverEnv.MODEL_URI]: 'spec.model.storageUri',
  [serverEnv.MODEL_SHA256]: 'spec.model.sha256',
  [serverEnv.PORT]: 'the serving port that the probes and Services use',
  [serverEnv.METRICS_PORT]: 'the metrics port that the scrape annotations name',
  [serverEnv.MAX_BATCH_SIZE]: 'spec.runtime.batching.maxBatchSize',
  [serverEnv.MAX_QUEUE_DELAY_MS]: 'spec.runtime.batching.maxQueueDelayMs',
  [serverEnv.MAX_QUEUE_SIZE]: 'spec.runtime.batching.maxQueueSize',
  [serverEnv.INTRA_OP_THREADS]: 'spec.runtime.threads.intraOp',
  [serverEnv.INTER_OP_THREADS]: 'spec.runtime.threads.interOp',
  [serverEnv.CACHE_DIR]: "the pod's model cache volume",
  [serverEnv.PVC_ROOT]: 'the mount point of pvc:// claims',
  [serverEnv.DRAIN_TIMEOUT_MS]: "the pod's termination grace period",
  [serverEnv.REVISION]: 'the revision hash',
  [serverEnv.BASELINE_URI]: 'spec.monitoring.drift.baseline',
  [serverEnv.DRIFT_WINDOW_MS]: 'spec.monitoring.drift.window',
  [serverEnv.FEEDBACK_OUTPUT]: 'spec.monitoring.feedback.output',
  [serverEnv.FEEDBACK_STORE_SIZE]: 'spec.monitoring.feedback.storeSize',
  [serverEnv.FEEDBACK_MAX_AGE_MS]: 'spec.monitoring.feedback.maxAge',
  [serverEnv.FEEDBACK_WINDOW_MS]: 'spec.monitoring.feedback.window',
  [serverEnv.FEEDBACK_PEERS]: 'the headless <name>-pods Service (with spec.monitoring.feedback)',
  [serverEnv.PAYLOAD_LOG]: 'spec.logging.payloads.sink',
  [serverEnv.PAYLOAD_LOG_URL]: 'spec.logging.payloads.url',
  [serverEnv.PAYLOAD_LOG_SAMPLE]: 'spec.logging.payloads.sample',
  [serverEnv.PAYLOAD_LOG_REDACT]: 'spec.logging.payloads.redact',
  [serverEnv.PAYLOAD_LOG_MAX_BYTES]: 'spec.logging.payloads.maxBytes',
  [serverEnv.AUTH_API_KEYS_DIR]: 'spec.auth.apiKeys (the mounted Secret)',
  [serverEnv.AUTH_OIDC_ISSUER]: 'spec.auth.oidc.issuer',
  [serverEnv.AUTH_OIDC_AUDIENCES]: 'spec.auth.oidc.audiences',
  [serverEnv.AUTH_OIDC_JWKS_URI]: 'spec.auth.oidc.jwksUri',
  [serverEnv.AUTH_OIDC_REQUIRED_CLAIMS]: 'spec.auth.oidc.requiredClaims',
  [serverEnv.AUTH_OIDC_CLOCK_SKEW_SECONDS]: 'spec.auth.oidc.clockSkew',
  [serverEnv.TLS_DIR]: 'spec.tls (the mounted Secret)',
  [serverEnv.METRICS_TLS]: 'spec.tls.metrics',
  [serverEnv.REQUIRE_DIGEST]: 'spec.model.requireDigest and the operator flag --require-model-digest',
  [serverEnv.MODEL_PUBLIC_KEY]: 'spec.model.signature.publicKey',
  [serverEnv.MODEL_SIGNATURE]: 'spec.model.signature.signature',
  [serverEnv.MODEL_SIGNATURE_URI]: 'spec.model.signature.signatureUri',
  [serverEnv.MODEL_CARD]: 'spec.modelCard',
} as const;
export type OperatorEnvName = keyof typeof operatorEnv;

/**
 * Upstream's EnvVar, refusing the operator's variables by name. The name gets a length bound (upstream has none)
 * so that the API server's CEL cost estimate stays within its budget.
 */
function envVarSchema() {
  const table = `{${Object.entries(operatorEnv)
    .map(([name, source]) => `'${name}': '${source.replace(/'/g, "\\'")}'`)
    .join(', ')}}`;
  const base = coreV1Schemas.EnvVar as { properties: { name: object } };
  const schema = {
    ...base,
    properties: { ...base.properties, name: { ...base.properties.name, maxLength: 256 } },
    ...cel({
      rule: `!(self.name in ${table})`,
      messageExpression: `self.name + ' is set by the operator from ' + ${table}[self.name] + ': remove it from spec.runtime.env'`,
      message: 'a variable the operator sets from the ModelDeployment cannot be set in spec.runtime.env',
    }),
  };
  return upstream<V1EnvVar>(schema, 'An environment variable.');
}

export const ModelSpec = Type.Object(
  {
    name: Type.Optional(
      Type.String({
        description:
          'Name the model is served under: the {name} in /v2/models/{name}/infer. Defaults to the name of the ModelDeployment.',
        minLength: 1,
        maxLength: 63,
        ...cel({
          rule: "self.matches('^[A-Za-z0-9][A-Za-z0-9_.-]*$')",
          message: 'must start with a letter or digit and contain only letters, digits, ".", "_" and "-"',
        }),
      }),
    ),
    version: Type.String({
      description:
        'Version of the model, for example "1.4.0" or "2026-11-27". Changing it (or anything else that shapes the serving pods) rolls out a new revision. Letters, digits, ".", "_" and "-", at most 63 characters.',
      minLength: 1,
      maxLength: 63,
      ...cel({
        rule: `self.matches('${labelValuePattern}')`,
        message:
          'must be 63 characters or fewer, start and end with a letter or digit, and contain only letters, digits, ".", "_" and "-"',
      }),
    }),
    storageUri: Type.String({
      description:
        'Where the model file is: file:///path (a path inside the serving image or a mounted volume), http:// or https:// (downloaded at start-up), s3://bucket/key (read with the standard AWS_* environment variables) or pvc://claim/path (the PersistentVolumeClaim is mounted read-only).',
      minLength: 1,
      maxLength: 2048,
      ...cel({
        rule: "self.matches('^(file|http|https|s3)://.+') || self.matches('^pvc://[a-z0-9]([-a-z0-9]*[a-z0-9])?/.+')",
        message: 'must be a URI with scheme file://, http://, https://, s3:// or pvc://<claim>/<path>',
      }),
    }),
    format: Type.Optional(
      Type.String({
        description: 'Format of the model file. Only "onnx" is supported. Default: onnx.',
        default: 'onnx',
        maxLength: 32,
        ...cel({
          rule: "self == 'onnx'",
          message: 'only ONNX models are supported: the format must be "onnx"',
        }),
      }),
    ),
    sha256: Type.Optional(
      Type.String({
        description:
          'SHA-256 of the model file, as 64 lowercase hexadecimal characters. When set, the server refuses a file that does not match.',
        maxLength: 64,
        ...cel({
          rule: "self.matches('^[0-9a-f]{64}$')",
          message: 'must be 64 lowercase hexadecimal characters (the SHA-256 of the model file)',
        }),
      }),
    ),
    ...modelVerificationFields,
  },
  { description: 'The model to serve.', ...cel(requireDigestRule) },
);

export const BatchingSpec = Type.Object(
  {
    maxBatchSize: Type.Optional(
      Type.Integer({
        description: `Most rows (entries along the first dimension) run in one batch. Concurrent requests to a model whose first input dimension is dynamic are merged up to this size. 1 turns batching off. Default: ${serverDefaults.maxBatchSize}.`,
        minimum: 1,
        maximum: 4096,
        default: serverDefaults.maxBatchSize,
        format: 'int32',
      }),
    ),
    maxQueueDelayMs: Type.Optional(
      Type.Integer({
        description: `Longest time, in milliseconds, the oldest queued request waits for a fuller batch before its batch runs anyway. 0 runs a batch as soon as the model is free, with whatever queued while the previous batch ran: a lone client never waits, and concurrent clients still batch. A few milliseconds buy throughput under heavy concurrency at the cost of latency. Default: ${serverDefaults.maxQueueDelayMs}.`,
        minimum: 0,
        maximum: 10000,
        default: serverDefaults.maxQueueDelayMs,
        format: 'int32',
      }),
    ),
    maxQueueSize: Type.Optional(
      Type.Integer({
        description: `Most requests waiting for a batch; beyond it requests are refused at once with HTTP 503 and Retry-After. Default: ${serverDefaults.maxQueueSize}.`,
        minimum: 1,
        maximum: 1000000,
        default: serverDefaults.maxQueueSize,
        format: 'int32',
      }),
    ),
  },
  {
    description: 'Dynamic batching of concurrent requests in the serving runtime.',
    default: {},
    ...cel({
      rule: '!has(self.maxQueueSize) || !has(self.maxBatchSize) || self.maxQueueSize >= self.maxBatchSize',
      message: 'maxQueueSize must be at least maxBatchSize',
      fieldPath: '.maxQueueSize',
    }),
  },
);

export const ThreadsSpec = Type.Object(
  {
    intraOp: Type.Optional(
      Type.Integer({
        description:
          'Threads onnxruntime uses inside one operator. 0 lets onnxruntime choose (one per CPU core it sees). Default: 0.',
        minimum: 0,
        maximum: 256,
        default: 0,
        format: 'int32',
      }),
    ),
    interOp: Type.Optional(
      Type.Integer({
        description:
          'Threads onnxruntime uses to run independent operators in parallel. 0 lets onnxruntime choose. Default: 0.',
        minimum: 0,
        maximum: 256,
        default: 0,
        format: 'int32',
      }),
    ),
  },
  { description: 'onnxruntime thread pools of each serving pod.', default: {} },
);

export const AutoscalingSpec = Type.Object(
  {
    minReplicas: Type.Optional(
      Type.Integer({
        description: 'Fewest serving pods the autoscaler keeps. Default: 1.',
        minimum: 1,
        default: 1,
        format: 'int32',
      }),
    ),
    maxReplicas: Type.Integer({
      description: 'Most serving pods the autoscaler may run.',
      minimum: 1,
      format: 'int32',
    }),
    targetCPUUtilizationPercentage: Type.Optional(
      Type.Integer({
        description: 'Average CPU use, in percent of the CPU request, the autoscaler aims for. Default: 80.',
        minimum: 1,
        maximum: 100,
        default: 80,
        format: 'int32',
      }),
    ),
  },
  {
    description:
      'Scale the serving pods with a HorizontalPodAutoscaler (autoscaling/v2) on CPU. When set, replicas must not be: the autoscaler owns the replica count. Needs resources.requests.cpu.',
    ...cel({
      rule: '!has(self.minReplicas) || self.minReplicas <= self.maxReplicas',
      message: 'minReplicas must not exceed maxReplicas',
      fieldPath: '.minReplicas',
    }),
  },
);

export const RuntimeSpec = Type.Object(
  {
    image: Type.Optional(
      Type.String({
        description: "Serving image. Default: the operator's bundled onnxruntime serving image.",
        minLength: 1,
        maxLength: 512,
      }),
    ),
    replicas: Type.Optional(
      Type.Integer({
        description: 'Number of serving pods when autoscaling is not set. Default: 1.',
        minimum: 0,
        maximum: 1000,
        format: 'int32',
      }),
    ),
    resources: Type.Optional(
      upstream<V1ResourceRequirements>(
        coreV1Schemas.ResourceRequirements,
        'CPU and memory requests and limits of the serving container.',
      ),
    ),
    batching: Type.Optional(BatchingSpec),
    threads: Type.Optional(ThreadsSpec),
    env: Type.Optional(
      Type.Array(envVarSchema(), {
        description: `Extra environment variables of the serving container (for example AWS_* credentials from a Secret, or NODE_EXTRA_CA_CERTS). The variables the operator sets from the ModelDeployment's fields (${Object.keys(operatorEnv).join(', ')}) are refused: set the field instead.`,
        maxItems: 128,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      }),
    ),
    nodeSelector: Type.Optional(
      Type.Record(Type.String(), Type.String(), {
        description: 'Node labels the serving pods must be scheduled on.',
      }),
    ),
    tolerations: Type.Optional(
      Type.Array(upstream<V1Toleration>(coreV1Schemas.Toleration, 'A toleration.'), {
        description: 'Taints the serving pods tolerate.',
        maxItems: 64,
      }),
    ),
    affinity: Type.Optional(
      upstream<V1Affinity>(coreV1Schemas.Affinity, 'Scheduling affinity of the serving pods.'),
    ),
    serviceAccountName: Type.Optional(
      Type.String({
        description:
          'ServiceAccount the serving pods run as (for example one with cloud storage access). Default: the namespace default.',
        minLength: 1,
        maxLength: 253,
        ...cel({
          rule: "self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",
          message: 'must be a valid ServiceAccount name (lowercase letters, digits, "-" and ".")',
        }),
      }),
    ),
    autoscaling: Type.Optional(AutoscalingSpec),
  },
  {
    description: 'How the model is served: pods, resources, batching and threads.',
    default: {},
    ...cel({
      rule: '!(has(self.autoscaling) && has(self.replicas))',
      message:
        'replicas and autoscaling are mutually exclusive: with autoscaling, the HorizontalPodAutoscaler sets the replica count',
      fieldPath: '.replicas',
    }),
  },
);

export const RolloutStep = Type.Object(
  {
    setWeight: Type.Optional(
      Type.Integer({
        description: 'Send this percent of traffic to the canary, then go on to the next step at once.',
        minimum: 0,
        maximum: 100,
        format: 'int32',
      }),
    ),
    pause: Type.Optional(
      Type.Object(
        {
          duration: Type.Optional(
            duration('How long to stay at the current weight. Without it, the rollout waits for a promote.'),
          ),
        },
        {
          description:
            'Stay at the current weight for a while, or until promoted (kubectl modelship promote).',
        },
      ),
    ),
    analysis: Type.Optional(
      Type.Object(
        {
          duration: duration('How long the canary is judged at the current weight before the next step.'),
        },
        {
          description:
            'Judge the canary at the current weight for a while: the next step comes only after at least one passing verdict and the whole duration.',
        },
      ),
    ),
  },
  {
    description: 'One step of a canary rollout: exactly one of setWeight, pause and analysis.',
    ...cel({
      rule: '(has(self.setWeight) ? 1 : 0) + (has(self.pause) ? 1 : 0) + (has(self.analysis) ? 1 : 0) == 1',
      message: 'a step sets exactly one of setWeight, pause and analysis',
    }),
  },
);

/** The steps a Canary rollout takes when the spec names none. */
export const defaultCanarySteps: Static<typeof RolloutStep>[] = [
  { setWeight: 10 },
  { analysis: { duration: '30s' } },
  { setWeight: 25 },
  { analysis: { duration: '30s' } },
  { setWeight: 50 },
  { analysis: { duration: '30s' } },
];

export const RolloutSpec = Type.Object(
  {
    strategy: Type.Optional(
      Type.Union([Type.Literal('BlueGreen'), Type.Literal('Canary')], {
        description:
          'BlueGreen: a new revision takes all traffic in one step once every replica is ready (the old one keeps serving until then). Canary: it takes traffic in steps, judged on live metrics against the stable version, and is rolled back automatically when it misbehaves. Default: BlueGreen.',
        default: 'BlueGreen',
      }),
    ),
    steps: Type.Optional(
      Type.Array(RolloutStep, {
        description:
          'Steps of a Canary rollout, in order; after the last one the canary becomes the stable version. Default: setWeight 10, analysis 30s, setWeight 25, analysis 30s, setWeight 50, analysis 30s.',
        maxItems: 32,
        ...cel({
          rule: 'self.filter(s, has(s.setWeight)).map(s, s.setWeight).isSorted()',
          message: 'the setWeight steps must not decrease',
        }),
      }),
    ),
    revisionHistoryLimit: Type.Optional(
      Type.Integer({
        description:
          'Earlier stable revisions kept (as Deployments scaled to warmReplicas) so that undo is a scale-up and a switch. Default: 2.',
        minimum: 0,
        maximum: 10,
        default: 2,
        format: 'int32',
      }),
    ),
    warmReplicas: Type.Optional(
      Type.Integer({
        description:
          'Replicas each kept earlier revision keeps running, so that undo needs no model load at all. Default: 0.',
        minimum: 0,
        maximum: 10,
        default: 0,
        format: 'int32',
      }),
    ),
    shadow: Type.Optional(ShadowSpec),
  },
  {
    description: 'How a new revision reaches users.',
    ...cel(
      {
        rule: "!has(self.steps) || self.strategy == 'Canary'",
        message: 'steps are only for strategy Canary',
        fieldPath: '.steps',
      },
      {
        rule: "!has(self.shadow) || has(self.strategy) && self.strategy == 'Canary'",
        message: 'shadow is only for strategy Canary (it comes before the first step)',
        fieldPath: '.shadow',
      },
    ),
  },
);

export const AnalysisMetric = Type.Object(
  {
    name: Type.Union(
      [
        Type.Literal('errorRate'),
        Type.Literal('latencyP99'),
        Type.Literal('accuracy'),
        Type.Literal('meanAbsoluteError'),
      ],
      {
        description:
          'errorRate: the fraction of requests that failed (5xx, or no answer at all). latencyP99: the 99th percentile of request duration, in milliseconds. accuracy: the fraction of predictions that matched the ground truth posted back (spec.monitoring.feedback; classification). meanAbsoluteError: the mean |prediction − truth| of that ground truth (regression). Their samples are ground-truth rows.',
      },
    ),
    max: Type.Optional(
      Type.Number({
        description:
          'The most the canary may reach: a fraction for errorRate (0.01 = 1 %), milliseconds for latencyP99, the error for meanAbsoluteError.',
        minimum: 0,
      }),
    ),
    min: Type.Optional(
      Type.Number({
        description: 'The least the canary must reach: a fraction for accuracy (0.9 = 90 %).',
        minimum: 0,
        maximum: 1,
      }),
    ),
    relativeToStable: Type.Optional(
      Type.Number({
        description:
          'How far the canary may be worse than the stable version over the same window: above it for errorRate (a fraction), latencyP99 (milliseconds) and meanAbsoluteError; below it for accuracy (a fraction).',
        minimum: 0,
      }),
    ),
    minSamples: Type.Optional(
      Type.Integer({
        description:
          'Requests (ground-truth rows for accuracy and meanAbsoluteError) needed in the window before this metric gives a verdict. Default: spec.analysis.minSamples.',
        minimum: 1,
        format: 'int32',
      }),
    ),
  },
  {
    description: 'A metric the canary is judged on.',
    ...cel(
      {
        rule: '(has(self.max) ? 1 : 0) + (has(self.min) ? 1 : 0) + (has(self.relativeToStable) ? 1 : 0) == 1',
        message: 'a metric sets exactly one of max, min (absolute) and relativeToStable',
      },
      {
        rule: "self.name == 'accuracy' ? !has(self.max) : !has(self.min)",
        message: 'accuracy takes min (higher is better); the other metrics take max',
      },
    ),
  },
);

export const AnalysisSpec = Type.Object(
  {
    interval: Type.Optional(duration('How often the canary is judged.', '5s')),
    window: Type.Optional(
      duration(
        'The span of traffic each judgement looks at: rates and percentiles over the last window (like a PromQL range).',
        '30s',
      ),
    ),
    metrics: Type.Optional(
      Type.Array(AnalysisMetric, {
        description: 'What the canary is judged on. Default: errorRate at most 1 % above the stable version.',
        maxItems: 8,
        default: [{ name: 'errorRate', relativeToStable: 0.01 }],
      }),
    ),
    minSamples: Type.Optional(
      Type.Integer({
        description:
          'Requests a revision must have served in the window before a metric gives a verdict. Default: 20.',
        minimum: 1,
        default: 20,
        format: 'int32',
      }),
    ),
    failureLimit: Type.Optional(
      Type.Integer({
        description:
          'Failed judgements tolerated; one more rolls the canary back. 0 rolls back at the first failure. Default: 0.',
        minimum: 0,
        maximum: 100,
        default: 0,
        format: 'int32',
      }),
    ),
    noData: Type.Optional(
      Type.Object(
        {
          policy: Type.Optional(
            Type.Union([Type.Literal('Wait'), Type.Literal('Fail'), Type.Literal('Pass')], {
              description:
                'What a judgement without enough data means. Wait: nothing until timeout, then a failure. Fail: a failure. Pass: a pass (a canary that gets no traffic is promoted). Default: Wait.',
              default: 'Wait',
            }),
          ),
          timeout: Type.Optional(duration('How long Wait waits for data before the canary fails.', '2m')),
        },
        { description: 'When the canary gets too little traffic to judge.', default: {} },
      ),
    ),
    prometheus: Type.Optional(
      Type.Object(
        {
          address: Type.String({
            description:
              'Base URL of the Prometheus HTTP API, for example http://prometheus.monitoring:9090.',
            minLength: 1,
            maxLength: 512,
            ...cel({ rule: "self.matches('^https?://.+')", message: 'must be an http:// or https:// URL' }),
          }),
          queries: Type.Optional(
            Type.Object(
              {
                requests: Type.Optional(
                  Type.String({
                    description: 'PromQL: the requests a revision served in the window.',
                    maxLength: 4096,
                  }),
                ),
                errorRate: Type.Optional(
                  Type.String({ description: 'PromQL: the fraction of them that failed.', maxLength: 4096 }),
                ),
                latencyP99: Type.Optional(
                  Type.String({
                    description: 'PromQL: their 99th percentile duration, in milliseconds.',
                    maxLength: 4096,
                  }),
                ),
              },
              {
                description:
                  'Your own PromQL instead of the built-in queries, per measurement. Variables: {{namespace}}, {{name}} (the ModelDeployment), {{revision}} and {{window}} (e.g. 30s). Each query must return one number.',
              },
            ),
          ),
        },
        {
          description:
            "Judge on a Prometheus instead of the operator's own scraping of the pods. The queries use the pods' modelship_ metrics, by namespace and revision label.",
        },
      ),
    ),
  },
  { description: 'How a canary is judged (strategy Canary). Every field has a default.' },
);

export const HeaderMatch = Type.Object(
  {
    header: Type.String({
      description: 'HTTP header name, for example x-model-version.',
      minLength: 1,
      maxLength: 128,
      ...cel({
        rule: "self.matches('^[A-Za-z0-9!#$%&\\'*+.^_`|~-]+$')",
        message: 'must be an HTTP header name',
      }),
    }),
    value: Type.String({
      description: 'The exact value that sends a request to the canary.',
      maxLength: 256,
    }),
  },
  { description: 'Requests carrying this header value go to the canary whatever the weight.' },
);

export const ParentReference = Type.Object(
  {
    name: Type.String({ description: 'Name of the Gateway.', minLength: 1, maxLength: 253 }),
    namespace: Type.Optional(
      Type.String({ description: "The Gateway's namespace. Default: the ModelDeployment's.", maxLength: 63 }),
    ),
    sectionName: Type.Optional(Type.String({ description: 'A listener of the Gateway.', maxLength: 253 })),
  },
  { description: 'A Gateway the HTTPRoute attaches to (Gateway API parentRef).' },
);

export const TrafficSpec = Type.Object(
  {
    provider: Type.Optional(
      Type.Union([Type.Literal('Router'), Type.Literal('GatewayAPI'), Type.Literal('Istio')], {
        description:
          "What splits traffic between revisions. Router: Modelship's own router in front of the revisions, behind the <name> Service (works in any cluster). GatewayAPI: an HTTPRoute with weighted backendRefs to the per-revision Services. Istio: a VirtualService with weighted routes. Default: Router.",
        default: 'Router',
      }),
    ),
    match: Type.Optional(
      Type.Array(HeaderMatch, {
        description: 'Requests matching any of these go to the canary, whatever its weight.',
        maxItems: 8,
      }),
    ),
    gatewayAPI: Type.Optional(
      Type.Object(
        {
          parentRefs: Type.Array(ParentReference, {
            minItems: 1,
            maxItems: 8,
            description: 'The Gateways to attach to.',
          }),
          hostnames: Type.Optional(
            Type.Array(Type.String({ maxLength: 253 }), {
              description: 'Hostnames the route serves.',
              maxItems: 16,
            }),
          ),
        },
        { description: 'The HTTPRoute of provider GatewayAPI.' },
      ),
    ),
    istio: Type.Optional(
      Type.Object(
        {
          hosts: Type.Optional(
            Type.Array(Type.String({ maxLength: 253 }), {
              description: "Hosts of the VirtualService. Default: the <name> Service's cluster name.",
              maxItems: 16,
            }),
          ),
          gateways: Type.Optional(
            Type.Array(Type.String({ maxLength: 253 }), {
              description: 'Istio Gateways the routes apply to (mesh when empty).',
              maxItems: 16,
            }),
          ),
        },
        { description: 'The VirtualService of provider Istio.' },
      ),
    ),
  },
  {
    description: 'How traffic is split between the stable version and a canary.',
    ...cel(
      {
        rule: "has(self.provider) && self.provider == 'GatewayAPI' ? has(self.gatewayAPI) : !has(self.gatewayAPI)",
        message: 'gatewayAPI (with parentRefs) is set exactly when the provider is GatewayAPI',
        fieldPath: '.gatewayAPI',
      },
      {
        rule: "has(self.provider) && self.provider == 'Istio' || !has(self.istio)",
        message: 'istio is only for provider Istio',
        fieldPath: '.istio',
      },
    ),
  },
);

export const ModelDeploymentSpec = Type.Object(
  {
    model: ModelSpec,
    runtime: Type.Optional(RuntimeSpec),
    rollout: Type.Optional(RolloutSpec),
    analysis: Type.Optional(AnalysisSpec),
    traffic: Type.Optional(TrafficSpec),
    retraining: Type.Optional(RetrainingSpec),
    monitoring: Type.Optional(MonitoringSpec),
    logging: Type.Optional(LoggingSpec),
    auth: Type.Optional(AuthSpec),
    tls: Type.Optional(TlsSpec),
    modelCard: Type.Optional(ModelCardSpec),
    networkPolicy: Type.Optional(NetworkPolicySpec),
  },
  {
    description: 'What to serve and how.',
    ...cel(
      caBundleEnvRule,
      {
        rule: "!has(self.analysis) || has(self.rollout) && has(self.rollout.strategy) && self.rollout.strategy == 'Canary'",
        message: 'analysis is only for rollout.strategy Canary',
        fieldPath: '.analysis',
      },
      {
        rule: "!has(self.rollout) || !has(self.rollout.shadow) || !has(self.traffic) || !has(self.traffic.provider) || self.traffic.provider == 'Router'",
        message:
          'rollout.shadow needs traffic.provider Router: only the router compares the two revisions’ answers',
        fieldPath: '.rollout.shadow',
      },
      {
        rule: '!has(self.retraining) || !has(self.retraining.onDrift) || !self.retraining.onDrift || has(self.monitoring) && has(self.monitoring.drift)',
        message: 'retraining.onDrift needs monitoring.drift: without it there is no drift to act on',
        fieldPath: '.retraining.onDrift',
      },
    ),
  },
);

export const Condition = Type.Object(
  {
    type: Type.String({ description: 'Type of condition: Ready, Progressing or Degraded.', maxLength: 316 }),
    status: Type.Union([Type.Literal('True'), Type.Literal('False'), Type.Literal('Unknown')], {
      description: 'Status of the condition: True, False or Unknown.',
    }),
    reason: Type.String({
      description: 'Machine-readable reason for the last transition, in CamelCase.',
      maxLength: 1024,
    }),
    message: Type.String({ description: 'Human-readable details of the last transition.', maxLength: 32768 }),
    lastTransitionTime: Type.String({
      description: 'When the condition last changed status.',
      format: 'date-time',
    }),
    observedGeneration: Type.Optional(
      Type.Integer({
        description: 'The .metadata.generation the condition was set for.',
        minimum: 0,
        format: 'int64',
      }),
    ),
  },
  { description: 'One aspect of the current state, in the Kubernetes API conventions.' },
);

export const RevisionStatus = Type.Object(
  {
    revision: Type.String({
      description: 'Revision name: a hash of everything that shapes the serving pods.',
    }),
    version: Type.String({ description: 'Model version (spec.model.version) of this revision.' }),
    weight: Type.Integer({
      description: 'Percent of traffic this revision receives.',
      minimum: 0,
      maximum: 100,
      format: 'int32',
    }),
    readyReplicas: Type.Integer({
      description: 'Serving pods of this revision that are ready.',
      minimum: 0,
      format: 'int32',
    }),
  },
  { description: 'A revision that receives traffic.' },
);

export const Phase = Type.Union(
  [
    Type.Literal('Pending'),
    Type.Literal('Progressing'),
    Type.Literal('Paused'),
    Type.Literal('Ready'),
    Type.Literal('RolledBack'),
    Type.Literal('Degraded'),
    Type.Literal('Failed'),
  ],
  {
    description:
      'Summary of the state. Pending: nothing serves yet. Progressing: a new revision is starting or a canary is in progress. Paused: a canary waits for a promote. Ready: the desired revision serves. RolledBack: the desired revision was rolled back (automatically, by abort or by undo) and the previous one serves; a new version or a retry starts again. Degraded: serving, but something failed (see conditions). Failed: nothing can serve.',
  },
);

const timestamp = (description: string) => Type.String({ description, format: 'date-time' });

export const MetricValue = Type.Object(
  {
    metric: Type.String({ description: 'The metric: errorRate or latencyP99.' }),
    verdict: Type.Union([Type.Literal('Pass'), Type.Literal('Fail'), Type.Literal('NoData')], {
      description: 'What the last judgement made of it.',
    }),
    canary: Type.Optional(Type.Number({ description: "The canary's value over the window." })),
    stable: Type.Optional(Type.Number({ description: "The stable version's value over the same window." })),
    limit: Type.Optional(Type.Number({ description: 'The most the canary was allowed.' })),
    samples: Type.Integer({
      description: 'Requests the canary served in the window.',
      minimum: 0,
      format: 'int64',
    }),
  },
  { description: 'One metric of the last judgement.' },
);

export const AnalysisStatus = Type.Object(
  {
    verdict: Type.Union(
      [Type.Literal('Pending'), Type.Literal('Pass'), Type.Literal('Fail'), Type.Literal('NoData')],
      {
        description: 'The last judgement: Pending before the first, then Pass, Fail or NoData.',
      },
    ),
    failures: Type.Integer({
      description: 'Failed judgements so far in this rollout.',
      minimum: 0,
      format: 'int32',
    }),
    evaluatedAt: Type.Optional(timestamp('When the canary was last judged.')),
    noDataSince: Type.Optional(timestamp('Since when judgements have lacked data (noData policy Wait).')),
    passedAt: Type.Optional(timestamp('When the canary last passed during the current step.')),
    lastValues: Type.Optional(
      Type.Array(MetricValue, { description: 'Each metric of the last judgement.', maxItems: 8 }),
    ),
  },
  { description: 'How the canary is being judged.' },
);

export const CanaryStatus = Type.Object(
  {
    ...RevisionStatus.properties,
    step: Type.Integer({
      description:
        'Index of the rollout step the canary is at (0-based; equal to the number of steps when promoting).',
      minimum: 0,
      format: 'int32',
    }),
    steps: Type.Integer({ description: 'Number of steps of this rollout.', minimum: 0, format: 'int32' }),
    startedAt: timestamp('When this canary started.'),
    stepStartedAt: Type.Optional(
      timestamp('When the current step started (after the canary became available).'),
    ),
    pausedAt: Type.Optional(timestamp('When the canary was paused (by a pause step or by a user).')),
    pausedBy: Type.Optional(Type.String({ description: 'Who paused it: step or user.' })),
    analysis: AnalysisStatus,
  },
  { description: 'The canary: a new revision taking part of the traffic while it is judged.' },
);

export const RolloutRecord = Type.Object(
  {
    revision: Type.String({ description: 'The revision that was rolled out.' }),
    version: Type.String({ description: 'Its model version.' }),
    outcome: Type.Union(
      [
        Type.Literal('Promoted'),
        Type.Literal('RolledBack'),
        Type.Literal('Superseded'),
        Type.Literal('Undone'),
      ],
      {
        description:
          'Promoted: it became the stable version. RolledBack: analysis, a failure or an abort sent it back. Superseded: the spec changed before it finished. Undone: a user went back to an earlier revision.',
      },
    ),
    reason: Type.String({ description: 'Why, in words.', maxLength: 1024 }),
    startedAt: timestamp('When the rollout started.'),
    finishedAt: timestamp('When it ended.'),
  },
  { description: 'One finished rollout.' },
);

export const RejectedRevision = Type.Object(
  {
    revision: Type.String({ description: 'The revision that may not serve.' }),
    version: Type.String({ description: 'Its model version.' }),
    reason: Type.String({ description: 'Why it was rolled back.', maxLength: 1024 }),
    at: timestamp('When.'),
    fallback: Type.Object(
      {
        revision: Type.String({ description: 'The revision that serves instead.' }),
        version: Type.String({ description: 'Its model version.' }),
      },
      { description: 'The revision that serves instead.' },
    ),
  },
  {
    description:
      'The revision the spec asks for, rolled back: it does not serve again until the spec names another revision or a retry is requested.',
  },
);

export const HandledRequest = Type.Object(
  {
    id: Type.String({ description: 'The id of the request (from the modelship.dev/request annotation).' }),
    action: Type.String({ description: 'What was asked: promote, abort, retry, undo, pause or resume.' }),
    result: Type.String({ description: 'What was done, or why nothing was.', maxLength: 1024 }),
  },
  { description: 'The last request made through the modelship.dev/request annotation (kubectl modelship).' },
);

export const ServedModel = Type.Object(
  {
    source: Type.Union([Type.Literal('Spec'), Type.Literal('ModelVersion')], {
      description:
        'Spec: spec.model. ModelVersion: a version a retraining run produced, approved and promoted.',
    }),
    modelVersion: Type.Optional(Type.String({ description: 'The ModelVersion, when the source is one.' })),
    version: Type.String({ description: 'The model version the operator rolls out and serves.' }),
    specModelHash: Type.String({
      description:
        'A hash of spec.model when this was decided: a later change of spec.model wins over a ModelVersion.',
    }),
    reason: Type.String({ description: 'Why this model.' }),
    since: Type.String({ description: 'When this was decided.', format: 'date-time' }),
  },
  {
    description:
      "Which model the operator serves and why. The operator never writes spec: a promoted ModelVersion is served in spec.model's place until spec.model changes.",
  },
);

export const ModelDeploymentStatus = Type.Object(
  {
    observedGeneration: Type.Optional(
      Type.Integer({
        description: 'The .metadata.generation this status describes.',
        minimum: 0,
        format: 'int64',
      }),
    ),
    phase: Type.Optional(Phase),
    conditions: Type.Optional(
      Type.Array(Condition, {
        description:
          'Current state: Ready (the model serves), Progressing (a change is rolling out), Degraded (something failed), and for kstatus (Flux, kpt): Reconciling (True while a change rolls out or a canary is paused; the Progressing reason) and Stalled (True when a revision failed or was rolled back and nothing more happens until a user acts).',
        maxItems: 16,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
      }),
    ),
    stable: Type.Optional(RevisionStatus),
    canary: Type.Optional(CanaryStatus),
    rejected: Type.Optional(RejectedRevision),
    history: Type.Optional(
      Type.Array(RolloutRecord, { description: 'The last rollouts, newest first.', maxItems: 10 }),
    ),
    lastRequest: Type.Optional(HandledRequest),
    model: Type.Optional(ServedModel),
    drift: Type.Optional(DriftStatus),
    feedback: Type.Optional(FeedbackStatus),
    url: Type.Optional(
      Type.String({ description: "In-cluster URL of the model's Open Inference Protocol (V2) endpoint." }),
    ),
  },
  { description: 'Observed state, written by the operator.' },
);

export type ModelDeploymentSpec = Static<typeof ModelDeploymentSpec>;
export type ModelDeploymentStatus = Static<typeof ModelDeploymentStatus>;
export type Condition = Static<typeof Condition>;
export type RevisionStatus = Static<typeof RevisionStatus>;
export type CanaryStatus = Static<typeof CanaryStatus>;
export type AnalysisStatus = Static<typeof AnalysisStatus>;
export type RolloutRecord = Static<typeof RolloutRecord>;
export type RejectedRevision = Static<typeof RejectedRevision>;
export type HandledRequest = Static<typeof HandledRequest>;
export type ServedModel = Static<typeof ServedModel>;
export type RolloutSpec = Static<typeof RolloutSpec>;
export type RolloutStep = Static<typeof RolloutStep>;
export type AnalysisSpec = Static<typeof AnalysisSpec>;
export type TrafficSpec = Static<typeof TrafficSpec>;
export type Phase = Static<typeof Phase>;
export type RuntimeSpec = Static<typeof RuntimeSpec>;
export type ModelSpec = Static<typeof ModelSpec>;
export type AnalysisMetric = Static<typeof AnalysisMetric>;

/** A ModelDeployment as read from the API server. */
export interface ModelDeployment {
  apiVersion: typeof apiVersion;
  kind: typeof kind;
  metadata: V1ObjectMeta;
  spec: ModelDeploymentSpec;
  status?: ModelDeploymentStatus;
}

/** Rules on the whole object (metadata.name feeds the names of Services and Deployments). */
export const objectRules: CelRule[] = [
  {
    // Services need DNS-1035 labels; `<name>-<revision>` (11 more characters) must stay within 63.
    rule: "self.metadata.name.size() <= 52 && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
    message:
      'metadata.name must be at most 52 characters, start with a lowercase letter and contain only lowercase letters, digits and "-" (it names the Services and Deployments of the model)',
    fieldPath: '.metadata.name',
  },
];

/**
 * The spec with every schema default filled in, exactly as the API server would (the same `default`s):
 * the operator calls this on what it reads, so code after it never guesses a default.
 */
export function withDefaults(spec: ModelDeploymentSpec): ModelDeploymentSpec {
  return Value.Default(ModelDeploymentSpec, structuredClone(spec)) as ModelDeploymentSpec;
}

/** The analysis settings with every default filled in, also when spec.analysis is absent (strategy Canary). */
export function analysisWithDefaults(a: AnalysisSpec | undefined): Required<AnalysisSpec> & {
  noData: { policy: 'Wait' | 'Fail' | 'Pass'; timeout: string };
} {
  return Value.Default(AnalysisSpec, structuredClone(a ?? {})) as never;
}

/** The rollout settings with every default filled in, also when spec.rollout is absent (BlueGreen). */
export function rolloutWithDefaults(
  r: RolloutSpec | undefined,
): Required<Omit<RolloutSpec, 'steps'>> & RolloutSpec {
  return Value.Default(RolloutSpec, structuredClone(r ?? {})) as never;
}
