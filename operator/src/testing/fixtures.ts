/** Builders of plain objects for unit tests of the pure modules. Not used by production code. */
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { withDefaults, type ModelDeployment, type ModelDeploymentSpec } from '../api/v1alpha1/schema.js';

export function md(spec: Partial<ModelDeploymentSpec> = {}, name = 'churn'): ModelDeployment {
  return {
    apiVersion: 'modelship.dev/v1alpha1',
    kind: 'ModelDeployment',
    metadata: { name, namespace: 'ml', uid: 'uid-1', generation: 3, resourceVersion: '10' },
    spec: withDefaults({ model: { version: '1.0.0', storageUri: 'file:///m.onnx' }, ...spec }),
  };
}

export function deployment(
  revision: string,
  o: {
    replicas?: number;
    ready?: number;
    available?: number;
    updated?: number;
    conditions?: object[];
    generation?: number;
    observed?: number;
  } = {},
): V1Deployment {
  const replicas = o.replicas ?? 1;
  return {
    metadata: {
      name: `churn-${revision}`,
      generation: o.generation ?? 1,
      labels: { 'modelship.dev/revision': revision },
    },
    spec: { replicas, selector: {}, template: {} },
    status: {
      observedGeneration: o.observed ?? o.generation ?? 1,
      readyReplicas: o.ready ?? 0,
      availableReplicas: o.available ?? o.ready ?? 0,
      updatedReplicas: o.updated ?? replicas,
      conditions: o.conditions as never,
    },
  };
}

export function pod(name: string, containerStatus: object, extra: object = {}): V1Pod {
  return {
    metadata: { name },
    status: {
      phase: 'Running',
      containerStatuses: [
        { name: 'server', ready: false, restartCount: 0, image: 'i', imageID: '', ...containerStatus },
      ],
      ...extra,
    },
  } as V1Pod;
}
