/** How traffic is split between revisions after a tick, as every provider renders it. Pure. */
import type { RevisionRef } from '../rollout/machine.js';

export interface HeaderRoute {
  header: string;
  value: string;
}

export interface TrafficSplit {
  stable: RevisionRef;
  /** A canary taking part of the traffic (weight may be 0 right after it starts or is rolled back). */
  canary?: RevisionRef;
  /** Percent of traffic for the canary, 0-100; the stable revision takes the rest. */
  canaryWeight: number;
  /** Requests carrying one of these headers go to the canary whatever the weight (only while there is one). */
  matches: HeaderRoute[];
  /** A revision that gets a mirrored copy of the requests, its answers compared and dropped (Router only). */
  shadow?: { ref: RevisionRef; tolerance: { absolute: number; relative: number } };
}

/**
 * The split as (revision, weight) pairs, stable first. A canary at weight 0 is left out, unless `idleCanary` is
 * `'keep'`: gateways built on Envoy (Contour, Envoy Gateway, Istio) create a backend's cluster only once a route
 * names it, and its endpoints reach Envoy a moment later; naming the canary at weight 0 from the moment it exists
 * lets the gateway warm it, so the first shift of weight finds endpoints instead of "no healthy upstream" (Argo
 * Rollouts' traffic routers keep both backends in the route for the same reason).
 */
export function weightsOf(
  split: TrafficSplit,
  idleCanary: 'omit' | 'keep' = 'omit',
): { revision: string; weight: number }[] {
  const out = [{ revision: split.stable.revision, weight: 100 - (split.canary ? split.canaryWeight : 0) }];
  if (split.canary && (split.canaryWeight > 0 || idleCanary === 'keep'))
    out.push({ revision: split.canary.revision, weight: split.canaryWeight });
  return out;
}
