/** Gathers what the cluster shows about one ModelDeployment from the informer caches. No API calls. */
import type {
  KubernetesObject,
  V1Deployment,
  V1Pod,
  V1PodDisruptionBudget,
  V1Service,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import type { ModelDeployment } from '../api/v1alpha1/schema.js';
import { labelKeys } from '../desired/names.js';
import type { OwnedKindName } from '../resources.js';
import { revisionOfDeployment, type Observed, type ObservedRevision } from './plan.js';

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
  pods: Cache<V1Pod>;
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
export interface OwnedObjects extends Record<OwnedKindName, KubernetesObject[]> {
  deployments: V1Deployment[];
  services: V1Service[];
  podDisruptionBudgets: V1PodDisruptionBudget[];
  horizontalPodAutoscalers: V2HorizontalPodAutoscaler[];
}

export function ownedObjects(md: ModelDeployment, caches: Caches): OwnedObjects {
  const ns = md.metadata.namespace!;
  return {
    deployments: ownedBy(md, caches.deployments.list(ns)),
    services: ownedBy(md, caches.services.list(ns)),
    podDisruptionBudgets: ownedBy(md, caches.podDisruptionBudgets.list(ns)),
    horizontalPodAutoscalers: ownedBy(md, caches.horizontalPodAutoscalers.list(ns)),
  };
}

export function observe(md: ModelDeployment, owned: OwnedObjects, caches: Caches): Observed {
  const ns = md.metadata.namespace!;
  const pods = caches.pods
    .list(ns)
    .filter((p) => p.metadata?.labels?.[labelKeys.deployment] === md.metadata.name);
  const revisions: ObservedRevision[] = [];
  for (const d of owned.deployments) {
    const revision = revisionOfDeployment(d);
    if (!revision) continue;
    revisions.push({
      revision,
      version: d.metadata?.labels?.[labelKeys.version] ?? '',
      deployment: d,
      pods: pods.filter((p) => p.metadata?.labels?.[labelKeys.revision] === revision),
    });
  }
  revisions.sort((a, b) => a.revision.localeCompare(b.revision));
  return {
    revisions,
    mainService: owned.services.find((s) => s.metadata?.name === md.metadata.name),
    lastStableRevision: md.status?.stable?.revision,
  };
}

/** What the operator reads of a pod (metadata and status): the cache keeps only this. */
export function podSummary(pod: V1Pod): V1Pod {
  const { name, namespace, labels, deletionTimestamp, resourceVersion, uid } = pod.metadata ?? {};
  return {
    metadata: { name, namespace, labels, deletionTimestamp, resourceVersion, uid },
    status: pod.status,
  };
}
