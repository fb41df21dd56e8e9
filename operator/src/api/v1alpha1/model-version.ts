/**
 * THE definition of the ModelVersion API (modelship.dev/v1alpha1): one object per model version a retraining run
 * produced, owned by its ModelDeployment. The operator writes both spec (what the run produced, immutable once
 * written) and status (how far it got: validated, gated, serving); people read them (`kubectl get mv`) and act on
 * them with `kubectl modelship promote`. Same rules for editing as schema.ts.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { V1CustomResourceDefinition, V1ObjectMeta } from '@kubernetes/client-node';
import { toStructural, type JsonSchema } from '../structural.js';
import { customResourceDefinition } from './crd-kit.js';
import type { group, version } from './schema.js';
import { Condition } from './schema.js';
import { ModelCardSpec } from './security.js';

export const modelVersionKind = 'ModelVersion';
export const modelVersionPlural = 'modelversions';

export const VersionPhase = Type.Union(
  [
    Type.Literal('Candidate'),
    Type.Literal('Validating'),
    Type.Literal('Rejected'),
    Type.Literal('Approved'),
    Type.Literal('Canary'),
    Type.Literal('Stable'),
    Type.Literal('Retired'),
  ],
  {
    description:
      'Candidate: a run produced it. Validating: the serving image is loading it to read its signature and score the holdout. Rejected: the run, the validation, the quality gate or a canary failed it (conditions say why); it never serves. Approved: it passed the gate and waits to roll out (mode Manual: for kubectl modelship promote). Canary: it is rolling out. Stable: it serves. Retired: a newer version replaced it.',
  },
);

const TensorSpec = Type.Object(
  {
    name: Type.String({ description: 'Tensor name.' }),
    datatype: Type.String({ description: 'Open Inference Protocol datatype (FP32, INT64, ...).' }),
    shape: Type.Array(Type.Integer({ description: 'A dimension; -1 is dynamic.', format: 'int64' }), {
      description: 'Shape; -1 marks a dynamic dimension.',
    }),
  },
  { description: 'An input or output of the model.' },
);

export const Signature = Type.Object(
  {
    inputs: Type.Array(TensorSpec, {
      description: 'Inputs, read from the ONNX file by the serving runtime.',
    }),
    outputs: Type.Array(TensorSpec, {
      description: 'Outputs, read from the ONNX file by the serving runtime.',
    }),
  },
  { description: "The model's signature as the serving runtime loads it (not as the run claims it)." },
);

const metrics = (description: string) =>
  Type.Record(Type.String(), Type.Number(), { description, maxProperties: 64 });

export const ModelVersionSpec = Type.Object(
  {
    deployment: Type.String({ description: 'The ModelDeployment this version belongs to.' }),
    model: Type.Object(
      {
        name: Type.String({ description: 'Served model name.' }),
        version: Type.String({ description: 'The version label, as spec.model.version would carry it.' }),
        storageUri: Type.String({ description: 'Where the model file is.' }),
        sha256: Type.Optional(
          Type.String({
            description: 'SHA-256 of the model file, as the run reported it (none when the run failed).',
          }),
        ),
      },
      { description: 'The model, in the terms of a ModelDeployment’s spec.model.' },
    ),
    source: Type.Object(
      {
        kind: Type.Union([Type.Literal('Job'), Type.Literal('Spec')], {
          description: 'Job: a retraining run produced it. Spec: a user applied it in the ModelDeployment.',
        }),
        name: Type.Optional(Type.String({ description: 'The Job that produced it.' })),
        schedule: Type.Optional(
          Type.String({ description: 'The CronJob schedule the run came from, if any.' }),
        ),
        parentVersion: Type.Optional(
          Type.String({ description: 'The version that served when the run started (its lineage).' }),
        ),
      },
      { description: 'What produced this version.' },
    ),
    metrics: Type.Optional(metrics('Metrics the run reported (accuracy, auc, rmse, ...).')),
    data: Type.Optional(
      Type.Object(
        {
          ref: Type.Optional(Type.String({ description: 'The training data reference the run reported.' })),
          rows: Type.Optional(Type.Integer({ description: 'Rows trained on.', minimum: 0, format: 'int64' })),
        },
        { description: 'The training data.' },
      ),
    ),
    holdoutUri: Type.Optional(Type.String({ description: 'A holdout set the run left beside the model.' })),
    modelCard: Type.Optional(
      Type.Unsafe<Static<typeof ModelCardSpec>>({
        ...ModelCardSpec,
        description:
          "The ModelDeployment's spec.modelCard when this version was registered; for a run's version, evaluationMetrics are the metrics the run reported (when it reported any).",
      }),
    ),
  },
  { description: 'What a run produced. Written once by the operator.' },
);

export const GateCheck = Type.Object(
  {
    name: Type.String({ description: 'The check: a metric name, or signature.' }),
    passed: Type.Boolean({ description: 'Whether it passed.' }),
    message: Type.String({ description: 'What was compared with what.' }),
  },
  { description: 'One check of the quality gate.' },
);

export const ModelVersionStatus = Type.Object(
  {
    phase: Type.Optional(VersionPhase),
    conditions: Type.Optional(
      Type.Array(Condition, {
        description: 'Validated, Approved, Serving: each with the reason.',
        maxItems: 8,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
      }),
    ),
    signature: Type.Optional(Signature),
    validation: Type.Optional(
      Type.Object(
        {
          job: Type.Optional(Type.String({ description: 'The validation Job.' })),
          loadMs: Type.Optional(Type.Number({ description: 'Time the serving runtime took to load it.' })),
          holdout: Type.Optional(metrics('Holdout metrics the validation computed (holdout.accuracy, ...).')),
        },
        { description: 'What validation found.' },
      ),
    ),
    gate: Type.Optional(
      Type.Array(GateCheck, { description: 'Every check of the quality gate.', maxItems: 32 }),
    ),
    keyMetric: Type.Optional(
      Type.String({ description: 'The first gated metric and its value, for kubectl get (accuracy=0.97).' }),
    ),
    servedAt: Type.Optional(
      Type.String({ description: 'When it became the stable version.', format: 'date-time' }),
    ),
    retiredAt: Type.Optional(
      Type.String({ description: 'When a newer version replaced it.', format: 'date-time' }),
    ),
  },
  { description: 'How far this version got. Written by the operator.' },
);

export type ModelVersionSpec = Static<typeof ModelVersionSpec>;
export type ModelVersionStatus = Static<typeof ModelVersionStatus>;
export type VersionPhase = Static<typeof VersionPhase>;
export type Signature = Static<typeof Signature>;

export interface ModelVersion {
  apiVersion: `${typeof group}/${typeof version}`;
  kind: typeof modelVersionKind;
  metadata: V1ObjectMeta;
  spec: ModelVersionSpec;
  status?: ModelVersionStatus;
}

export const modelVersionPrinterColumns = [
  { name: 'Model', type: 'string', jsonPath: '.spec.model.name', description: 'Served model name.' },
  { name: 'Version', type: 'string', jsonPath: '.spec.model.version', description: 'The version label.' },
  { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'How far it got.' },
  { name: 'Metric', type: 'string', jsonPath: '.status.keyMetric', description: 'The first gated metric.' },
  { name: 'Source', type: 'string', jsonPath: '.spec.source.name', description: 'The Job that produced it.' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

export function modelVersionOpenApiSchema(): JsonSchema {
  return {
    type: 'object',
    description:
      'ModelVersion is one version of a ModelDeployment’s model that a retraining run produced: where it is, its metrics and signature, its lineage, and whether it passed validation and the quality gate.',
    required: ['spec'],
    properties: {
      apiVersion: { type: 'string', description: 'APIVersion of this representation of an object.' },
      kind: { type: 'string', description: 'Kind of the REST resource this object represents.' },
      metadata: { type: 'object' },
      spec: toStructural(ModelVersionSpec, 'spec'),
      status: toStructural(ModelVersionStatus, 'status'),
    },
  };
}

export function modelVersionCrd(): V1CustomResourceDefinition {
  return customResourceDefinition({
    kind: modelVersionKind,
    plural: modelVersionPlural,
    shortNames: ['mv'],
    printerColumns: modelVersionPrinterColumns,
    schema: modelVersionOpenApiSchema(),
  });
}
