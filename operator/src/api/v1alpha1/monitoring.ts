/**
 * spec.monitoring, spec.logging and spec.rollout.shadow of a ModelDeployment: what the serving runtime watches in
 * the answered requests (input drift against a baseline, accuracy from ground truth posted back, audit logs of
 * inputs and outputs) and how a new revision is first judged on mirrored traffic. Part of THE API definition
 * (schema.ts embeds it); the same rules for editing apply.
 */
import { Type, type Static } from '@sinclair/typebox';
import { cel, duration } from './schema-kit.js';

const modelUriRule = {
  rule: "self.matches('^(pvc|s3|https?|file)://.+$') || self.startsWith('/')",
  message: 'must be a pvc://, s3://, http(s):// or file:// URI, or an absolute path, like spec.model.uri',
};

export const DriftSpec = Type.Object(
  {
    baseline: Type.Optional(
      Type.String({
        description:
          'Where the baseline is (baseline.json: per-feature bins and reference frequencies, server-image/README.md "Input drift"), in the URI forms of spec.model.uri. Default: baseline.json beside the model (the example trainer writes it there).',
        minLength: 1,
        maxLength: 1024,
        ...cel(modelUriRule),
      }),
    ),
    threshold: Type.Optional(
      Type.Number({
        description:
          'Population stability index above which a feature has drifted (0.1 is commonly read as a moderate shift, 0.25 as a large one). Default: 0.2.',
        minimum: 0,
        default: 0.2,
        // Not `minimum: 0.001`: the API server compares an integer value with an integer-truncated bound, so 0
        // passed it. CEL compares numbers as numbers.
        ...cel({ rule: 'self > 0.0', message: 'must be greater than 0' }),
      }),
    ),
    window: Type.Optional(
      duration('The span of recent requests each pod compares with the baseline (sliding).', '1h'),
    ),
    minSamples: Type.Optional(
      Type.Integer({
        description:
          'Rows the window must hold before a PSI counts: fewer say nothing about a distribution. Default: 200.',
        minimum: 1,
        default: 200,
        format: 'int32',
      }),
    ),
    features: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
        description: 'The features to watch, by their names in the baseline. Default: every feature.',
        maxItems: 256,
      }),
    ),
  },
  {
    description:
      'Input drift: each serving pod keeps a sliding-window histogram of every feature on the baseline’s bins and exports its PSI; the operator sets the Drifted condition when a watched feature exceeds the threshold, and starts a retraining run when spec.retraining.onDrift is true.',
  },
);

export const FeedbackSpec = Type.Object(
  {
    output: Type.Optional(
      Type.String({
        description:
          'The output that holds the prediction: labels (integers or strings), class scores [N, K] (argmax) or values [N] / [N, 1] (regression). Default: the model’s first output.',
        minLength: 1,
        maxLength: 256,
      }),
    ),
    window: Type.Optional(duration('The span of ground truth the accuracy gauges cover (sliding).', '1h')),
    storeSize: Type.Optional(
      Type.Integer({
        description:
          'Predictions each pod keeps for ground truth to join (the oldest go first, counted). Default: 10000.',
        minimum: 1,
        maximum: 1_000_000,
        default: 10000,
        format: 'int32',
      }),
    ),
    maxAge: Type.Optional(duration('How long a prediction waits for its ground truth.', '1h')),
  },
  {
    description:
      'Ground truth posted back (POST /v2/models/{name}/feedback with the request id and the true label or value) is joined to the prediction and counted as accuracy (classification) or absolute and squared error (regression), per revision; the canary analysis can judge on it (metrics accuracy, meanAbsoluteError).',
  },
);

export const MonitoringSpec = Type.Object(
  {
    interval: Type.Optional(
      duration(
        'How often the operator reads the serving pods’ drift and ground truth into the status.',
        '30s',
      ),
    ),
    drift: Type.Optional(DriftSpec),
    feedback: Type.Optional(FeedbackSpec),
  },
  { description: 'What the serving pods watch in the answered requests, besides speed and errors.' },
);

export const PayloadLoggingSpec = Type.Object(
  {
    sample: Type.Optional(
      Type.Number({
        description: 'Fraction of requests logged, 0 to 1. Default: 1.',
        minimum: 0,
        maximum: 1,
        default: 1,
      }),
    ),
    redact: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
        description: 'Inputs and outputs, by name, whose data is replaced by its sha256 in every record.',
        maxItems: 64,
      }),
    ),
    maxBytes: Type.Optional(
      Type.Integer({
        description:
          'Largest record; a larger one keeps its metadata and marks its tensors truncated. Default: 65536.',
        minimum: 1024,
        maximum: 16 * 1024 * 1024,
        default: 65536,
        format: 'int32',
      }),
    ),
    sink: Type.Optional(
      Type.Union([Type.Literal('stdout'), Type.Literal('http')], {
        description:
          'stdout: JSON lines on the pod’s log, apart from the access lines. http: CloudEvents batches POSTed to url, retried in order; what the bounded queue cannot hold is dropped and counted (modelship_payload_log_dropped_total), never blocking inference. Default: stdout.',
        default: 'stdout',
      }),
    ),
    url: Type.Optional(
      Type.String({
        description: 'The collector of sink http.',
        maxLength: 1024,
        ...cel({ rule: "self.matches('^https?://.+')", message: 'must be an http:// or https:// URL' }),
      }),
    ),
  },
  {
    description:
      'Inputs and outputs of inference requests, logged for audits: request id, time, model, version, revision, caller, inputs, outputs, latency and status of each sampled request.',
    ...cel({
      rule: "has(self.sink) && self.sink == 'http' ? has(self.url) : !has(self.url)",
      message: 'url is set exactly when sink is http',
      fieldPath: '.url',
    }),
  },
);

export const LoggingSpec = Type.Object(
  { payloads: Type.Optional(PayloadLoggingSpec) },
  { description: 'What the serving pods log besides their access lines.' },
);

export const ShadowSpec = Type.Object(
  {
    duration: Type.Optional(duration('How long the new revision receives mirrored traffic.', '1m')),
    minSamples: Type.Optional(
      Type.Integer({
        description: 'Compared requests needed before the agreement counts. Default: 50.',
        minimum: 1,
        default: 50,
        format: 'int32',
      }),
    ),
    agreement: Type.Optional(
      Type.Number({
        description:
          'The least fraction of mirrored requests on which the new revision must predict what the stable one answered (same class, or numbers within the tolerance). Default: 0.95.',
        minimum: 0,
        maximum: 1,
        default: 0.95,
      }),
    ),
    tolerance: Type.Optional(
      Type.Object(
        {
          absolute: Type.Optional(
            Type.Number({ description: 'Default: 0.000001.', minimum: 0, default: 0.000001 }),
          ),
          relative: Type.Optional(
            Type.Number({ description: 'Default: 0.0001.', minimum: 0, default: 0.0001 }),
          ),
        },
        {
          description:
            'When two numeric predictions agree: |canary − stable| ≤ absolute + relative·|stable|. Class scores [N, K] agree when their argmax does.',
        },
      ),
    ),
  },
  {
    description:
      'Before any live weight, the router mirrors live requests to the new revision and compares its answers with the stable version’s (the client gets stable’s answer, never waiting for the mirror). Below the agreement the rollout stops before users ever see the new revision. Needs strategy Canary and the Router provider.',
  },
);

export const DriftedFeature = Type.Object(
  {
    name: Type.String({ description: 'The feature, as the baseline names it.' }),
    psi: Type.Number({ description: 'Its population stability index over the window.' }),
  },
  { description: 'A feature and its drift.' },
);

export const DriftStatus = Type.Object(
  {
    drifted: Type.Boolean({ description: 'A watched feature’s PSI exceeds the threshold.' }),
    samples: Type.Integer({
      description: 'Rows in the serving pods’ windows at the last reading.',
      minimum: 0,
      format: 'int64',
    }),
    features: Type.Optional(
      Type.Array(DriftedFeature, {
        description: 'The watched features, worst first (at most 10).',
        maxItems: 10,
      }),
    ),
    evaluatedAt: Type.Optional(
      Type.String({ description: 'When drift was last read.', format: 'date-time' }),
    ),
    lastRetrainAt: Type.Optional(
      Type.String({ description: 'When drift last started a retraining run.', format: 'date-time' }),
    ),
    lastRetrainJob: Type.Optional(Type.String({ description: 'The retraining Job drift started last.' })),
  },
  { description: 'Input drift of the serving revision, as the operator last read it.' },
);

export const FeedbackStatus = Type.Object(
  {
    rows: Type.Integer({
      description: 'Ground-truth rows joined in the serving pods’ windows (spec.monitoring.feedback.window).',
      minimum: 0,
      format: 'int64',
    }),
    accuracy: Type.Optional(
      Type.Number({ description: 'Fraction of those rows whose prediction matched (classification).' }),
    ),
    meanAbsoluteError: Type.Optional(Type.Number({ description: 'Mean |prediction − truth| (regression).' })),
    rootMeanSquaredError: Type.Optional(
      Type.Number({ description: 'Root mean squared error (regression).' }),
    ),
    evaluatedAt: Type.String({ description: 'When this was read from the pods.', format: 'date-time' }),
  },
  { description: 'Live accuracy of the serving revision, from the ground truth posted back to its pods.' },
);

export type FeedbackStatus = Static<typeof FeedbackStatus>;
export type DriftSpec = Static<typeof DriftSpec>;
export type FeedbackSpec = Static<typeof FeedbackSpec>;
export type MonitoringSpec = Static<typeof MonitoringSpec>;
export type PayloadLoggingSpec = Static<typeof PayloadLoggingSpec>;
export type LoggingSpec = Static<typeof LoggingSpec>;
export type ShadowSpec = Static<typeof ShadowSpec>;
export type DriftStatus = Static<typeof DriftStatus>;
