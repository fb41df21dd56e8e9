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
import { coreV1Schemas } from './generated/core-v1-schemas.js';

/** The serving runtime's own defaults: the CRD's batching defaults are the same numbers, from one place. */
const serverDefaults = serverEnv.DEFAULTS;

export const group = 'modelship.dev';
export const version = 'v1alpha1';
export const kind = 'ModelDeployment';
export const plural = 'modeldeployments';
export const apiVersion = `${group}/${version}`;

/** A CEL validation rule as the API server evaluates it. */
export interface CelRule {
  rule: string;
  message: string;
  /** A CEL string expression that builds the message from the value (naming what is wrong); wins over `message`. */
  messageExpression?: string;
  /** JSON path, relative to the schema node, of the field the error is reported on. */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}
const cel = (...rules: CelRule[]) => ({ 'x-kubernetes-validations': rules });

/** An embedded Kubernetes type: upstream's schema, client-node's TypeScript type. */
function upstream<T>(schema: object, description: string) {
  return Type.Unsafe<T>({ ...(schema as Record<string, unknown>), description });
}

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

// Label-value syntax: the version appears as the app.kubernetes.io/version label of every object.
const labelValuePattern = '^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$';

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
  },
  { description: 'The model to serve.' },
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

export const ModelDeploymentSpec = Type.Object(
  {
    model: ModelSpec,
    runtime: Type.Optional(RuntimeSpec),
  },
  { description: 'What to serve and how.' },
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
    Type.Literal('Ready'),
    Type.Literal('Degraded'),
    Type.Literal('Failed'),
  ],
  {
    description:
      'Summary of the state. Pending: nothing serves yet. Progressing: a new revision is starting. Ready: the desired revision serves. Degraded: serving, but something failed (see conditions). Failed: nothing can serve.',
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
          'Current state: Ready (the model serves), Progressing (a change is rolling out) and Degraded (something failed).',
        maxItems: 16,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
      }),
    ),
    stable: Type.Optional(RevisionStatus),
    canary: Type.Optional(RevisionStatus),
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
export type Phase = Static<typeof Phase>;
export type RuntimeSpec = Static<typeof RuntimeSpec>;
export type ModelSpec = Static<typeof ModelSpec>;

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
