/** Which Events a reconcile records about its own writes (the rollout machine reports its decisions itself). Pure. */
import type { EventRecord } from '../kube/events.js';
import type { RevisionHealth } from '../rollout/health.js';
import type { RevisionRef } from '../rollout/machine.js';

/** What a reconcile actually did (not what it meant to do: a stale cache can repeat a decision). */
export interface Actions {
  /** The target revision's Deployment was created. */
  targetCreated: boolean;
  /** Revisions whose Deployment this reconcile deleted. */
  removed: RevisionRef[];
}

/**
 * @param previousDegradedMessage the Degraded condition's message before this reconcile, so that a failure
 *   is recorded when it appears or changes, not on every reconcile
 */
export function eventsFor(
  target: RevisionRef,
  targetHealth: RevisionHealth | undefined,
  actions: Actions,
  previousDegradedMessage: string | undefined,
): EventRecord[] {
  const events: EventRecord[] = [];
  const t = `revision ${target.revision} (version ${target.version})`;
  if (actions.targetCreated)
    events.push({ type: 'Normal', reason: 'RevisionCreated', message: `Created ${t}` });
  if (targetHealth?.state === 'Failed') {
    const message = `${t} failed (${targetHealth.reason}): ${targetHealth.message}`;
    // Recorded when the failure is new or has changed, not on every reconcile.
    if (!previousDegradedMessage?.includes(`(${targetHealth.reason}): ${targetHealth.message}`))
      events.push({ type: 'Warning', reason: 'RevisionFailed', message });
  }
  for (const r of actions.removed)
    events.push({
      type: 'Normal',
      reason: 'RevisionRemoved',
      message: `Removed revision ${r.revision} (version ${r.version})`,
    });
  return events;
}
