/**
 * Condition types and reasons of a ModelDeployment, and setCondition with the Kubernetes convention
 * (meta.SetStatusCondition): lastTransitionTime changes only when the status does. Pure.
 */
import type { Condition } from './schema.js';

export const ConditionType = {
  /** The model serves: the live revision has ready pods behind the `<name>` Service. */
  Ready: 'Ready',
  /** A change is rolling out (True), finished (False, RolloutComplete) or stuck (False, RevisionFailed). */
  Progressing: 'Progressing',
  /** Something failed or is missing while the model may still serve. */
  Degraded: 'Degraded',
  /**
   * With Stalled, kstatus' "abnormal-true" pair (sigs.k8s.io/cli-utils kstatus, as Flux and kpt read health):
   * True while the operator is still bringing a change in (the Progressing reason and message).
   */
  Reconciling: 'Reconciling',
  /** True when a revision failed or was rolled back and nothing more happens until a user acts. */
  Stalled: 'Stalled',
  /** spec.monitoring.drift: True when a watched input feature's PSI exceeds the threshold. */
  Drifted: 'Drifted',
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

export const Reason = {
  Serving: 'Serving',
  NoReadyReplicas: 'NoReadyReplicas',
  ScaledToZero: 'ScaledToZero',
  RolloutComplete: 'RolloutComplete',
  NewRevisionProgressing: 'NewRevisionProgressing',
  RevisionFailed: 'RevisionFailed',
  ReplicasUnavailable: 'ReplicasUnavailable',
  AsExpected: 'AsExpected',
  ReconcileError: 'ReconcileError',
  RolledBack: 'RolledBack',
} as const;

export type ConditionStatus = Condition['status'];

export interface ConditionInput {
  type: ConditionType;
  status: ConditionStatus;
  reason: string;
  message: string;
}

/** Returns the new list: `input` replaces the condition of its type, keeping lastTransitionTime if status is unchanged. */
export function setCondition(
  conditions: Condition[],
  input: ConditionInput,
  now: string,
  generation: number | undefined,
): Condition[] {
  const existing = conditions.find((c) => c.type === input.type);
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: input.message,
    lastTransitionTime: existing && existing.status === input.status ? existing.lastTransitionTime : now,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  const others = conditions.filter((c) => c.type !== input.type);
  // A stable order keeps status writes deterministic.
  const order: string[] = Object.values(ConditionType);
  return [...others, next].sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
}

export function findCondition(
  conditions: Condition[] | undefined,
  type: ConditionType,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
