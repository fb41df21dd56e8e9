import type { V1Deployment } from '@kubernetes/client-node';
import type { ModelDeployment } from '../api/v1alpha1/schema.js';
import { revisionLabels, revisionObjectName, revisionSelector } from './names.js';
import { ownedMeta } from './owner.js';
import { podTemplate } from './pod.js';

/** A revision gives up on progress after this long (then it is reported as failed). */
export const progressDeadlineSeconds = 600;

/**
 * The Deployment of one revision. Its pod template never changes for the life of the revision (the revision
 * is a hash of it), so its own rolling update only ever handles replacements. Replicas are omitted under
 * autoscaling, so that server-side apply leaves them to the HorizontalPodAutoscaler.
 */
export function desiredDeployment(md: ModelDeployment, revision: string, image: string): V1Deployment {
  const runtime = md.spec.runtime ?? {};
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: ownedMeta(md, revisionObjectName(md, revision), revisionLabels(md, revision)),
    spec: {
      replicas: runtime.autoscaling ? undefined : (runtime.replicas ?? 1),
      selector: { matchLabels: revisionSelector(md, revision) },
      progressDeadlineSeconds,
      revisionHistoryLimit: 1,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: podTemplate(md, revision, image),
    },
  };
}

/** Replicas a revision should run: what the HPA or spec.runtime.replicas says. */
export function desiredReplicas(md: ModelDeployment): number {
  const runtime = md.spec.runtime ?? {};
  return runtime.autoscaling ? (runtime.autoscaling.minReplicas ?? 1) : (runtime.replicas ?? 1);
}
