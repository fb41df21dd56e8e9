/**
 * A ModelVersion's one condition, `Ready`-style but named for what a version is: `Accepted` True while it is on its
 * way to serving or serves (Candidate, Validating, Approved, Canary, Stable), False once it never will (Rejected,
 * Retired); reason and message say the last step. Pure.
 */
import type { Condition } from '../api/v1alpha1/schema.js';
import type { VersionPhase } from './version-phase.js';

export const versionConditionType = 'Accepted';

export function versionCondition(
  conditions: Condition[],
  phase: VersionPhase,
  reason: string,
  message: string,
  now: string,
): Condition[] {
  const status = phase === 'Rejected' || phase === 'Retired' ? 'False' : 'True';
  const existing = conditions.find((c) => c.type === versionConditionType);
  const next: Condition = {
    type: versionConditionType,
    status,
    reason,
    message,
    lastTransitionTime: existing && existing.status === status ? existing.lastTransitionTime : now,
  };
  return [...conditions.filter((c) => c.type !== versionConditionType), next];
}
