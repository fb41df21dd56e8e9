/**
 * Is a revision available, still progressing, or failed? Read from its Deployment and pods the way a person
 * would read `kubectl describe`, and say why in words they can act on. Pure.
 */
import type { V1ContainerStatus, V1Deployment, V1Pod } from '@kubernetes/client-node';
import { knownLoadFailure } from './load-failure.js';

export type RevisionState = 'Available' | 'Progressing' | 'Failed';

export interface RevisionHealth {
  state: RevisionState;
  desiredReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
  /** CamelCase cause, e.g. CrashLoopBackOff, ProgressDeadlineExceeded, ImagePullBackOff. */
  reason: string;
  /** One line for conditions and Events. */
  message: string;
}

/** Container states that do not fix themselves: the revision will not become available without a change. */
const fatalWaitingReasons = new Set([
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

/** Restarts after which a container that is still not ready counts as failing, even between back-offs. */
export const maxRestartsBeforeFailed = 3;

export function assessRevision(
  deployment: V1Deployment,
  pods: V1Pod[],
  /** True when the spec itself asks for no replicas (a parked model): then 0 of 0 is what was asked for. */
  zeroRequested = false,
): RevisionHealth {
  const desiredReplicas = deployment.spec?.replicas ?? 1;
  const status = deployment.status ?? {};
  const readyReplicas = status.readyReplicas ?? 0;
  const availableReplicas = status.availableReplicas ?? 0;
  const counts = { desiredReplicas, readyReplicas, availableReplicas };

  const failure = podFailure(pods) ?? deploymentFailure(deployment);
  const upToDate = (status.observedGeneration ?? 0) >= (deployment.metadata?.generation ?? 0);
  // A revision the operator scaled to 0 (kept for undo, a rolled-back canary) serves nothing: it is not available
  // until scaled up again, or an undo or a retry would send traffic to no pods.
  const available =
    upToDate &&
    (desiredReplicas > 0 || zeroRequested) &&
    availableReplicas >= desiredReplicas &&
    (status.updatedReplicas ?? 0) >= desiredReplicas;
  if (available && !failure) {
    return {
      state: 'Available',
      ...counts,
      reason: 'Available',
      message: `${readyReplicas}/${desiredReplicas} replicas ready`,
    };
  }
  if (failure) return { state: 'Failed', ...counts, ...failure };
  if (desiredReplicas === 0 && !zeroRequested)
    return { state: 'Progressing', ...counts, reason: 'ScaledToZero', message: 'scaled to 0 replicas' };
  return {
    state: 'Progressing',
    ...counts,
    reason: 'ReplicasNotReady',
    message: `${readyReplicas}/${desiredReplicas} replicas ready${pendingDetail(pods)}`,
  };
}

function deploymentFailure(d: V1Deployment): { reason: string; message: string } | undefined {
  const conditions = d.status?.conditions ?? [];
  const progressing = conditions.find((c) => c.type === 'Progressing');
  if (progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded') {
    return {
      reason: 'ProgressDeadlineExceeded',
      message: progressing.message ?? 'progress deadline exceeded',
    };
  }
  const replicaFailure = conditions.find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
  if (replicaFailure) {
    return {
      reason: replicaFailure.reason ?? 'ReplicaFailure',
      message: replicaFailure.message ?? 'pods cannot be created',
    };
  }
  return undefined;
}

/** The first failing pod, in name order so that the message is deterministic. */
function podFailure(pods: V1Pod[]): { reason: string; message: string } | undefined {
  for (const pod of [...pods].sort(byName)) {
    if (pod.metadata?.deletionTimestamp) continue;
    const name = pod.metadata?.name ?? '?';
    if (pod.status?.phase === 'Failed') {
      return {
        reason: pod.status.reason ?? 'PodFailed',
        message: `pod ${name} failed${suffix(pod.status.message)}`,
      };
    }
    for (const cs of [
      ...(pod.status?.initContainerStatuses ?? []),
      ...(pod.status?.containerStatuses ?? []),
    ]) {
      // A failure the server names (a model signature that does not verify) is final: said at the first exit.
      const terminated = cs.lastState?.terminated ?? cs.state?.terminated;
      const known = knownLoadFailure(terminated?.message);
      if (known && !cs.ready)
        return {
          reason: known.reason,
          message: `pod ${name}: container ${cs.name} cannot load the model: ${known.detail}`,
        };
      const waiting = cs.state?.waiting;
      if (waiting?.reason && fatalWaitingReasons.has(waiting.reason)) {
        return {
          reason: waiting.reason,
          message: `pod ${name}: container ${cs.name} ${describeWaiting(cs)}`,
        };
      }
      if (!cs.ready && cs.restartCount >= maxRestartsBeforeFailed) {
        return {
          reason: 'RepeatedRestarts',
          message: `pod ${name}: container ${cs.name} restarted ${cs.restartCount} times${lastTermination(cs)}`,
        };
      }
    }
  }
  return undefined;
}

function describeWaiting(cs: V1ContainerStatus): string {
  const w = cs.state!.waiting!;
  if (w.reason === 'CrashLoopBackOff') return `keeps crashing (CrashLoopBackOff)${lastTermination(cs)}`;
  return `is waiting: ${w.reason}${suffix(w.message)}`;
}

/** The container's last exit: code and its termination message (the server's last log lines). */
function lastTermination(cs: V1ContainerStatus): string {
  const t = cs.lastState?.terminated ?? cs.state?.terminated;
  if (!t) return '';
  const message = t.message?.trim().split('\n').filter(Boolean).slice(-3).join(' | ');
  return `; last exit code ${t.exitCode}${t.reason ? ` (${t.reason})` : ''}${message ? `: ${truncate(message, 600)}` : ''}`;
}

function pendingDetail(pods: V1Pod[]): string {
  for (const pod of [...pods].sort(byName)) {
    const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    if (scheduled?.status === 'False')
      return `; pod ${pod.metadata?.name} is not scheduled${suffix(scheduled.message)}`;
    const waiting = pod.status?.containerStatuses?.find((c) => c.state?.waiting?.reason)?.state?.waiting;
    if (waiting) return `; pod ${pod.metadata?.name} is ${waiting.reason}`;
  }
  return '';
}

const byName = (a: V1Pod, b: V1Pod) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');
const suffix = (m?: string) => (m ? `: ${truncate(m, 600)}` : '');
const truncate = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
