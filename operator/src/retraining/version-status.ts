/**
 * A ModelVersion's conditions. `Accepted`: True while it is on its way to serving or serves (Candidate, Validating,
 * Approved, Canary, Stable), False once it never will (Rejected, Retired); reason and message say the last step.
 * With it, kstatus' `Reconciling` and `Stalled`. Accepted comes last, so `conditions.at(-1)` is the one to show. Pure.
 */
import type { Condition } from '../api/v1alpha1/schema.js';
import type { VersionPhase } from './version-phase.js';

export const versionConditionType = 'Accepted';

/** Phases in which the operator is still working on the version (kstatus: InProgress). */
const working: readonly VersionPhase[] = ['Candidate', 'Validating', 'Canary'];

export function versionCondition(
  conditions: Condition[],
  phase: VersionPhase,
  reason: string,
  message: string,
  now: string,
): Condition[] {
  const set = (list: Condition[], type: string, status: 'True' | 'False'): Condition[] => {
    const existing = list.find((c) => c.type === type);
    const next: Condition = {
      type,
      status,
      reason,
      message,
      lastTransitionTime: existing && existing.status === status ? existing.lastTransitionTime : now,
    };
    return [...list.filter((c) => c.type !== type), next];
  };
  // kstatus' pair (Flux, kpt): Reconciling while the operator works on it, Stalled once it is Rejected for good.
  let out = set(conditions, 'Reconciling', working.includes(phase) ? 'True' : 'False');
  out = set(out, 'Stalled', phase === 'Rejected' ? 'True' : 'False');
  return set(out, versionConditionType, phase === 'Rejected' || phase === 'Retired' ? 'False' : 'True');
}
