/** Gathers what the cluster shows about one ModelDeployment from the informer caches. No API calls. */
import type {
  KubernetesObject,
  V1ConfigMap,
  V1CronJob,
  V1Job,
  V1Deployment,
  V1Pod,
  V1PodDisruptionBudget,
  V1Role,
  V1RoleBinding,
  V1Service,
  V1ServiceAccount,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import type { ModelVersion } from '../api/v1alpha1/model-version.js';
import type { ModelDeployment } from '../api/v1alpha1/schema.js';
import { labelKeys } from '../desired/names.js';
import { metricsTlsSecretAnnotation } from '../desired/security.js';
import type { NetworkPolicy } from '../desired/network-policy.js';
import { liveRevisionOf } from '../desired/service.js';
import type { OptionalKindName, OwnedKindName } from '../resources.js';

export interface ObservedRevision {
  revision: string;
  /** The model version the revision was created for (its app.kubernetes.io/version label). */
  version: string;
  deployment: V1Deployment;
  pods: V1Pod[];
}

export interface Observed {
  /** The ModelDeployment's revisions (those with a Deployment), in a stable order. */
  revisions: ObservedRevision[];
  /** Every pod of the ModelDeployment: revisions' and router's. */
  pods: V1Pod[];
  /** The revision the `<name>` Service selects, if it selects one. */
  liveRevision?: string;
}

/** The read side of an informer: cached objects, never to be mutated. */
export interface Cache<T> {
  get(namespace: string, name: string): T | undefined;
  list(namespace?: string): T[];
}

export interface Caches {
  modelDeployments: Cache<ModelDeployment>;
  deployments: Cache<V1Deployment>;
  services: Cache<V1Service>;
  podDisruptionBudgets: Cache<V1PodDisruptionBudget>;
  horizontalPodAutoscalers: Cache<V2HorizontalPodAutoscaler>;
  configMaps: Cache<V1ConfigMap>;
  serviceAccounts: Cache<V1ServiceAccount>;
  roles: Cache<V1Role>;
  roleBindings: Cache<V1RoleBinding>;
  cronJobs: Cache<V1CronJob>;
  networkPolicies: Cache<NetworkPolicy>;
  jobs: Cache<V1Job>;
  modelVersions: Cache<ModelVersion>;
  pods: Cache<V1Pod>;
  /**
   * The cache of an optional kind (a CRD the cluster may lack) once it holds its first list; undefined before, or
   * while the API does not serve the kind. Asking for it starts watching it.
   */
  optional(name: OptionalKindName): Cache<KubernetesObject> | undefined;
}

/** Objects of `md`: labelled with its name and controlled by its uid (a recreated namesake owns nothing old). */
export function ownedBy<T extends KubernetesObject>(md: ModelDeployment, objects: T[]): T[] {
  return objects.filter(
    (o) =>
      o.metadata?.labels?.[labelKeys.deployment] === md.metadata.name &&
      o.metadata?.ownerReferences?.some((r) => r.controller && r.uid === md.metadata.uid),
  );
}

/** Owned objects by kind; the keys are those of `ownedKinds` (resources.ts). */
/** Owned objects by kind; the keys are those of `ownedKinds` and `optionalOwnedKinds` (resources.ts). */
export interface OwnedObjects extends Record<OwnedKindName | OptionalKindName, KubernetesObject[]> {
  deployments: V1Deployment[];
  services: V1Service[];
  podDisruptionBudgets: V1PodDisruptionBudget[];
  horizontalPodAutoscalers: V2HorizontalPodAutoscaler[];
}

/** `optional` lists the optional kinds to read (those the ModelDeployment's provider uses). */
export function ownedObjects(
  md: ModelDeployment,
  caches: Caches,
  optional: OptionalKindName[] = [],
): OwnedObjects {
  const ns = md.metadata.namespace!;
  const of = (name: OptionalKindName) =>
    optional.includes(name) ? ownedBy(md, caches.optional(name)?.list(ns) ?? []) : [];
  return {
    deployments: ownedBy(md, caches.deployments.list(ns)),
    services: ownedBy(md, caches.services.list(ns)),
    podDisruptionBudgets: ownedBy(md, caches.podDisruptionBudgets.list(ns)),
    horizontalPodAutoscalers: ownedBy(md, caches.horizontalPodAutoscalers.list(ns)),
    configMaps: ownedBy(md, caches.configMaps.list(ns)),
    serviceAccounts: ownedBy(md, caches.serviceAccounts.list(ns)),
    roles: ownedBy(md, caches.roles.list(ns)),
    roleBindings: ownedBy(md, caches.roleBindings.list(ns)),
    cronJobs: ownedBy(md, caches.cronJobs.list(ns)),
    networkPolicies: ownedBy(md, caches.networkPolicies.list(ns)),
    httpRoutes: of('httpRoutes'),
    virtualServices: of('virtualServices'),
  };
}

export function observe(md: ModelDeployment, owned: OwnedObjects, caches: Caches): Observed {
  const ns = md.metadata.namespace!;
  const pods = caches.pods
    .list(ns)
    .filter((p) => p.metadata?.labels?.[labelKeys.deployment] === md.metadata.name);
  const revisions: ObservedRevision[] = [];
  for (const d of owned.deployments) {
    const revision = d.metadata?.labels?.[labelKeys.revision];
    if (!revision) continue;
    revisions.push({
      revision,
      version: d.metadata?.labels?.[labelKeys.version] ?? '',
      deployment: d,
      pods: pods.filter((p) => p.metadata?.labels?.[labelKeys.revision] === revision),
    });
  }
  revisions.sort((a, b) => a.revision.localeCompare(b.revision));
  const main = owned.services.find((s) => s.metadata?.name === md.metadata.name);
  return { revisions, pods, liveRevision: liveRevisionOf(main) };
}

/** What the operator reads of a pod (metadata and status): the cache keeps only this. */
export function podSummary(pod: V1Pod): V1Pod {
  const { name, namespace, labels, deletionTimestamp, resourceVersion, uid } = pod.metadata ?? {};
  // The one annotation read: how the pod's metrics are verified (desired/security.ts).
  const tlsSecret = pod.metadata?.annotations?.[metricsTlsSecretAnnotation];
  const annotations = tlsSecret === undefined ? undefined : { [metricsTlsSecretAnnotation]: tlsSecret };
  return {
    metadata: { name, namespace, labels, annotations, deletionTimestamp, resourceVersion, uid },
    status: pod.status,
  };
}
