import type { V1PodDisruptionBudget } from '@kubernetes/client-node';
import type { ModelDeployment } from '../api/v1alpha1/schema.js';
import { desiredReplicas } from './deployment.js';
import { revisionLabels, revisionObjectName, revisionSelector } from './names.js';
import { ownedMeta } from './owner.js';

/**
 * With more than one replica, voluntary disruptions (node drains) take at most one serving pod at a time.
 * With one replica a budget would block drains forever, so there is none.
 */
export function desiredPdb(md: ModelDeployment, revision: string): V1PodDisruptionBudget | undefined {
  if (desiredReplicas(md) <= 1) return undefined;
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: ownedMeta(md, revisionObjectName(md, revision), revisionLabels(md, revision)),
    spec: {
      maxUnavailable: 1,
      selector: { matchLabels: revisionSelector(md, revision) },
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
  };
}
