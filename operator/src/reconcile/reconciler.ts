/**
 * reconcile(namespace/name): observe → decide → apply the desired objects → remove the unwanted ones →
 * write status once (only if it changed) → record Events. Level-triggered and idempotent: it reads
 * everything from the informer caches, so a second run over an unchanged world makes no request.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import { ConditionType, findCondition } from '../api/v1alpha1/conditions.js';
import { withDefaults, type ModelDeployment } from '../api/v1alpha1/schema.js';
import { desiredReplicas } from '../desired/deployment.js';
import { desiredObjects } from '../desired/index.js';
import { labelKeys, revisionOf } from '../desired/names.js';
import type { Applier } from '../kube/applier.js';
import { messageOf, statusCodeOf, type KubeWriter } from '../kube/client.js';
import type { EventRecorder } from '../kube/events.js';
import { kinds, ownedKinds, type OwnedKindName } from '../resources.js';
import type { Logger } from '../telemetry/logger.js';
import { eventsFor, type Actions } from './events.js';
import { observe, ownedObjects, type Caches, type OwnedObjects } from './observe.js';
import { decide, type Decision } from './plan.js';
import { computeStatus, withReconcileError } from './status.js';

export interface ReconcileResult {
  requeueAfterMs?: number;
}

export interface ReconcilerDeps {
  caches: Caches;
  client: KubeWriter;
  applier: Applier;
  recorder: EventRecorder;
  logger: Logger;
  /** The bundled serving image, used when spec.runtime.image is not set. */
  defaultImage: string;
  now?: () => Date;
}

/** How soon to look again after a status write lost a race with another writer. */
const conflictRetryMs = 250;

export class ModelDeploymentReconciler {
  private readonly now: () => Date;

  constructor(private readonly deps: ReconcilerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const [namespace, name] = splitKey(key);
    const cached = this.deps.caches.modelDeployments.get(namespace, name);
    if (!cached) {
      // Deleted: owner references let the garbage collector remove the rest.
      this.deps.applier.forgetNamespaceName(namespace, name);
      this.deps.recorder.forget(namespace, name);
      return {};
    }
    if (cached.metadata.deletionTimestamp) return {};
    // List responses omit apiVersion and kind; Events and status writes need them.
    const { apiVersion, kind } = kinds.modelDeployment;
    const md: ModelDeployment = { ...cached, apiVersion, kind, spec: withDefaults(cached.spec) };
    const log = this.deps.logger.child({ namespace, name });
    try {
      return await this.sync(md, cached, log);
    } catch (err) {
      if (statusCodeOf(err) === 409) return { requeueAfterMs: conflictRetryMs };
      const message = `reconcile failed: ${messageOf(err)}`;
      log.error(message);
      const status = withReconcileError(cached, message, this.now().toISOString());
      if (!isDeepStrictEqual(status, cached.status)) {
        await this.deps.client.patchStatus(md, status).catch(() => undefined);
      }
      throw err;
    }
  }

  private async sync(md: ModelDeployment, cached: ModelDeployment, log: Logger): Promise<ReconcileResult> {
    const { caches, applier, client, recorder } = this.deps;
    const image = md.spec.runtime?.image ?? this.deps.defaultImage;
    const target = revisionOf(md.spec, image);
    const owned = ownedObjects(md, caches);
    const decision = decide(observe(md, owned, caches), target, md.spec.model.version);
    const actions: Actions = { targetCreated: false, switched: false, removed: [] };

    const desired = desiredObjects(md, decision, image);
    for (const obj of desired) {
      const outcome = await applier.ensure(obj, findOwned(owned, obj));
      if (outcome === 'unchanged') continue;
      log.info(`${outcome} ${obj.kind} ${obj.metadata!.name}`, { revision: decision.target });
      if (obj.kind === 'Deployment' && outcome === 'created') actions.targetCreated = true;
      if (obj.kind === 'Service' && obj.metadata!.name === md.metadata.name && outcome === 'updated')
        actions.switched = true;
    }
    for (const obj of unwanted(md, owned, desired, decision)) {
      const deleted = await applier.delete(obj);
      if (!deleted) continue;
      log.info(`deleted ${obj.kind} ${obj.metadata!.name}`);
      if (obj.kind === 'Deployment') {
        actions.removed.push({
          revision: obj.metadata!.labels![labelKeys.revision]!,
          version: obj.metadata!.labels![labelKeys.version] ?? '',
        });
      }
    }

    const previousDegraded = findCondition(cached.status?.conditions, ConditionType.Degraded);
    const previousMessage = previousDegraded?.status === 'True' ? previousDegraded.message : undefined;
    for (const e of eventsFor(decision, actions, previousMessage)) await recorder.record(md, e);

    const status = computeStatus(md, decision, desiredReplicas(md), this.now().toISOString());
    if (!isDeepStrictEqual(status, cached.status)) {
      await client.patchStatus(md, status);
      log.debug('status updated', { phase: status.phase });
    }
    return {};
  }
}

export function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

/** Cached objects carry no apiVersion/kind (list responses omit them): add them back. */
function withKinds(owned: OwnedObjects): KubernetesObject[] {
  return (Object.keys(ownedKinds) as OwnedKindName[]).flatMap((name) => {
    const { apiVersion, kind } = ownedKinds[name];
    return (owned[name] as KubernetesObject[]).map((o) => ({ ...o, apiVersion, kind }));
  });
}

function findOwned(owned: OwnedObjects, obj: KubernetesObject): KubernetesObject | undefined {
  return withKinds(owned).find((o) => o.kind === obj.kind && o.metadata?.name === obj.metadata?.name);
}

/**
 * Owned objects nobody wants any more: those of revisions that are not kept, and those of the target
 * revision that its spec no longer asks for (a budget after scaling to one replica, an autoscaler after
 * autoscaling was turned off). A kept older revision stays as it is. Deployments go last.
 */
export function unwanted(
  md: ModelDeployment,
  owned: OwnedObjects,
  desired: KubernetesObject[],
  decision: Decision,
): KubernetesObject[] {
  const wanted = new Set(desired.map((o) => `${o.kind}/${o.metadata?.name}`));
  return withKinds(owned)
    .filter((o) => !o.metadata?.deletionTimestamp)
    .filter((o) => {
      if (o.kind === 'Service' && o.metadata?.name === md.metadata.name) return false;
      const revision = o.metadata?.labels?.[labelKeys.revision];
      if (revision === undefined || !decision.keep.includes(revision)) return true;
      return revision === decision.target && !wanted.has(`${o.kind}/${o.metadata?.name}`);
    })
    .sort((a, b) => Number(a.kind === 'Deployment') - Number(b.kind === 'Deployment'));
}
