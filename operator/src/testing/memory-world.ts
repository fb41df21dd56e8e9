/**
 * A ModelDeployment's world in memory, for unit tests of the reconcile layer: the in-memory API server, caches
 * that read it (live, or frozen at a moment to play a lagging informer), and the reconciler wired to both.
 * Not used by production code.
 */
import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import { apiVersion, kind, type ModelDeployment, type ModelDeploymentSpec } from '../api/v1alpha1/schema.js';
import { Applier } from '../kube/applier.js';
import { EventRecorder } from '../kube/events.js';
import { MemoryApi } from '../kube/testing/memory-api.js';
import type { Cache, Caches } from '../reconcile/observe.js';
import { ModelDeploymentReconciler } from '../reconcile/reconciler.js';
import {
  kinds,
  optionalOwnedKinds,
  ownedKinds,
  retrainingKinds,
  type OptionalKindName,
} from '../resources.js';
import { Registry } from 'prom-client';
import { silentLogger } from '../telemetry/logger.js';
import { ModelDeploymentMetrics } from '../telemetry/model-deployments.js';
import { Scraper } from '../metrics/scraper.js';
import { CanaryAnalysis } from '../reconcile/analysis.js';
import { RolloutSlots } from '../reconcile/slots.js';

export const namespace = 'ml';
export const image = 'modelship/server:test';

/** Every kind the operator reads or writes. */
export const allKinds = Object.values(kinds);

/** A cache over the memory API's current content (always up to date, like an informer that never lags). */
function liveCache<T extends KubernetesObject>(api: MemoryApi, k: (typeof allKinds)[number]): Cache<T> {
  return {
    get: (ns, name) => api.get<T>(k, ns, name),
    list: (ns) => api.list<T>(k).filter((o) => ns === undefined || o.metadata?.namespace === ns),
  };
}

/** Caches frozen at this moment: later writes are not seen (an informer that has not caught up). */
function frozenCache<T extends KubernetesObject>(cache: Cache<T>): Cache<T> {
  const items = cache.list();
  return {
    get: (ns, name) => items.find((o) => o.metadata?.namespace === ns && o.metadata?.name === name),
    list: (ns) => items.filter((o) => ns === undefined || o.metadata?.namespace === ns),
  };
}

export class MemoryWorld {
  /** What the reconciler reads: live views of the API, until `freeze()` makes them lag. */
  readonly caches: Caches;
  readonly reconciler: ModelDeploymentReconciler;
  readonly applier: Applier;
  readonly recorder: EventRecorder;
  /** Scrapes nothing real: the tests that judge canaries give it metrics through `metrics`. */
  readonly analysis: CanaryAnalysis;
  readonly slots: RolloutSlots;
  /** What each pod's /metrics answers (by URL), for the canary analysis' scrapes. */
  readonly metrics = new Map<string, string>();
  /** The operator's own registry, with the per-ModelDeployment series the reconciler writes. */
  readonly registry = new Registry();
  time = new Date('2026-11-01T10:00:00Z');
  /** ModelDeployments created so far: each gets a uid of its own, as on a real server. */
  private created = 0;

  /**
   * @param api an API server to share (a restarted operator); a new, empty one by default
   * @param maxConcurrentRollouts the operator's --max-concurrent-rollouts
   * @param defaultImage the operator's default serving image (another one: an upgraded operator)
   * @param requireModelDigest the operator's --require-model-digest
   */
  constructor(
    readonly api = new MemoryApi(allKinds),
    maxConcurrentRollouts = 3,
    defaultImage = image,
    requireModelDigest = false,
  ) {
    this.slots = new RolloutSlots(maxConcurrentRollouts);
    this.caches = this.live();
    this.analysis = new CanaryAnalysis(
      new Scraper(
        { now: () => this.time.getTime(), setTimeout: () => 0, clearTimeout: () => undefined },
        async (url) => {
          const text = this.metrics.get(url);
          if (text === undefined) throw new Error(`no metrics at ${url}`);
          return text;
        },
      ),
    );
    this.applier = new Applier(this.api);
    this.recorder = new EventRecorder(this.api, silentLogger(), () => this.time);
    this.reconciler = new ModelDeploymentReconciler({
      caches: this.caches,
      client: this.api,
      applier: this.applier,
      recorder: this.recorder,
      logger: silentLogger(),
      analysis: this.analysis,
      slots: this.slots,
      defaultImage,
      metrics: new ModelDeploymentMetrics(this.registry),
      now: () => this.time,
      requireModelDigest,
    });
  }

  /** A new operator process (nothing remembered) against the same API server. */
  restartOperator(): MemoryWorld {
    const world = new MemoryWorld(this.api);
    world.time = this.time;
    return world;
  }

  live(): Caches {
    const optional = Object.fromEntries(
      Object.entries(optionalOwnedKinds).map(([name, k]) => [name, liveCache(this.api, k)]),
    );
    return {
      modelDeployments: liveCache<ModelDeployment>(this.api, kinds.modelDeployment),
      deployments: liveCache(this.api, ownedKinds.deployments),
      services: liveCache(this.api, ownedKinds.services),
      podDisruptionBudgets: liveCache(this.api, ownedKinds.podDisruptionBudgets),
      horizontalPodAutoscalers: liveCache(this.api, ownedKinds.horizontalPodAutoscalers),
      configMaps: liveCache(this.api, ownedKinds.configMaps),
      serviceAccounts: liveCache(this.api, ownedKinds.serviceAccounts),
      roles: liveCache(this.api, ownedKinds.roles),
      roleBindings: liveCache(this.api, ownedKinds.roleBindings),
      cronJobs: liveCache(this.api, ownedKinds.cronJobs),
      networkPolicies: liveCache(this.api, ownedKinds.networkPolicies),
      jobs: liveCache(this.api, retrainingKinds.jobs),
      modelVersions: liveCache(this.api, retrainingKinds.modelVersions),
      pods: liveCache(this.api, kinds.pod),
      optional: (name) => optional[name],
    };
  }

  /** From now on the reconciler sees the world as it is at this moment. */
  freeze(): void {
    const live = this.live();
    const frozen: Record<string, unknown> = {};
    for (const [name, cache] of Object.entries(live))
      if (name !== 'optional') frozen[name] = frozenCache(cache as Cache<KubernetesObject>);
    const optional = Object.fromEntries(
      Object.keys(optionalOwnedKinds).map((n) => [n, frozenCache(live.optional(n as OptionalKindName)!)]),
    );
    frozen.optional = (name: OptionalKindName) => optional[name];
    Object.assign(this.caches, frozen);
  }

  /** The reconciler reads the current world again. */
  thaw(): void {
    Object.assign(this.caches, this.live());
  }

  /** Creates (or replaces the spec of) a ModelDeployment, as `kubectl apply` would. */
  applyModelDeployment(name: string, spec: ModelDeploymentSpec): ModelDeployment {
    const existing = this.api.get<ModelDeployment>(kinds.modelDeployment, namespace, name);
    const generation = (existing?.metadata.generation ?? 0) + 1;
    return this.api.put(kinds.modelDeployment, {
      apiVersion,
      kind,
      metadata: {
        ...existing?.metadata,
        name,
        namespace,
        uid: existing?.metadata.uid ?? `uid-${name}-${++this.created}`,
        generation,
      },
      spec,
      status: existing?.status,
    });
  }

  modelDeployment(name: string): ModelDeployment {
    return this.api.get<ModelDeployment>(kinds.modelDeployment, namespace, name)!;
  }

  async reconcile(name: string) {
    return this.reconciler.reconcile(`${namespace}/${name}`);
  }

  /** The owned Deployments of a ModelDeployment, by revision label. */
  deployments(name: string): V1Deployment[] {
    return this.api
      .list<V1Deployment>(ownedKinds.deployments)
      .filter((d) => d.metadata?.labels?.['modelship.dev/deployment'] === name);
  }

  /** Plays the Deployment controller: every replica of the Deployment is up to date, ready and available. */
  markAvailable(deploymentName: string): void {
    this.api.update<V1Deployment>(ownedKinds.deployments, namespace, deploymentName, (d) => {
      const replicas = d.spec?.replicas ?? 1;
      d.status = {
        observedGeneration: d.metadata?.generation,
        replicas,
        updatedReplicas: replicas,
        readyReplicas: replicas,
        availableReplicas: replicas,
        conditions: [{ type: 'Available', status: 'True' }],
      };
    });
  }

  /** Plays the Deployment controller giving up on a Deployment: its progress deadline passed. */
  markProgressDeadlineExceeded(deploymentName: string): void {
    this.api.update<V1Deployment>(ownedKinds.deployments, namespace, deploymentName, (d) => {
      d.status = {
        observedGeneration: d.metadata?.generation,
        replicas: d.spec?.replicas ?? 1,
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: `ReplicaSet "${deploymentName}-1" has timed out progressing.`,
          },
        ],
      };
    });
  }

  /** The value of one series of the operator's registry, undefined when there is no such series. */
  async sample(name: string, labels: Record<string, string>): Promise<number | undefined> {
    const metric = this.registry.getSingleMetric(name);
    const values = (await metric?.get())?.values ?? [];
    return values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
  }

  /** Requests the operator made since the last call (and forgets them). */
  takeRequests() {
    return this.api.requests.splice(0);
  }
}
