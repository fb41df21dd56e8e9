/**
 * Every kind the operator reads or writes, named once. The API client's paths, the informers and the RBAC rules
 * (rbac.ts) are derived from this list.
 */
import { apiVersion, kind, plural } from './api/v1alpha1/schema.js';
import type { ResourceKind } from './kube/resource.js';

export const kinds = {
  modelDeployment: { apiVersion, kind, plural },
  deployment: { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments' },
  service: { apiVersion: 'v1', kind: 'Service', plural: 'services' },
  podDisruptionBudget: {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    plural: 'poddisruptionbudgets',
  },
  horizontalPodAutoscaler: {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    plural: 'horizontalpodautoscalers',
  },
  pod: { apiVersion: 'v1', kind: 'Pod', plural: 'pods' },
  event: { apiVersion: 'v1', kind: 'Event', plural: 'events' },
} as const satisfies Record<string, ResourceKind>;

/**
 * The kinds the operator creates for a ModelDeployment and owns (applied, deleted, watched by label), by the
 * name of their informer cache.
 */
export const ownedKinds = {
  deployments: kinds.deployment,
  services: kinds.service,
  podDisruptionBudgets: kinds.podDisruptionBudget,
  horizontalPodAutoscalers: kinds.horizontalPodAutoscaler,
} as const satisfies Record<string, ResourceKind>;

export type OwnedKindName = keyof typeof ownedKinds;
