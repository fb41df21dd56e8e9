/**
 * The ModelDeployment controller: informers for ModelDeployments and everything they own, a work queue of
 * ModelDeployment keys, and the reconciler. An event on an owned object enqueues its owner (found through
 * the `modelship.dev/deployment` label, which pods carry too). Wiring only; decisions live in reconcile/.
 */
import type * as k8s from '@kubernetes/client-node';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ModelDeployment } from './api/v1alpha1/schema.js';
import { labelKeys, managedSelector } from './desired/names.js';
import { Applier } from './kube/applier.js';
import { KubeClient, type KubeWriter } from './kube/client.js';
import { EventRecorder } from './kube/events.js';
import { Informer, stripManagedFields, type InformerOptions } from './kube/informer.js';
import type { ResourceKind } from './kube/resource.js';
import type { InformerTransport } from './kube/transport.js';
import { WorkQueue } from './kube/workqueue.js';
import { realClock } from './kube/clock.js';
import { reportingFetch } from './metrics/scrape-failures.js';
import { Scraper, verifiedFetchText } from './metrics/scraper.js';
import { apiSecretGetter, cachedCaSource } from './kube/secret-ca.js';
import { ModelWatch } from './reconcile/model-watch.js';
import { CanaryAnalysis } from './reconcile/analysis.js';
import { RolloutSlots } from './reconcile/slots.js';
import type { Caches } from './reconcile/observe.js';
import { podSummary } from './reconcile/observe.js';
import { ModelDeploymentReconciler } from './reconcile/reconciler.js';
import {
  kinds,
  optionalOwnedKinds,
  ownedKinds,
  retrainingKinds,
  type OptionalKindName,
} from './resources.js';
import type { Logger } from './telemetry/logger.js';
import type { OperatorMetrics } from './telemetry/metrics.js';

export interface ControllerOptions {
  kubeConfig: k8s.KubeConfig;
  namespaces: 'all' | string[];
  logger: Logger;
  metrics: OperatorMetrics;
  serverImage: string;
  /** Where the operator runs (its pods may scrape the serving pods: the NetworkPolicies admit them). */
  operatorNamespace?: string;
  concurrency: number;
  /** New rollouts in progress at once across all ModelDeployments. */
  maxConcurrentRollouts: number;
  /** --require-model-digest: remote models without sha256 are not rolled out. @default false */
  requireModelDigest?: boolean;
  resyncPeriodMs: number;
  /** Replaces the API server for reads (unit tests: the in-memory API). @default list and watch over HTTP */
  transportFor?: (kind: ResourceKind) => InformerTransport<KubernetesObject>;
  /** Replaces the API server for writes (unit tests: the in-memory API). @default a KubeClient */
  writer?: KubeWriter;
  now?: () => Date;
}

type RequiredCaches = Omit<Caches, 'optional'>;
type InformerSet = {
  [K in keyof RequiredCaches]: Informer<
    RequiredCaches[K] extends { get(ns: string, n: string): infer T | undefined }
      ? T & KubernetesObject
      : never
  >;
};

export class Controller {
  readonly informers: InformerSet;
  /** Informers of optional kinds, started on first use (see Caches.optional). */
  private readonly optionalInformers = new Map<OptionalKindName, Informer<KubernetesObject>>();
  private readonly caches: Caches;
  private readonly makeInformer: <T extends KubernetesObject>(
    resource: ResourceKind,
    extra?: Partial<InformerOptions<T>>,
  ) => Informer<T>;
  private stopped = false;
  readonly queue: WorkQueue;
  private readonly reconciler: ModelDeploymentReconciler;
  private resyncTimer?: NodeJS.Timeout;

  constructor(private readonly o: ControllerOptions) {
    const informer = (this.makeInformer = <T extends KubernetesObject>(
      resource: ResourceKind,
      extra: Partial<InformerOptions<T>> = {},
    ): Informer<T> =>
      new Informer<T>({
        kubeConfig: o.kubeConfig,
        namespaces: o.namespaces,
        logger: o.logger,
        registry: o.metrics.registry,
        name: resource.plural,
        resource,
        transport: o.transportFor?.(resource) as InformerTransport<T> | undefined,
        // managedFields are often half of an object and never read here.
        transform: stripManagedFields,
        ...extra,
      }));
    // Owned kinds are watched with the managed-by selector: the operator caches only its own objects.
    const owned = Object.fromEntries(
      Object.entries(ownedKinds).map(([name, kind]) => [
        name,
        informer(kind, { labelSelector: managedSelector }),
      ]),
    );
    const retraining = Object.fromEntries(
      Object.entries(retrainingKinds).map(([name, kind]) => [
        name,
        informer(kind, { labelSelector: managedSelector }),
      ]),
    );
    this.informers = {
      modelDeployments: informer<ModelDeployment>(kinds.modelDeployment),
      ...owned,
      ...retraining,
      // Pods are read only to explain failures: their spec is dropped from the cache.
      pods: informer<k8s.V1Pod>(kinds.pod, { labelSelector: managedSelector, transform: podSummary }),
    } as InformerSet;
    this.queue = new WorkQueue({
      name: kinds.modelDeployment.plural,
      logger: o.logger,
      registry: o.metrics.registry,
    });
    // Scrapes of pods that serve their metrics over TLS are verified against the ca.crt of the Secret spec.tls names.
    // A scrape that fails is counted and logged (once per pod and cause), so one that can never work is visible.
    const scrapeFetch = reportingFetch(
      verifiedFetchText(cachedCaSource(apiSecretGetter(o.kubeConfig), realClock)),
      o.logger,
      o.metrics.scrapeFailures,
    );
    const writer =
      o.writer ??
      new KubeClient(
        o.kubeConfig,
        [
          kinds.modelDeployment,
          ...Object.values(ownedKinds),
          ...Object.values(optionalOwnedKinds),
          ...Object.values(retrainingKinds),
        ],
        o.metrics.apiRequests,
      );
    this.caches = { ...this.informers, optional: (name) => this.optionalCache(name) };
    this.reconciler = new ModelDeploymentReconciler({
      caches: this.caches,
      client: writer,
      applier: new Applier(writer),
      recorder: new EventRecorder(writer, o.logger, o.now),
      logger: o.logger,
      analysis: new CanaryAnalysis(new Scraper(realClock, scrapeFetch)),
      watch: new ModelWatch(realClock, scrapeFetch),
      slots: new RolloutSlots(o.maxConcurrentRollouts),
      requireModelDigest: o.requireModelDigest,
      defaultImage: o.serverImage,
      operatorNamespace: o.operatorNamespace,
      metrics: o.metrics.modelDeployments,
      now: o.now,
    });
    this.wire();
  }

  /** The cache of an optional kind once synced; the first call starts its informer (with the owner wiring). */
  private optionalCache(
    name: OptionalKindName,
  ): Caches['modelDeployments'] extends unknown ? ReturnType<Caches['optional']> : never {
    let informer = this.optionalInformers.get(name);
    if (!informer && !this.stopped) {
      informer = this.makeInformer<KubernetesObject>(optionalOwnedKinds[name], {
        labelSelector: managedSelector,
      });
      this.optionalInformers.set(name, informer);
      this.wireOwned(informer);
      void informer.start().catch(() => undefined);
    }
    return informer?.hasSynced() ? informer : undefined;
  }

  private wireOwned(informer: Informer<KubernetesObject>): void {
    const enqueueOwner = (o: KubernetesObject) => {
      const owner = o.metadata?.labels?.[labelKeys.deployment];
      if (owner) this.queue.add(`${o.metadata!.namespace}/${owner}`);
    };
    informer.on('add', enqueueOwner);
    informer.on('update', enqueueOwner);
    informer.on('delete', enqueueOwner);
  }

  private wire(): void {
    const enqueueSelf = (md: KubernetesObject) =>
      this.queue.add(`${md.metadata!.namespace}/${md.metadata!.name}`);
    const mds = this.informers.modelDeployments;
    mds.on('add', enqueueSelf);
    mds.on('update', enqueueSelf);
    mds.on('delete', enqueueSelf);
    for (const [name, informer] of Object.entries(this.informers)) {
      if (name !== 'modelDeployments') this.wireOwned(informer as Informer<KubernetesObject>);
    }
  }

  /** Starts every informer; resolves when all caches hold their first list. Safe in a standby replica. */
  async startCaches(): Promise<void> {
    await Promise.all(Object.values(this.informers).map((i) => i.start()));
  }

  hasSynced(): boolean {
    return Object.values(this.informers).every((i) => i.hasSynced());
  }

  /** Starts reconciling (call when leading), with a periodic resync of every ModelDeployment. */
  start(): void {
    this.queue.start((key) => this.timed(key), this.o.concurrency);
    const resync = () => {
      for (const md of this.informers.modelDeployments.list())
        this.queue.add(`${md.metadata!.namespace}/${md.metadata!.name}`);
    };
    resync();
    this.resyncTimer = setInterval(resync, this.o.resyncPeriodMs);
    this.resyncTimer.unref();
  }

  private async timed(key: string) {
    const end = this.o.metrics.reconcileDuration.startTimer();
    try {
      const result = await this.reconciler.reconcile(key);
      const label = result.requeueAfterMs !== undefined ? 'requeue' : 'success';
      end({ result: label });
      this.o.metrics.reconciles.inc({ result: label });
      return result;
    } catch (err) {
      end({ result: 'error' });
      this.o.metrics.reconciles.inc({ result: 'error' });
      throw err;
    }
  }

  /** Stops taking work, lets in-flight reconciles finish (bounded), then stops the informers. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    await this.queue.shutDown({ timeoutMs });
    await Promise.all(
      [...Object.values(this.informers), ...this.optionalInformers.values()].map((i) => i.stop()),
    );
  }
}
