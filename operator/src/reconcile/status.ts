/**
 * The status of a ModelDeployment, computed once per reconcile from the decision. Pure and deterministic:
 * the same inputs give the same status, so an unchanged world writes nothing.
 */
import { ConditionType, Reason, setCondition, type ConditionInput } from '../api/v1alpha1/conditions.js';
import type { ModelDeployment, ModelDeploymentStatus, Phase } from '../api/v1alpha1/schema.js';
import { modelUrl } from '../desired/names.js';
import type { RevisionHealth } from '../rollout/health.js';
import type { TickResult } from '../rollout/machine.js';

/** Which revision serves (live) and which one is on its way in (target; the same one when none is). */
export interface Serving {
  live: string;
  liveVersion: string;
  target: string;
  targetVersion: string;
  health: Record<string, RevisionHealth | undefined>;
}

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

export function summarize(decision: Serving, desiredReplicas: number): Summary {
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

/**
 * kstatus' Reconciling and Stalled, derived from Progressing and Degraded so that they cannot disagree with them.
 * kstatus (Flux, kpt, cli-utils' status poller) reads the first of the two that is True: Reconciling as InProgress,
 * Stalled as Failed; at most one of them is True here, so their order never matters.
 *
 * - Reconciling: the operator is still bringing a change in (a revision starting, a canary walking its steps or
 *   paused, an undo, a queued rollout): Progressing True, with its reason and message.
 * - Stalled: a revision failed or was rolled back and the rollout has stopped: nothing more happens until a user
 *   applies another version, retries or fixes the cause. A rolled back ModelDeployment is Stalled although its
 *   stable version serves fine, because the version its spec asks for does not serve and will not by itself; Argo
 *   Rollouts reports an aborted rollout as Degraded for the same reason. Reporting it Current would tell a GitOps
 *   pipeline that the commit it applied is live.
 */
export function kstatusConditions(
  progressing: ConditionInput,
  degraded: ConditionInput,
): { reconciling: ConditionInput; stalled: ConditionInput } {
  const reconciling: ConditionInput = { ...progressing, type: ConditionType.Reconciling };
  const stalled: ConditionInput =
    progressing.status === 'False' && degraded.status === 'True'
      ? {
          type: ConditionType.Stalled,
          status: 'True',
          reason: progressing.reason,
          message: progressing.message,
        }
      : {
          type: ConditionType.Stalled,
          status: 'False',
          reason: Reason.AsExpected,
          message: 'no failed or rolled back revision waits for a user',
        };
  return { reconciling, stalled };
}

/**
 * The whole status after a tick: the health summary of what serves (and of a BlueGreen revision on its way in),
 * overlaid with the rollout's own phase and progress (canary, paused, rolled back), and the rollout state.
 */
export function computeStatus(
  md: ModelDeployment,
  result: TickResult,
  health: Record<string, RevisionHealth | undefined>,
  desiredReplicas: number,
  now: string,
): ModelDeploymentStatus {
  const { stable } = result.traffic;
  const incoming = result.revisions.find((r) => r.role === 'incoming')?.ref ?? stable;
  const s = summarize(
    {
      live: stable.revision,
      liveVersion: stable.version,
      target: incoming.revision,
      targetVersion: incoming.version,
      health,
    },
    desiredReplicas,
  );
  let phase: Phase = s.phase;
  let progressing = s.progressing;
  let degraded = s.degraded;
  const state = result.state;
  if (result.progress) {
    progressing = { type: ConditionType.Progressing, ...result.progress };
    // Health problems of what serves win over the rollout's own phase.
    if (phase === 'Ready' || phase === 'Progressing') phase = result.phase ?? phase;
  }
  if (result.phase === 'RolledBack' && state.rejected) {
    degraded = {
      type: ConditionType.Degraded,
      status: 'True',
      reason: Reason.RolledBack,
      message: `revision ${state.rejected.revision} (version ${state.rejected.version}) was rolled back: ${state.rejected.reason}`,
    };
  }
  const { reconciling, stalled } = kstatusConditions(progressing, degraded);
  const generation = md.metadata.generation;
  let conditions = md.status?.conditions ?? [];
  for (const c of [s.ready, progressing, degraded, reconciling, stalled])
    conditions = setCondition(conditions, c, now, generation);
  const canary = state.canary;
  return {
    observedGeneration: generation,
    phase,
    conditions,
    stable: {
      revision: stable.revision,
      version: stable.version,
      weight: 100 - result.traffic.canaryWeight,
      readyReplicas: health[stable.revision]?.readyReplicas ?? 0,
    },
    ...(canary ? { canary: { ...canary, readyReplicas: health[canary.revision]?.readyReplicas ?? 0 } } : {}),
    ...(state.rejected ? { rejected: state.rejected } : {}),
    ...(state.history.length ? { history: state.history } : {}),
    ...(state.lastRequest ? { lastRequest: state.lastRequest } : {}),
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
