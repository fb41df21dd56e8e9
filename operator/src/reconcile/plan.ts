/**
 * The revision decision: which revision serves, which are kept, which go. Pure: it sees only what the
 * cluster shows (owned Deployments, their pods, the main Service) and the revision the spec asks for.
 *
 * The rule, for a target revision T and the live revision L (the one the `<name>` Service selects):
 * - nothing serves yet: T becomes live at once (there is nobody to disrupt);
 * - T is L: keep only T;
 * - T is new and Available (every desired replica ready): traffic moves to T, then L is removed;
 * - T is new and not yet available, or failed: L keeps serving, both are kept, the status says why.
 * Any other revision (an abandoned intermediate one) is removed.
 */
import type { V1Deployment, V1Pod, V1Service } from '@kubernetes/client-node';
import { labelKeys } from '../desired/names.js';
import { liveRevisionOf } from '../desired/service.js';
import { assessRevision, type RevisionHealth } from './health.js';

export interface ObservedRevision {
  revision: string;
  /** The model version the revision was created for (its app.kubernetes.io/version label). */
  version: string;
  deployment: V1Deployment;
  pods: V1Pod[];
}

export interface Observed {
  revisions: ObservedRevision[];
  mainService?: V1Service;
  /** status.stable.revision as last written: the fallback when the main Service is gone. */
  lastStableRevision?: string;
}

export interface Decision {
  target: string;
  targetVersion: string;
  /** Revision the main Service selects after this reconcile. */
  live: string;
  /** Version of the live revision. */
  liveVersion: string;
  /** Live revision before this reconcile, if any revision was serving. */
  previousLive?: string;
  /** Revisions whose objects stay; every other revision's objects are deleted. */
  keep: string[];
  /** Whether the target's Deployment exists already. */
  targetExists: boolean;
  health: Record<string, RevisionHealth>;
}

export function revisionOfDeployment(d: V1Deployment): string | undefined {
  return d.metadata?.labels?.[labelKeys.revision];
}

export function decide(observed: Observed, target: string, targetVersion: string): Decision {
  const byRevision = new Map(observed.revisions.map((r) => [r.revision, r]));
  const health: Record<string, RevisionHealth> = {};
  for (const r of observed.revisions) health[r.revision] = assessRevision(r.deployment, r.pods);

  const fromService = liveRevisionOf(observed.mainService);
  const current = [fromService, observed.lastStableRevision].find(
    (r) => r !== undefined && byRevision.has(r),
  );
  const targetExists = byRevision.has(target);
  const base = { target, targetVersion, targetExists, health };

  if (current === undefined || current === target) {
    return { ...base, live: target, liveVersion: targetVersion, previousLive: current, keep: [target] };
  }
  const currentVersion = byRevision.get(current)!.version;
  if (health[target]?.state === 'Available') {
    return { ...base, live: target, liveVersion: targetVersion, previousLive: current, keep: [target] };
  }
  return {
    ...base,
    live: current,
    liveVersion: currentVersion,
    previousLive: current,
    keep: [current, target],
  };
}
