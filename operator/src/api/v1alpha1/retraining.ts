/**
 * spec.retraining of a ModelDeployment: a CronJob the operator owns runs the user's trainer; what each run writes
 * becomes a ModelVersion, validated and gated (promotion) before it may serve. Part of THE API definition (schema.ts
 * embeds it); the same rules for editing apply.
 */
import { Type, type Static } from '@sinclair/typebox';
import type {
  V1EnvFromSource,
  V1EnvVar,
  V1ResourceRequirements,
  V1Toleration,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import { coreV1Schemas } from './generated/core-v1-schemas.js';
import { cel, dnsSubdomainRule, duration, upstream } from './schema-kit.js';

/**
 * The training container's variables the operator sets (the job's contract, README "Retraining"); the template's
 * env may not set them.
 */
export const trainerEnv = {
  MODELSHIP_DEPLOYMENT: 'the ModelDeployment’s name',
  MODELSHIP_MODEL_NAME: 'the served model name (spec.model.name)',
  MODELSHIP_RUN_ID: "the Job's name: the run's own folder under spec.retraining.output",
  MODELSHIP_OUTPUT_URI: 'spec.retraining.output plus the run id',
  MODELSHIP_OUTPUT_DIR: 'where that folder is mounted (pvc:// outputs)',
  MODELSHIP_STABLE_VERSION: 'the version serving now',
  MODELSHIP_STABLE_MODEL_URI: 'the storage URI of the version serving now',
  MODELSHIP_TERMINATION_LOG: 'the file the summary goes to (/dev/termination-log)',
} as const;

function trainerEnvVarSchema() {
  const names = `[${Object.keys(trainerEnv)
    .map((n) => `'${n}'`)
    .join(', ')}]`;
  const base = coreV1Schemas.EnvVar as { properties: { name: object } };
  return upstream<V1EnvVar>(
    {
      ...base,
      properties: { ...base.properties, name: { ...base.properties.name, maxLength: 256 } },
      ...cel({
        rule: `!(self.name in ${names})`,
        messageExpression: `self.name + ' is set by the operator for every run (the job contract): remove it from spec.retraining.template.env'`,
        message: 'a variable the operator sets for every run cannot be set in spec.retraining.template.env',
      }),
    },
    'An environment variable.',
  );
}

export const TrainerTemplate = Type.Object(
  {
    image: Type.String({ description: 'The trainer image.', minLength: 1, maxLength: 512 }),
    imagePullPolicy: Type.Optional(
      Type.Union([Type.Literal('Always'), Type.Literal('IfNotPresent'), Type.Literal('Never')], {
        description:
          "Pull policy of the trainer image. Default: Kubernetes' (IfNotPresent unless the tag is latest).",
      }),
    ),
    command: Type.Optional(
      Type.Array(Type.String({ maxLength: 4096 }), { description: 'Entrypoint override.', maxItems: 64 }),
    ),
    args: Type.Optional(
      Type.Array(Type.String({ maxLength: 4096 }), {
        description: 'Arguments to the entrypoint.',
        maxItems: 128,
      }),
    ),
    env: Type.Optional(
      Type.Array(trainerEnvVarSchema(), {
        description: `Environment of the trainer (data locations, credentials from Secrets). The operator sets ${Object.keys(trainerEnv).join(', ')}.`,
        maxItems: 128,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      }),
    ),
    envFrom: Type.Optional(
      Type.Array(
        upstream<V1EnvFromSource>(coreV1Schemas.EnvFromSource, 'Variables from a ConfigMap or Secret.'),
        {
          description: 'Variables from ConfigMaps and Secrets.',
          maxItems: 16,
        },
      ),
    ),
    resources: Type.Optional(
      upstream<V1ResourceRequirements>(
        coreV1Schemas.ResourceRequirements,
        'Requests and limits of the trainer.',
      ),
    ),
    volumes: Type.Optional(
      Type.Array(upstream<V1Volume>(coreV1Schemas.Volume, 'A volume of the training pod.'), {
        description:
          'Volumes of the training pod (training data, caches). The output claim of a pvc:// output is mounted by the operator.',
        maxItems: 32,
      }),
    ),
    volumeMounts: Type.Optional(
      Type.Array(upstream<V1VolumeMount>(coreV1Schemas.VolumeMount, 'Where a volume is mounted.'), {
        description: 'Mounts of those volumes into the trainer container.',
        maxItems: 32,
      }),
    ),
    serviceAccountName: Type.Optional(
      Type.String({
        description:
          'ServiceAccount of the training pod (for example one with access to the data). Default: none mounted.',
        minLength: 1,
        maxLength: 253,
        ...cel(dnsSubdomainRule('ServiceAccount')),
      }),
    ),
    nodeSelector: Type.Optional(
      Type.Record(Type.String(), Type.String(), { description: 'Node labels the training pod must run on.' }),
    ),
    tolerations: Type.Optional(
      Type.Array(upstream<V1Toleration>(coreV1Schemas.Toleration, 'A toleration.'), {
        description: 'Taints the training pod tolerates (GPU nodes, for example).',
        maxItems: 64,
      }),
    ),
  },
  {
    description:
      'The training pod: one container that writes model.onnx and metrics.json under $MODELSHIP_OUTPUT_DIR (or $MODELSHIP_OUTPUT_URI) and ends by writing its summary JSON to /dev/termination-log. It runs non-root with a read-only root filesystem and a writable /tmp.',
  },
);

const metricName = Type.String({
  description:
    'A metric name from the run summary (accuracy, auc, rmse, ...) or holdout.<name> from validation.',
  minLength: 1,
  maxLength: 64,
  ...cel({
    rule: "self.matches('^[A-Za-z_][A-Za-z0-9_.-]*$')",
    message: 'must start with a letter or "_" and contain only letters, digits, "_", "." and "-"',
  }),
});

export const PromotionMetric = Type.Object(
  {
    name: metricName,
    min: Type.Optional(Type.Number({ description: 'The candidate must reach at least this (inclusive).' })),
    max: Type.Optional(Type.Number({ description: 'The candidate may reach at most this (inclusive).' })),
    notWorseThanStable: Type.Optional(
      Type.Boolean({
        description:
          'The candidate may be worse than the serving version by at most tolerance. Default: false.',
        default: false,
      }),
    ),
    tolerance: Type.Optional(
      Type.Number({
        description: 'How much worse than the serving version is accepted. Default: 0.',
        minimum: 0,
        default: 0,
      }),
    ),
    higherIsBetter: Type.Optional(
      Type.Boolean({ description: 'false for errors such as rmse. Default: true.', default: true }),
    ),
  },
  {
    description: 'One check on a metric of the candidate.',
    ...cel({
      rule: '!has(self.min) || !has(self.max) || self.min <= self.max',
      message: 'min must not exceed max',
    }),
  },
);

export const PromotionSpec = Type.Object(
  {
    mode: Type.Optional(
      Type.Union([Type.Literal('Manual'), Type.Literal('Auto')], {
        description:
          'Manual: an Approved version waits for `kubectl modelship promote NAME --version V`. Auto: it rolls out at once, with the rollout strategy of the ModelDeployment (a canary judged on live traffic with Canary). Default: Manual.',
        default: 'Manual',
      }),
    ),
    metrics: Type.Optional(
      Type.Array(PromotionMetric, {
        description: 'The quality gate: every check must pass, or the version is Rejected with every reason.',
        maxItems: 16,
        default: [],
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      }),
    ),
    requireCompatibleSignature: Type.Optional(
      Type.Boolean({
        description:
          "The candidate's inputs must equal the serving version's (names, types, shapes) and its outputs include the serving version's. Default: true.",
        default: true,
      }),
    ),
  },
  { description: 'When a retrained version may serve.', default: {} },
);

const int = (description: string, minimum: number, maximum: number, dflt?: number) =>
  Type.Integer({
    description,
    minimum,
    maximum,
    format: 'int32',
    ...(dflt === undefined ? {} : { default: dflt }),
  });

export const RetrainingSpec = Type.Object(
  {
    schedule: Type.String({
      description:
        'When to retrain, in cron syntax as CronJobs take it ("0 3 * * *", "*/10 * * * *", "@daily"). kube-controller-manager runs it.',
      minLength: 1,
      maxLength: 128,
      ...cel({
        rule: "self.matches('^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|[^ ]+( +[^ ]+){4})$')",
        message:
          'must be a cron schedule of 5 fields ("0 3 * * *") or @yearly, @monthly, @weekly, @daily or @hourly',
      }),
    }),
    timeZone: Type.Optional(
      Type.String({
        description:
          'IANA time zone of the schedule, for example "Europe/Berlin". Default: the controller’s (UTC).',
        maxLength: 64,
      }),
    ),
    suspend: Type.Optional(
      Type.Boolean({
        description: 'true stops scheduling new runs; running ones finish. Default: false.',
        default: false,
      }),
    ),
    concurrencyPolicy: Type.Optional(
      Type.Union([Type.Literal('Allow'), Type.Literal('Forbid'), Type.Literal('Replace')], {
        description: 'Whether a run may start while the previous one runs. Default: Forbid.',
        default: 'Forbid',
      }),
    ),
    successfulJobsHistoryLimit: Type.Optional(int('Finished runs kept. Default: 3.', 0, 100, 3)),
    failedJobsHistoryLimit: Type.Optional(int('Failed runs kept. Default: 1.', 0, 100, 1)),
    activeDeadlineSeconds: Type.Optional(
      int('A run taking longer is stopped and fails. Default: 3600.', 1, 604800, 3600),
    ),
    backoffLimit: Type.Optional(int('Retries of a failed run. Default: 0.', 0, 20, 0)),
    output: Type.String({
      description:
        'Where runs write, each under its own folder <output>/<run id>: pvc://<claim>/<prefix> (mounted read-write into the trainer, read-only into the serving pods) or s3://<bucket>/<prefix> (the trainer uploads with its own credentials; the serving pods need read access). The serving pods must be able to read it.',
      minLength: 1,
      maxLength: 1024,
      ...cel({
        rule: "self.matches('^pvc://[a-z0-9]([-a-z0-9]*[a-z0-9])?(/[^/]+)*/?$') || self.matches('^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^/]+)*/?$')",
        message: 'must be pvc://<claim>/<prefix> or s3://<bucket>/<prefix>',
      }),
    }),
    template: TrainerTemplate,
    promotion: Type.Optional(PromotionSpec),
    versionHistoryLimit: Type.Optional(
      int('Rejected and retired ModelVersions kept (the oldest are deleted). Default: 10.', 0, 100, 10),
    ),
    onDrift: Type.Optional(
      Type.Boolean({
        description:
          'true starts a run at once when the Drifted condition becomes True (spec.monitoring.drift), at most once per cooldown. Default: false.',
        default: false,
      }),
    ),
    cooldown: Type.Optional(duration('The least time between two runs started by drift.', '6h')),
  },
  {
    description:
      'Retrain on a schedule: each run of the trainer becomes a ModelVersion, validated, gated by promotion and (mode Auto) rolled out like any change of the model.',
  },
);

export type RetrainingSpec = Static<typeof RetrainingSpec>;
export type TrainerTemplate = Static<typeof TrainerTemplate>;
export type PromotionSpec = Static<typeof PromotionSpec>;
export type PromotionMetric = Static<typeof PromotionMetric>;
