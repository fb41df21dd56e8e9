/**
 * Everything a ModelDeployment should own after a tick of the rollout machine, in the order it is applied, and the
 * replica counts of the revisions that are kept from earlier specs. Pure.
 *
 * Only the spec's own revision is built from the spec: a revision made from an earlier spec (the stable one during
 * a canary, the kept history) keeps its Deployment as it is, and only its replica count is changed, through the
 * scale subresource (as an autoscaler would).
 */
import type { KubernetesObject, V1CronJob, V1Deployment } from '@kubernetes/client-node';
import type { ModelDeployment } from '../api/v1alpha1/schema.js';
import { desiredDeployment, desiredReplicas } from '../desired/deployment.js';
import { desiredHpa } from '../desired/hpa.js';
import { revisionObjectName } from '../desired/names.js';
import { desiredNetworkPolicies } from '../desired/network-policy.js';
import { desiredPdb } from '../desired/pdb.js';
import { desiredMainService, desiredPeersService, desiredRevisionService } from '../desired/service.js';
import type { Role, RevisionRef, TickResult } from '../rollout/machine.js';
import type { RolloutPlan } from '../rollout/plan.js';
import { httpRoute } from '../traffic/gateway-api.js';
import { virtualService } from '../traffic/istio.js';
import {
  routerConfigMap,
  routerDeployment,
  routerPdb,
  routerRole,
  routerRoleBinding,
  routerSelector,
  routerServiceAccount,
} from '../traffic/router.js';
import type { TrafficSplit } from '../traffic/split.js';

/**
 * What splits traffic: Service (the `<name>` Service's selector: one revision at a time, BlueGreen without
 * spec.traffic), or spec.traffic.provider (Router by default; a Canary without spec.traffic uses the Router).
 */
export type Provider = 'Service' | 'Router' | 'GatewayAPI' | 'Istio';

export function providerOf(md: ModelDeployment, plan: RolloutPlan): Provider {
  if (md.spec.traffic) return md.spec.traffic.provider ?? 'Router';
  return plan.strategy === 'Canary' ? 'Router' : 'Service';
}

export interface ObjectsInput {
  md: ModelDeployment;
  /** The image of the spec's revision. */
  image: string;
  /** The router's image: the bundled serving image, whatever image the model runs on. */
  routerImage: string;
  plan: RolloutPlan;
  target: RevisionRef;
  result: TickResult;
  provider: Provider;
  /** The router's Deployment has every replica available (the `<name>` Service may point at it). */
  routerAvailable: boolean;
  /** spec.replicas of each existing revision Deployment (a revision without one has no Deployment yet). */
  replicas: Record<string, number | undefined>;
  /** The retraining CronJob, when spec.retraining asks for one (desired/cronjob.ts). */
  cronJob?: V1CronJob;
  /** The revisions whose pods serve TLS (the router reaches them over https). */
  tlsRevisions?: ReadonlySet<string>;
  /** The operator's namespace: its pods may read the serving pods' metrics (desired/network-policy.ts). */
  operatorNamespace: string;
}

export interface Scale {
  /** Deployment name. */
  name: string;
  replicas: number;
  /** Only scale up: a kept stable revision is never scaled down by the operator (its autoscaler may own it). */
  atLeast?: boolean;
}

/** One write, in the order they must happen. */
export type Operation = { apply: KubernetesObject } | { scale: Scale };

export interface DesiredSet {
  /**
   * Writes in a safe order: what is about to take traffic first (scale-ups, the spec's serving revision), then the
   * traffic split, then the `<name>` Service, and last what stops taking traffic (scale-downs): so traffic never
   * goes to pods that are not there yet, nor stays on pods that are going.
   */
  operations: Operation[];
  /** "Kind/name" of owned objects that stay as they are (kept revisions from earlier specs). */
  keep: Set<string>;
  /** "Kind/name" of every object applied. */
  applied: Set<string>;
}

/** The serving replica count: the spec's, and with autoscaling never below what the stable revision runs now. */
export function fullReplicas(i: ObjectsInput): number {
  const base = desiredReplicas(i.md);
  if (!i.md.spec.runtime?.autoscaling) return base;
  return Math.max(base, i.replicas[i.result.traffic.stable.revision] ?? 0);
}

export function desiredSet(i: ObjectsInput): DesiredSet {
  const { md, result, target } = i;
  const roles = new Map(result.revisions.map((r) => [r.ref.revision, r.role]));
  const before: Operation[] = [];
  const after: Operation[] = [];
  const keep = new Set<string>();
  const full = fullReplicas(i);

  const targetRole = roles.get(target.revision);
  if (targetRole) {
    const serving = targetRole === 'stable' || targetRole === 'canary' || targetRole === 'incoming';
    (serving ? before : after).push(...targetObjects(i, targetRole, full));
  }
  for (const { ref, role } of result.revisions) {
    if (ref.revision === target.revision) continue;
    const name = revisionObjectName(md, ref.revision);
    keep.add(`Deployment/${name}`);
    keep.add(`Service/${name}`);
    if (role === 'stable') {
      // Serving from an earlier spec: as it is, autoscaler and budget included; only never below full.
      keep.add(`HorizontalPodAutoscaler/${name}`);
      keep.add(`PodDisruptionBudget/${name}`);
      before.push({ scale: { name, replicas: full, atLeast: true } });
    } else if (role === 'incoming') before.push({ scale: { name, replicas: full, atLeast: true } });
    else after.push({ scale: { name, replicas: replicasFor(role, full, i.plan) } });
  }

  const split: TrafficSplit = { ...result.traffic, matches: md.spec.traffic?.match ?? [] };
  const traffic: Operation[] = trafficObjects(i, split).map((o) => ({ apply: o }));
  const main = desiredMainService(md, result.traffic.stable.revision);
  const peers = desiredPeersService(md);
  if (i.provider === 'Router' && i.routerAvailable) main.spec!.selector = routerSelector(md);
  // The retraining CronJob takes no traffic: last.
  const retraining: Operation[] = i.cronJob ? [{ apply: i.cronJob }] : [];
  // Isolation first: a pod is never reachable by more callers than the spec admits, not even while it starts.
  const isolation: Operation[] = desiredNetworkPolicies(md, {
    router: i.provider === 'Router',
    operatorNamespace: i.operatorNamespace,
  }).map((o) => ({ apply: o }));
  const operations = [
    ...isolation,
    ...before,
    ...traffic,
    { apply: main },
    ...(peers ? [{ apply: peers }] : []),
    ...after,
    ...retraining,
  ];
  const applied = new Set(
    operations.flatMap((o) => ('apply' in o ? [`${o.apply.kind}/${o.apply.metadata!.name}`] : [])),
  );
  return { operations, keep, applied };
}

function replicasFor(role: Role, full: number, plan: RolloutPlan): number {
  if (role === 'history') return plan.warmReplicas;
  if (role === 'rejected') return 0;
  return full;
}

/** The spec's revision: built from the spec, at the replicas its role asks for. */
function targetObjects(i: ObjectsInput, role: Role, full: number): Operation[] {
  const { md, image, target } = i;
  const serving = role === 'stable' || role === 'canary' || role === 'incoming';
  const deployment: V1Deployment = desiredDeployment(md, target.revision, image);
  if (!serving) deployment.spec!.replicas = replicasFor(role, full, i.plan);
  const ops: Operation[] = [{ apply: deployment }, { apply: desiredRevisionService(md, target.revision) }];
  if (serving) {
    for (const o of [desiredPdb(md, target.revision), desiredHpa(md, target.revision)])
      if (o) ops.push({ apply: o });
    // With an autoscaler the replica count is its own; a new revision starts at the stable one's count (once, when it
    // is created: afterwards its own autoscaler decides).
    const created = !(target.revision in i.replicas);
    if (md.spec.runtime?.autoscaling && role !== 'stable' && created)
      ops.push({ scale: { name: revisionObjectName(md, target.revision), replicas: full, atLeast: true } });
  }
  return ops;
}

function trafficObjects(i: ObjectsInput, split: TrafficSplit): KubernetesObject[] {
  const { md } = i;
  switch (i.provider) {
    case 'Service':
      return [];
    case 'Router':
      return [
        routerServiceAccount(md),
        routerRole(md),
        routerRoleBinding(md),
        routerConfigMap(md, split, i.tlsRevisions),
        routerDeployment(md, i.routerImage),
        routerPdb(md),
      ];
    case 'GatewayAPI':
      return [httpRoute(md, split)];
    case 'Istio':
      return [virtualService(md, split)];
  }
}
