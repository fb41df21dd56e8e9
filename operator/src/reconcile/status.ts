/**
 * The status of a ModelDeployment, computed once per reconcile from the decision. Pure and deterministic:
 * the same inputs give the same status, so an unchanged world writes nothing.
 */
import { ConditionType, Reason, setCondition, type ConditionInput } from '../api/v1alpha1/conditions.js';
import type { ModelDeployment, ModelDeploymentStatus, Phase } from '../api/v1alpha1/schema.js';
import { modelUrl } from '../desired/names.js';
import type { RevisionHealth } from './health.js';
import type { Decision } from './plan.js';

const noneYet = (desired: number): RevisionHealth => ({
  state: 'Progressing',
  desiredReplicas: desired,
  readyReplicas: 0,
  availableReplicas: 0,
  reason: 'Creating',
  message: `0/${desired} replicas ready; the Deployment is being created`,
});

function describe(revision: string, version: string): string {
  return `revision ${revision} (version ${version})`;
}

interface Summary {
  phase: Phase;
  ready: ConditionInput;
  progressing: ConditionInput;
  degraded: ConditionInput;
}

export function summarize(decision: Decision, desiredReplicas: number): Summary {
  const live = decision.health[decision.live] ?? noneYet(desiredReplicas);
  const liveName = describe(decision.live, decision.liveVersion);
  const serving = live.readyReplicas > 0;
  const ready: ConditionInput = serving
    ? {
        type: ConditionType.Ready,
        status: 'True',
        reason: Reason.Serving,
        message: `${liveName} serves: ${live.message}`,
      }
    : live.desiredReplicas === 0
      ? {
          type: ConditionType.Ready,
          status: 'False',
          reason: Reason.ScaledToZero,
          message: `${liveName} is scaled to zero replicas`,
        }
      : {
          type: ConditionType.Ready,
          status: 'False',
          reason: Reason.NoReadyReplicas,
          message: `${liveName} has no ready replicas: ${live.message}`,
        };
  const notDegraded: ConditionInput = {
    type: ConditionType.Degraded,
    status: 'False',
    reason: Reason.AsExpected,
    message: 'nothing has failed',
  };

  // A failed revision: Degraded while the live one still serves, Failed when nothing does.
  const failed = (why: string): Summary => ({
    phase: serving ? 'Degraded' : 'Failed',
    ready,
    progressing: {
      type: ConditionType.Progressing,
      status: 'False',
      reason: Reason.RevisionFailed,
      message: why,
    },
    degraded: { type: ConditionType.Degraded, status: 'True', reason: Reason.RevisionFailed, message: why },
  });

  if (decision.live !== decision.target) {
    const target = decision.health[decision.target] ?? noneYet(desiredReplicas);
    const targetName = describe(decision.target, decision.targetVersion);
    if (target.state === 'Failed') {
      return failed(`${targetName} failed (${target.reason}): ${target.message}; ${liveName} keeps serving`);
    }
    return {
      phase: 'Progressing',
      ready,
      progressing: {
        type: ConditionType.Progressing,
        status: 'True',
        reason: Reason.NewRevisionProgressing,
        message: `waiting for ${targetName} to become available (${target.message}); ${liveName} serves until then`,
      },
      degraded: notDegraded,
    };
  }

  if (live.state === 'Failed') {
    return failed(`${liveName} failed (${live.reason}): ${live.message}`);
  }
  if (live.state === 'Progressing') {
    return {
      phase: serving ? 'Progressing' : 'Pending',
      ready,
      progressing: {
        type: ConditionType.Progressing,
        status: 'True',
        reason: Reason.NewRevisionProgressing,
        message: `${liveName}: ${live.message}`,
      },
      degraded: notDegraded,
    };
  }
  return {
    phase: 'Ready',
    ready,
    progressing: {
      type: ConditionType.Progressing,
      status: 'False',
      reason: Reason.RolloutComplete,
      message: `${liveName} is fully rolled out`,
    },
    degraded: notDegraded,
  };
}

export function computeStatus(
  md: ModelDeployment,
  decision: Decision,
  desiredReplicas: number,
  now: string,
): ModelDeploymentStatus {
  const s = summarize(decision, desiredReplicas);
  const generation = md.metadata.generation;
  let conditions = md.status?.conditions ?? [];
  for (const c of [s.ready, s.progressing, s.degraded])
    conditions = setCondition(conditions, c, now, generation);
  const live = decision.health[decision.live];
  return {
    observedGeneration: generation,
    phase: s.phase,
    conditions,
    stable: {
      revision: decision.live,
      version: decision.liveVersion,
      weight: 100,
      readyReplicas: live?.readyReplicas ?? 0,
    },
    url: modelUrl(md),
  };
}

/** A status that reports a reconcile error, keeping everything else as it was. */
export function withReconcileError(md: ModelDeployment, message: string, now: string): ModelDeploymentStatus {
  const status = md.status ?? {};
  return {
    ...status,
    conditions: setCondition(
      status.conditions ?? [],
      { type: ConditionType.Degraded, status: 'True', reason: Reason.ReconcileError, message },
      now,
      md.metadata.generation,
    ),
  };
}
