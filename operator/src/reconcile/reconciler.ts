/**
 * reconcile(namespace/name): observe → judge the canary when due → tick the rollout machine → write what should
 * exist, in a safe order → remove what should not → write status once (only if it changed) → record Events.
 * Level-triggered and idempotent: it reads everything from the informer caches, so a second run over an unchanged
 * world makes no request (a canary in progress scrapes its pods' metrics, which is not an API request).
 */
import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import { ConditionType, findCondition, setCondition } from '../api/v1alpha1/conditions.js';
import { parseDuration } from '../api/v1alpha1/duration.js';
import {
  withDefaults,
  type ModelDeployment,
  type ModelDeploymentSpec,
  type ModelDeploymentStatus,
} from '../api/v1alpha1/schema.js';
import { desiredReplicas } from '../desired/deployment.js';
import { labelKeys, revisionObjectName, revisionOf } from '../desired/names.js';
import { serverContainerName } from '../desired/pod.js';
import { deploymentServesTls, servesTls } from '../desired/security.js';
import type { Applier } from '../kube/applier.js';
import { messageOf, statusCodeOf, type KubeWriter } from '../kube/client.js';
import type { EventRecorder } from '../kube/events.js';
import { assessRevision, type RevisionHealth } from '../rollout/health.js';
import {
  checksDue,
  judgementDue,
  tick,
  type RevisionRef,
  type RolloutState,
  type TickResult,
} from '../rollout/machine.js';
import { rolloutPlan, type RolloutPlan } from '../rollout/plan.js';
import { pendingRequest } from '../rollout/requests.js';
import { kinds, optionalOwnedKinds, ownedKinds, type OptionalKindName } from '../resources.js';
import type { ResourceKind } from '../kube/resource.js';
import type { Logger } from '../telemetry/logger.js';
import type { ModelDeploymentMetrics } from '../telemetry/model-deployments.js';
import { routerName } from '../traffic/router.js';
import { defaultOperatorNamespace } from '../rbac.js';
import type { ModelVersion } from '../api/v1alpha1/model-version.js';
import { desiredCronJob, manualTrainingJob, type StableModel } from '../desired/cronjob.js';
import { combine, decideDrift, podDrift, retrainStarted, type PodDrift } from '../monitoring/drift.js';
import { feedbackStatus, podFeedback } from '../monitoring/feedback.js';
import { planRegistry } from '../retraining/registry.js';
import { chooseModel, servedCard, phasesAfterTick, type Choice } from '../retraining/serving.js';
import {
  applyRegistry,
  observeRetraining,
  writeStatus,
  type RetrainingObservation,
} from '../retraining/sync.js';
import type { CanaryAnalysis } from './analysis.js';
import type { ModelWatch } from './model-watch.js';
import { eventsFor, type Actions } from './events.js';
import { desiredSet, providerOf, type Provider } from './objects.js';
import { observe, ownedObjects, type Caches, type Observed, type OwnedObjects } from './observe.js';
import type { RolloutSlots } from './slots.js';
import { computeStatus, withReconcileError } from './status.js';
import { digestRefusal, digestRequiredReason, isNewRefusal, refusedStatus } from './digest-policy.js';

export interface ReconcileResult {
  requeueAfterMs?: number;
}

export interface ReconcilerDeps {
  caches: Caches;
  client: KubeWriter;
  applier: Applier;
  recorder: EventRecorder;
  logger: Logger;
  analysis: CanaryAnalysis;
  /** Reads what the serving pods watch (spec.monitoring); without it nothing is read. */
  watch?: ModelWatch;
  slots: RolloutSlots;
  /** The bundled serving image, used when spec.runtime.image is not set (and always for the router). */
  defaultImage: string;
  /** The operator's own namespace (its pods read the serving pods' metrics). @default modelship-system */
  operatorNamespace?: string;
  /** Per-ModelDeployment series for alerts and dashboards; none in tests that do not look at them. */
  metrics?: ModelDeploymentMetrics;
  now?: () => Date;
  /** --require-model-digest: a remote model without sha256 is never rolled out (reconcile/digest-policy.ts). */
  requireModelDigest?: boolean;
}

/** How soon to look again after a status write lost a race with another writer. */
const conflictRetryMs = 250;
/** How soon to look again while waiting for a rollout slot. */
const slotRetryMs = 5000;
/** How soon to look again while the cache has not shown this process' last status write (its watch event wakes us sooner). */
const staleStatusRetryMs = 1000;
/** How long to wait for the cache to show a status write before trusting it again (as the Applier's expectations). */
export const statusExpectationMs = 60_000;

export class ModelDeploymentReconciler {
  private readonly now: () => Date;
  /**
   * Per key, the resourceVersion our last status write replaced, and when: while the cache still shows that
   * version, it predates our write, and a reconcile from it would act on a rollout step already taken (a second
   * Event, a status write bound to fail).
   */
  private readonly statusWrites = new Map<string, { replaced: string; at: number }>();

  constructor(private readonly deps: ReconcilerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const [namespace, name] = splitKey(key);
    const cached = this.deps.caches.modelDeployments.get(namespace, name);
    if (!cached) {
      // Deleted: owner references let the garbage collector remove the rest.
      this.deps.applier.forget(key);
      this.deps.recorder.forget(namespace, name);
      this.deps.analysis.forget(key);
      this.deps.watch?.forget(key);
      this.deps.slots.release(key);
      this.deps.metrics?.forget(namespace, name);
      this.statusWrites.delete(key);
      return {};
    }
    if (cached.metadata.deletionTimestamp) return {};
    if (this.predatesOwnStatusWrite(key, cached)) return { requeueAfterMs: staleStatusRetryMs };
    // List responses omit apiVersion and kind; Events and status writes need them.
    const { apiVersion, kind } = kinds.modelDeployment;
    const base: ModelDeployment = { ...cached, apiVersion, kind, spec: withDefaults(cached.spec) };
    const log = this.deps.logger.child({ namespace, name });
    // Retraining: which model serves (spec.model, or a promoted ModelVersion in its place). Every decision below
    // works on the spec with that model; the object's spec itself is never written.
    const retraining = observeRetraining(base, this.deps.caches);
    const choice = chooseModel(base, retraining.versions, this.now());
    const md: ModelDeployment = {
      ...base,
      spec: { ...base.spec, model: choice.model, modelCard: servedCard(base, choice) },
    };
    try {
      return await this.sync(key, md, cached, log, { ...retraining, choice, spec: base.spec });
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

  /** True while the cache shows the version our last status write replaced (and not for longer than the expectation). */
  private predatesOwnStatusWrite(key: string, cached: ModelDeployment): boolean {
    const write = this.statusWrites.get(key);
    if (!write) return false;
    if (
      cached.metadata.resourceVersion === write.replaced &&
      this.now().getTime() - write.at < statusExpectationMs
    )
      return true;
    this.statusWrites.delete(key);
    return false;
  }

  private async sync(
    key: string,
    md: ModelDeployment,
    cached: ModelDeployment,
    log: Logger,
    retraining: Retraining,
  ): Promise<ReconcileResult> {
    const { caches } = this.deps;
    const now = this.now();
    const image = md.spec.runtime?.image ?? this.deps.defaultImage;
    if (md.spec.retraining || retraining.versions.length) {
      const registry = planRegistry({ md, ...retraining, specModel: retraining.spec.model, now });
      await applyRegistry(md, registry, retraining.versions, {
        client: this.deps.client,
        recorder: this.deps.recorder,
        log,
        image,
        now,
      });
    }
    const plan = rolloutPlan(md.spec);
    const provider = providerOf(md, plan);
    const target: RevisionRef = { revision: revisionOf(md.spec, image), version: md.spec.model.version };
    const optional = optionalKindsOf(provider);
    for (const name of optional)
      if (!caches.optional(name)) {
        const k = optionalOwnedKinds[name];
        throw new Error(
          `provider ${provider} needs the ${k.kind} API (${k.apiVersion}), which this cluster does not serve (yet): install its CRDs`,
        );
      }
    const owned = ownedObjects(md, caches, optional);
    const observed = observe(md, owned, caches);
    const health: Record<string, RevisionHealth | undefined> = {};
    const zeroRequested = desiredReplicas(md) === 0;
    for (const r of observed.revisions)
      health[r.revision] = assessRevision(r.deployment, r.pods, zeroRequested);

    let state = stateFrom(md, observed, target);
    const pending = pendingRequest(md.metadata.annotations, state.lastRequest);
    if (pending && 'invalid' in pending) state = { ...state, lastRequest: pending.invalid };
    const request = pending && 'request' in pending ? pending.request : undefined;

    // The digest policy: a refused model never rolls out; what serves (if anything) stays as it is.
    const refused = digestRefusal(md.spec.model, this.deps.requireModelDigest ?? false);
    if (refused && !state.stable) return this.refuse(key, md, cached, refused, log);

    // What finish() needs besides the tick's result.
    const applied = {
      key,
      md,
      cached,
      plan,
      provider,
      image,
      target,
      health,
      owned,
      observed,
      now,
      log,
      retraining,
    };

    if (refused) {
      const result = tick(state, { now, plan, target: state.stable!, health });
      return this.finish({ ...applied, result, refused });
    }

    // A rollout nobody asked for (a new default serving image in an operator upgrade, which changes every revision)
    // waits for a slot, so that the fleet does not roll at once; a user's own change never waits behind others.
    const unasked = state.stable !== undefined && isImageOnlyChange(md.spec, state.stable, observed);
    const startsRollout =
      unasked &&
      target.revision !== state.stable!.revision &&
      !state.canary &&
      state.rejected?.revision !== target.revision;
    if (startsRollout && !this.deps.slots.acquire(key)) {
      const queued = `waiting for a rollout slot (${this.deps.slots.describe()}) to roll out revision ${target.revision} (version ${target.version})`;
      // The machine sees no new revision yet: what serves stays as it is.
      const result = tick(state, { now, plan, target: state.stable!, health });
      return this.finish({ ...applied, result, queued });
    }

    // Judge the canary when due, on metrics gathered since it started.
    let judgement;
    if (state.canary && state.stable) {
      const input = {
        key,
        namespace: md.metadata.namespace!,
        name: md.metadata.name!,
        plan,
        provider,
        stable: state.stable,
        canary: state.canary,
        pods: observed.pods,
      };
      await this.deps.analysis.observe(input);
      if (judgementDue(state, plan, now))
        judgement = await this.deps.analysis.judge(input, checksDue(state, plan));
    }
    const result = tick(state, { now, plan, target, health, judgement, request });
    if (!result.state.canary) this.deps.analysis.forget(key);
    const inProgress =
      result.state.canary !== undefined || result.revisions.some((r) => r.role === 'incoming');
    if (inProgress && unasked) this.deps.slots.hold(key);
    else this.deps.slots.release(key);
    return this.finish({ ...applied, result });
  }

  /**
   * The spec's model is refused and nothing serves yet: nothing is created, the status says why (Ready False) and a
   * Warning Event says it once.
   */
  private async refuse(
    key: string,
    md: ModelDeployment,
    cached: ModelDeployment,
    message: string,
    log: Logger,
  ): Promise<ReconcileResult> {
    if (isNewRefusal(cached.status, message)) {
      log.warn('model refused by the digest policy', { reason: digestRequiredReason });
      await this.deps.recorder.record(md, { type: 'Warning', reason: digestRequiredReason, message });
    }
    const status = refusedStatus(
      cached.status,
      message,
      false,
      md.metadata.generation,
      this.now().toISOString(),
    );
    if (!isDeepStrictEqual(status, cached.status)) {
      const written = await this.deps.client.patchStatus(md, status);
      const replaced = cached.metadata.resourceVersion;
      if (replaced && written && written !== replaced)
        this.statusWrites.set(key, { replaced, at: this.now().getTime() });
    }
    return {};
  }

  /** Applies a tick's result: the objects in a safe order, deletions, Events, then the status. */
  private async finish(o: {
    key: string;
    md: ModelDeployment;
    cached: ModelDeployment;
    plan: RolloutPlan;
    provider: Provider;
    image: string;
    /** The spec's own revision: the only one built from the spec. */
    target: RevisionRef;
    result: TickResult;
    health: Record<string, RevisionHealth | undefined>;
    owned: OwnedObjects;
    observed: Observed;
    now: Date;
    log: Logger;
    /** Why a new rollout has not started yet (no rollout slot). */
    queued?: string;
    /** Why the spec's model may not roll out at all (the digest policy). */
    refused?: string;
    retraining: Retraining;
  }): Promise<ReconcileResult> {
    const { client, recorder } = this.deps;
    const { key, md, cached, plan, provider, image, target, result, health, owned, observed, now, log } = o;
    const { choice, versions } = o.retraining;
    const replicas: Record<string, number | undefined> = {};
    for (const r of observed.revisions) replicas[r.revision] = r.deployment.spec?.replicas ?? 1;
    // Each revision as its own spec made it: the spec's from the spec, older ones from their Deployments.
    const tlsRevisions = new Set(
      observed.revisions.filter((r) => deploymentServesTls(r.deployment)).map((r) => r.revision),
    );
    if (servesTls(md)) tlsRevisions.add(target.revision);
    else tlsRevisions.delete(target.revision);
    const router = owned.deployments.find((d) => d.metadata?.name === routerName(md));
    const set = desiredSet({
      md,
      image,
      routerImage: this.deps.defaultImage,
      plan,
      target,
      result,
      provider,
      routerAvailable: router !== undefined && assessRevision(router, []).state === 'Available',
      replicas,
      tlsRevisions,
      cronJob: desiredCronJob(
        md,
        stableModel(result.state.stable?.version, choice, versions, o.retraining.spec),
      ),
      operatorNamespace: this.deps.operatorNamespace ?? defaultOperatorNamespace,
    });
    const actions: Actions = { targetCreated: false, removed: [] };
    const targetDeployment = revisionObjectName(md, target.revision);
    /** Deployments this reconcile created, with the replicas they were created with (the cache has them not yet). */
    const created = new Map<string, number>();
    for (const op of set.operations) {
      if ('apply' in op) {
        const obj = op.apply;
        const outcome = await this.deps.applier.ensure(obj, findOwned(owned, obj), key);
        if (outcome === 'unchanged') continue;
        log.info(`${outcome} ${obj.kind} ${obj.metadata!.name}`, { revision: target.revision });
        if (obj.kind === 'Deployment' && outcome === 'created')
          created.set(obj.metadata!.name!, (obj as V1Deployment).spec?.replicas ?? 1);
        if (obj.kind === 'Deployment' && obj.metadata!.name === targetDeployment && outcome === 'created')
          actions.targetCreated = true;
      } else {
        const d = owned.deployments.find((x) => x.metadata?.name === op.scale.name);
        const current = d ? (d.spec?.replicas ?? 1) : created.get(op.scale.name);
        if (current === undefined || current === op.scale.replicas) continue;
        if (op.scale.atLeast && current >= op.scale.replicas) continue;
        await client.scale(
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: { name: op.scale.name, namespace: md.metadata.namespace },
          },
          op.scale.replicas,
        );
        log.info(`scaled Deployment ${op.scale.name} from ${current} to ${op.scale.replicas}`);
      }
    }
    for (const obj of unwanted(owned, set.applied, set.keep)) {
      if (!(await this.deps.applier.delete(obj))) continue;
      log.info(`deleted ${obj.kind} ${obj.metadata!.name}`);
      const revision = obj.metadata?.labels?.[labelKeys.revision];
      if (obj.kind === 'Deployment' && revision)
        actions.removed.push({ revision, version: obj.metadata?.labels?.[labelKeys.version] ?? '' });
    }

    const previousDegraded = findCondition(cached.status?.conditions, ConditionType.Degraded);
    const previousMessage = previousDegraded?.status === 'True' ? previousDegraded.message : undefined;
    const events = [
      ...result.events,
      ...eventsFor(target, health[target.revision], actions, previousMessage),
    ];
    for (const e of events) await recorder.record(md, e);

    // The versions follow the rollout: Canary, Stable, Rejected when rolled back, Retired when replaced.
    for (const [name, status] of phasesAfterTick(versions, choice, target.revision, result.state, now)) {
      const v = versions.find((x) => x.metadata.name === name)!;
      await writeStatus(v, status, { client, recorder, log, image, now });
      if (status.phase !== v.status?.phase && (status.phase === 'Stable' || status.phase === 'Rejected'))
        await recorder.record(md, {
          type: status.phase === 'Stable' ? 'Normal' : 'Warning',
          reason: status.phase === 'Stable' ? 'VersionServing' : 'VersionRejected',
          message: `version ${v.spec.model.version} (ModelVersion ${name}): ${status.conditions?.at(-1)?.message ?? status.phase}`,
        });
    }

    const status = computeStatus(md, result, health, desiredReplicas(md), now.toISOString());
    if (md.spec.retraining || versions.length || cached.status?.model) status.model = choice.served;
    if (o.queued) {
      status.phase = 'Progressing';
      status.conditions = setCondition(
        status.conditions ?? [],
        { type: ConditionType.Progressing, status: 'True', reason: 'RolloutQueued', message: o.queued },
        now.toISOString(),
        md.metadata.generation,
      );
    }
    if (o.refused) {
      if (isNewRefusal(cached.status, o.refused))
        await recorder.record(md, { type: 'Warning', reason: digestRequiredReason, message: o.refused });
      Object.assign(
        status,
        refusedStatus(status, o.refused, true, md.metadata.generation, now.toISOString()),
      );
    }
    const watchDueMs = await this.watchModel(o, status);
    if (!isDeepStrictEqual(status, cached.status)) {
      const written = await client.patchStatus(md, status);
      const replaced = cached.metadata.resourceVersion;
      if (replaced && written && written !== replaced)
        this.statusWrites.set(key, { replaced, at: this.now().getTime() });
      log.debug('status updated', { phase: status.phase });
    }
    // After the status write: a write that lost a race throws above, and the retry decides (and counts) again.
    this.deps.metrics?.reconciled(md, status, events);
    const requeue = [o.queued ? slotRetryMs : result.requeueAfterMs, watchDueMs].filter(
      (x): x is number => x !== undefined,
    );
    return { requeueAfterMs: requeue.length ? Math.min(...requeue) : undefined };
  }

  /**
   * spec.monitoring: reads the stable revision's pods when due; sets status.drift, the Drifted condition and
   * status.feedback, records Events, and starts a retraining run when drift calls for one. Returns when to read
   * again (ms), undefined without monitoring.
   */
  private async watchModel(
    o: {
      key: string;
      md: ModelDeployment;
      cached: ModelDeployment;
      result: TickResult;
      observed: Observed;
      owned: OwnedObjects;
      now: Date;
      log: Logger;
    },
    status: ModelDeploymentStatus,
  ): Promise<number | undefined> {
    const { key, md, cached, now } = o;
    const { drift, feedback, interval } = md.spec.monitoring ?? {};
    if (!drift && status.conditions?.some((c) => c.type === ConditionType.Drifted))
      status.conditions = status.conditions.filter((c) => c.type !== ConditionType.Drifted);
    if ((!drift && !feedback) || !this.deps.watch) return undefined;
    const intervalMs = parseDuration(interval ?? '30s');
    const pods = await this.deps.watch.read(
      key,
      o.observed.pods,
      o.result.traffic.stable.revision,
      intervalMs,
    );
    if (!pods) {
      if (drift && cached.status?.drift) status.drift = cached.status.drift;
      if (feedback && cached.status?.feedback) status.feedback = cached.status.feedback;
      return this.deps.watch.dueInMs(key, intervalMs);
    }
    if (feedback) status.feedback = feedbackStatus(pods.map(podFeedback), now);
    if (drift) await this.decideDrift(o, status, combine(pods.map(podDrift)));
    return this.deps.watch.dueInMs(key, intervalMs);
  }

  private async decideDrift(
    o: { md: ModelDeployment; cached: ModelDeployment; owned: OwnedObjects; now: Date; log: Logger },
    status: ModelDeploymentStatus,
    reading: PodDrift,
  ): Promise<void> {
    const { md, now } = o;
    const spec = md.spec.monitoring!.drift!;
    const retraining = md.spec.retraining;
    let d = decideDrift({
      spec: { threshold: spec.threshold ?? 0.2, minSamples: spec.minSamples ?? 200, features: spec.features },
      reading,
      previous: o.cached.status?.drift,
      now,
      onDrift: retraining && {
        enabled: retraining.onDrift ?? false,
        cooldownMs: parseDuration(retraining.cooldown ?? '6h'),
      },
    });
    const cronJob = o.owned.cronJobs[0];
    if (d.retrain && cronJob?.metadata?.uid) {
      const job = manualTrainingJob(
        { ...cronJob, apiVersion: 'batch/v1', kind: 'CronJob' },
        now.getTime().toString(36),
        'drift',
      );
      await this.deps.client.apply(job);
      o.log.info(`input drift started training run ${job.metadata!.name}`);
      d = retrainStarted(d, job.metadata!.name!, now);
    }
    status.drift = d.status;
    status.conditions = setCondition(
      status.conditions ?? [],
      d.condition,
      now.toISOString(),
      md.metadata.generation,
    );
    for (const e of d.events) await this.deps.recorder.record(md, e);
  }
}

/**
 * True when the spec's revision differs from the stable one only by the operator's default serving image: the spec
 * names no image, and the stable revision's hash is what the spec gives with the image the stable pods run.
 */
export function isImageOnlyChange(
  spec: ModelDeploymentSpec,
  stable: RevisionRef,
  observed: Observed,
): boolean {
  if (spec.runtime?.image !== undefined) return false;
  const deployment = observed.revisions.find((r) => r.revision === stable.revision)?.deployment;
  const running = deployment?.spec?.template.spec?.containers.find(
    (c) => c.name === serverContainerName,
  )?.image;
  return running !== undefined && revisionOf(spec, running) === stable.revision;
}

/**
 * The rollout state from the status. The stable revision is the status' when its Deployment is there (or the spec's
 * own revision, whose Deployment may just not be in the cache yet); without one, the revision the `<name>` Service
 * selects (objects made before the status recorded it); else none (nothing serves: the spec's revision will).
 */
export function stateFrom(md: ModelDeployment, observed: Observed, target: RevisionRef): RolloutState {
  const st = md.status ?? {};
  const exists = (revision: string) => observed.revisions.some((r) => r.revision === revision);
  let stable: RevisionRef | undefined;
  if (st.stable && (exists(st.stable.revision) || st.stable.revision === target.revision))
    stable = { revision: st.stable.revision, version: st.stable.version };
  else {
    const selected = observed.revisions.find((r) => r.revision === observed.liveRevision);
    if (selected) stable = { revision: selected.revision, version: selected.version };
  }
  return {
    stable,
    canary: st.canary,
    rejected: st.rejected,
    history: st.history ?? [],
    lastRequest: st.lastRequest,
  };
}

/** What retraining saw and chose for this reconcile. */
interface Retraining extends RetrainingObservation {
  choice: Choice;
  /** The spec as the user wrote it (with defaults), before a ModelVersion took spec.model's place. */
  spec: ModelDeploymentSpec;
}

/** The model serving now (the stable revision's), for the next training run's MODELSHIP_STABLE_* variables. */
function stableModel(
  version: string | undefined,
  choice: Choice,
  versions: ModelVersion[],
  spec: ModelDeploymentSpec,
): StableModel | undefined {
  if (version === undefined) return undefined;
  if (choice.model.version === version) return { version, storageUri: choice.model.storageUri };
  const mv = versions.find((v) => v.spec.model.version === version);
  if (mv) return { version, storageUri: mv.spec.model.storageUri };
  if (spec.model.version === version) return { version, storageUri: spec.model.storageUri };
  return { version };
}

export function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

/** Cached objects carry no apiVersion/kind (list responses omit them): add them back. */
function withKinds(owned: OwnedObjects): KubernetesObject[] {
  const all: Record<string, ResourceKind> = { ...ownedKinds, ...optionalOwnedKinds };
  return Object.entries(all).flatMap(([name, { apiVersion, kind }]) =>
    (owned[name as keyof OwnedObjects] as KubernetesObject[]).map((o) => ({ ...o, apiVersion, kind })),
  );
}

/** The optional kinds a provider writes. */
function optionalKindsOf(provider: Provider): OptionalKindName[] {
  if (provider === 'GatewayAPI') return ['httpRoutes'];
  if (provider === 'Istio') return ['virtualServices'];
  return [];
}

function findOwned(owned: OwnedObjects, obj: KubernetesObject): KubernetesObject | undefined {
  return withKinds(owned).find((o) => o.kind === obj.kind && o.metadata?.name === obj.metadata?.name);
}

/** Owned objects nobody wants any more: neither applied this time nor kept as they are. Deployments go last. */
export function unwanted(owned: OwnedObjects, applied: Set<string>, keep: Set<string>): KubernetesObject[] {
  return withKinds(owned)
    .filter((o) => !o.metadata?.deletionTimestamp)
    .filter((o) => {
      const id = `${o.kind}/${o.metadata?.name}`;
      return !applied.has(id) && !keep.has(id);
    })
    .sort((a, b) => Number(a.kind === 'Deployment') - Number(b.kind === 'Deployment'));
}
