import type { V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import type { ModelDeployment } from '../api/v1alpha1/schema.js';
import { revisionLabels, revisionObjectName } from './names.js';
import { ownedMeta } from './owner.js';

/** A CPU autoscaler for a revision's Deployment, when spec.runtime.autoscaling is set. */
export function desiredHpa(md: ModelDeployment, revision: string): V2HorizontalPodAutoscaler | undefined {
  const a = md.spec.runtime?.autoscaling;
  if (!a) return undefined;
  const name = revisionObjectName(md, revision);
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: ownedMeta(md, name, revisionLabels(md, revision)),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      minReplicas: a.minReplicas ?? 1,
      maxReplicas: a.maxReplicas,
      metrics: [
        {
          type: 'Resource',
          resource: {
            name: 'cpu',
            target: { type: 'Utilization', averageUtilization: a.targetCPUUtilizationPercentage ?? 80 },
          },
        },
      ],
    },
  };
}
