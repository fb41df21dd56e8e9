/** Which Events a reconcile should record, from what changed. Pure. */
import type { EventRecord } from '../kube/events.js';
import type { Decision } from './plan.js';

/** What a reconcile actually did (not what it meant to do: a stale cache can repeat a decision). */
export interface Actions {
  /** The target revision's Deployment was created. */
  targetCreated: boolean;
  /** The main Service's selector was changed to the live revision. */
  switched: boolean;
  /** Revisions whose Deployment this reconcile deleted. */
  removed: { revision: string; version: string }[];
}

/**
 * @param previousDegradedMessage the Degraded condition's message before this reconcile, so that a failure
 *   is recorded when it appears or changes, not on every reconcile
 */
export function eventsFor(
  decision: Decision,
  actions: Actions,
  previousDegradedMessage: string | undefined,
): EventRecord[] {
  const { removed } = actions;
  const events: EventRecord[] = [];
  const t = `revision ${decision.target} (version ${decision.targetVersion})`;
  if (actions.targetCreated)
    events.push({ type: 'Normal', reason: 'RevisionCreated', message: `Created ${t}` });
  if (actions.switched && decision.previousLive !== undefined && decision.previousLive !== decision.live) {
    const from = removed.find((r) => r.revision === decision.previousLive);
    events.push({
      type: 'Normal',
      reason: 'TrafficSwitched',
      message: `Traffic moved from revision ${decision.previousLive}${from ? ` (version ${from.version})` : ''} to revision ${decision.live} (version ${decision.liveVersion})`,
    });
  }
  const target = decision.health[decision.target];
  if (target?.state === 'Failed') {
    const message = `${t} failed (${target.reason}): ${target.message}`;
    // Recorded when the failure is new or has changed, not on every reconcile.
    if (!previousDegradedMessage?.includes(`(${target.reason}): ${target.message}`)) {
      events.push({ type: 'Warning', reason: 'RevisionFailed', message });
    }
  }
  for (const r of removed) {
    events.push({
      type: 'Normal',
      reason: 'RevisionRemoved',
      message: `Removed revision ${r.revision} (version ${r.version})`,
    });
  }
  return events;
}
