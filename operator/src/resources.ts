/**
 * Every kind the operator reads or writes, named once. The API client's paths, the informers and the RBAC rules
 * (rbac.ts) are derived from this list.
 */
import { modelVersionKind, modelVersionPlural } from './api/v1alpha1/model-version.js';
import { apiVersion, kind, plural } from './api/v1alpha1/schema.js';
import type { ResourceKind } from './kube/resource.js';

export const kinds = {
  modelDeployment: { apiVersion, kind, plural },
  modelVersion: { apiVersion, kind: modelVersionKind, plural: modelVersionPlural },
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
  configMap: { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps' },
  serviceAccount: { apiVersion: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts' },
  role: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', plural: 'roles' },
  roleBinding: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', plural: 'rolebindings' },
  httpRoute: { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', plural: 'httproutes' },
  virtualService: { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', plural: 'virtualservices' },
  cronJob: { apiVersion: 'batch/v1', kind: 'CronJob', plural: 'cronjobs' },
  job: { apiVersion: 'batch/v1', kind: 'Job', plural: 'jobs' },
  networkPolicy: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', plural: 'networkpolicies' },
  pod: { apiVersion: 'v1', kind: 'Pod', plural: 'pods' },
  secret: { apiVersion: 'v1', kind: 'Secret', plural: 'secrets' },
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
  configMaps: kinds.configMap,
  serviceAccounts: kinds.serviceAccount,
  roles: kinds.role,
  roleBindings: kinds.roleBinding,
  cronJobs: kinds.cronJob,
  networkPolicies: kinds.networkPolicy,
} as const satisfies Record<string, ResourceKind>;

/**
 * What retraining adds, watched by label but not owned by the ModelDeployment as the objects above are (nothing
 * deletes them for not being desired): the runs' Jobs (owned by the CronJob) and validation Jobs, and the
 * ModelVersions (owned by the ModelDeployment, deleted by the version history limit).
 */
export const retrainingKinds = {
  jobs: kinds.job,
  modelVersions: kinds.modelVersion,
} as const satisfies Record<string, ResourceKind>;

/**
 * Owned kinds of optional APIs (a CRD a cluster may not have): watched only once a ModelDeployment uses them, so a
 * cluster without Gateway API or Istio costs nothing and logs nothing.
 */
export const optionalOwnedKinds = {
  httpRoutes: kinds.httpRoute,
  virtualServices: kinds.virtualService,
} as const satisfies Record<string, ResourceKind>;

export type OwnedKindName = keyof typeof ownedKinds;
export type OptionalKindName = keyof typeof optionalOwnedKinds;
