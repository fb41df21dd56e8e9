/** The CustomResourceDefinition of ModelDeployment, assembled from schema.ts. Pure. */
import type { V1CustomResourceDefinition } from '@kubernetes/client-node';
import { toStructural, type JsonSchema } from '../structural.js';
import { customResourceDefinition } from './crd-kit.js';
import { kind, ModelDeploymentSpec, ModelDeploymentStatus, objectRules, plural } from './schema.js';

export const printerColumns = [
  {
    name: 'Model',
    type: 'string',
    jsonPath: '.spec.model.name',
    description: 'Served model name (empty: the ModelDeployment name).',
  },
  {
    name: 'Stable',
    type: 'string',
    jsonPath: '.status.stable.version',
    description: 'Model version of the stable revision.',
  },
  {
    name: 'Canary',
    type: 'string',
    jsonPath: '.status.canary.version',
    description: 'Model version of the canary revision, if any.',
  },
  {
    name: 'Weight',
    type: 'integer',
    jsonPath: '.status.canary.weight',
    description: 'Percent of traffic the canary receives.',
  },
  { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Summary of the state.' },
  {
    name: 'Ready',
    type: 'string',
    jsonPath: '.status.conditions[?(@.type=="Ready")].status',
    description: 'Whether the model serves.',
  },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  // -o wide: what the serving pods watch (spec.monitoring).
  {
    name: 'Drifted',
    type: 'string',
    jsonPath: '.status.conditions[?(@.type=="Drifted")].status',
    description: 'Whether a watched input feature drifted from the baseline (spec.monitoring.drift).',
    priority: 1,
  },
  {
    name: 'Accuracy',
    type: 'number',
    jsonPath: '.status.feedback.accuracy',
    description: 'Live accuracy from posted ground truth (spec.monitoring.feedback).',
    priority: 1,
  },
];

export function openApiSchema(): JsonSchema {
  return {
    type: 'object',
    description:
      'ModelDeployment serves a trained ONNX model over the Open Inference Protocol (V2) and keeps it healthy: one Deployment and Service per revision, rolled out without downtime.',
    required: ['spec'],
    properties: {
      apiVersion: {
        type: 'string',
        description: 'APIVersion defines the versioned schema of this representation of an object.',
      },
      kind: {
        type: 'string',
        description: 'Kind is a string value representing the REST resource this object represents.',
      },
      metadata: { type: 'object', properties: { name: { type: 'string' } } },
      spec: toStructural(ModelDeploymentSpec, 'spec'),
      status: toStructural(ModelDeploymentStatus, 'status'),
    },
    'x-kubernetes-validations': objectRules,
  };
}

export function modelDeploymentCrd(): V1CustomResourceDefinition {
  return customResourceDefinition({
    kind,
    plural,
    shortNames: ['md'],
    printerColumns,
    schema: openApiSchema(),
  });
}
