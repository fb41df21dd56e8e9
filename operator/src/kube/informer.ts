import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { Logger } from '../telemetry/logger.js';
import type { BackoffOptions } from './backoff.js';
import { realClock, type Clock } from './clock.js';
import { counterOn } from './metrics.js';
import { ObjectCache, type CacheDelta } from './object-cache.js';
import { Reflector, type RestartReason } from './reflector.js';
import type { ResourceKind } from './resource.js';
import { kubeTransport, type InformerTransport } from './transport.js';

export interface InformerOptions<T> {
  /** Names this informer in logs and in the `resource` label of metrics, e.g. "modeldeployments". */
  name: string;
  /** Cluster and credentials. Required unless `transport` is given. */
  kubeConfig?: KubeConfig;
  /** What to list and watch. Required unless `transport` is given. */
  resource?: ResourceKind;
  /**
   * 'all' (also for cluster-scoped resources) or a list of namespaces, each listed and watched on its own
   * and merged into one cache. @default 'all'
   */
  namespaces?: 'all' | readonly string[];
  /** Only objects matching this label selector are cached, e.g. "app.kubernetes.io/managed-by=modelship". */
  labelSelector?: string;
  logger: Logger;
  registry: Registry;
  /** Objects per list page. @default 500 */
  pageSize?: number;
  /** Server-side watch timeout; each watch adds up to `watchTimeoutJitter` × this at random. @default 300 */
  watchTimeoutSeconds?: number;
  /** @default 1 (watches last 5 to 10 minutes, as client-go's do) */
  watchTimeoutJitter?: number;
  /** A watch is presumed dead after its timeout plus this without any sign of life. @default 30_000 */
  watchStallGraceMs?: number;
  /** See ReflectorOptions.healthyWatchMs. @default 10_000 */
  healthyWatchMs?: number;
  /** Retry delays after failures. @default 200 ms doubling to 30 s, plus up to 20 % jitter */
  backoff?: BackoffOptions;
  clock?: Clock;
  random?: () => number;
  /** Replaces the API server access (unit tests). */
  transport?: InformerTransport<T>;
  /**
   * Applied to every object before it is cached (and before handlers see it), e.g. `stripManagedFields`,
   * so that the cache holds only what readers use. Must be pure and keep metadata.name/namespace/resourceVersion.
   */
  transform?: (obj: T) => T;
}

/**
 * Drops metadata.managedFields: often the largest part of an object and never read by the operator
 * (controller-runtime's default cache transform does the same).
 */
export function stripManagedFields<T extends KubernetesObject>(obj: T): T {
  if (!obj.metadata?.managedFields) return obj;
  const { managedFields: _dropped, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/** Handlers by event. `update` receives the new object first, then the one it replaces. */
export interface InformerHandlers<T> {
  add: (obj: T) => unknown;
  update: (newObj: T, oldObj: T) => unknown;
  delete: (obj: T) => unknown;
}

/**
 * A list+watch cache of one resource kind (client-go's SharedInformer): lists, then watches with bookmarks,
 * keeps a local read-only copy of every object, and tells handlers what changed. It recovers from everything
 * on its own: a 410 leads to a new list whose differences with the cache are reported as add, update and
 * delete events; any other failure to a retry with exponential backoff. Restarts are counted in
 * `modelship_operator_watch_restarts_total{resource,reason}`.
 *
 * IMPORTANT: every object handed out (by get, list or to handlers) is the cached instance itself,
 * shared with every other reader. Callers must not mutate it; copy first (structuredClone) to build a change.
 * Objects are the API server's JSON: timestamps are strings, not Dates.
 */
export class Informer<T extends KubernetesObject> {
  private readonly cache = new ObjectCache<T>();
  private readonly handlers: { [E in keyof InformerHandlers<T>]: InformerHandlers<T>[E][] } = {
    add: [],
    update: [],
    delete: [],
  };
  private readonly reflectors: Reflector<T>[];
  private readonly unsynced: Set<string | undefined>;
  private readonly log: Logger;
  private readonly restarts;
  private state: 'new' | 'running' | 'stopped' = 'new';
  private started?: Promise<void>;
  private rejectStart?: (err: Error) => void;
  private resolveStart?: () => void;

  constructor(private readonly o: InformerOptions<T>) {
    const transport = o.transport ?? defaultTransport(o);
    const namespaces = o.namespaces ?? 'all';
    if (namespaces !== 'all' && namespaces.length === 0)
      throw new Error('namespaces: give "all" or at least one');
    const scopes: (string | undefined)[] = namespaces === 'all' ? [undefined] : [...new Set(namespaces)];
    this.unsynced = new Set(scopes);
    this.log = o.logger.child({ informer: o.name });
    this.restarts = counterOn(o.registry, {
      name: 'modelship_operator_watch_restarts_total',
      help: 'List or watch restarts of informers, by resource and reason (expired is the routine server timeout).',
      labelNames: ['resource', 'reason'] as const,
    });
    const clock = o.clock ?? realClock;
    const random = o.random ?? Math.random;
    const transform = o.transform;
    this.reflectors = scopes.map(
      (namespace) =>
        new Reflector<T>({
          namespace,
          labelSelector: o.labelSelector,
          transport,
          clock,
          random,
          pageSize: o.pageSize ?? 500,
          watchTimeoutSeconds: o.watchTimeoutSeconds ?? 300,
          watchTimeoutJitter: o.watchTimeoutJitter ?? 1,
          watchStallGraceMs: o.watchStallGraceMs ?? 30_000,
          healthyWatchMs: o.healthyWatchMs ?? 10_000,
          backoff: o.backoff ?? { initialMs: 200, maxMs: 30_000, factor: 2, jitter: 0.2 },
          onList: (items) =>
            this.apply(this.cache.replace(transform ? items.map(transform) : items, namespace)),
          onEvent: (type, obj) => this.apply(this.deltaOf(type, transform ? transform(obj) : obj)),
          onSynced: () => this.markSynced(namespace),
          onRestart: (reason, phase, delayMs, err) => this.onRestart(namespace, reason, phase, delayMs, err),
        }),
    );
  }

  /**
   * Starts listing and watching. Resolves once the first list of every namespace is in the cache
   * (hasSynced() is then true), which can take arbitrarily long while the API server is unreachable; rejects
   * if `stop()` is called first. Idempotent: later calls return the same promise. Throws after `stop()`.
   */
  start(): Promise<void> {
    if (this.state === 'stopped') throw new Error(`informer ${this.o.name} was stopped; create a new one`);
    if (this.started) return this.started;
    this.state = 'running';
    this.started = new Promise<void>((resolve, reject) => {
      this.resolveStart = resolve;
      this.rejectStart = reject;
    });
    // A caller that does not await start() must not get an unhandled rejection (fatal in Node) from stop().
    this.started.catch(() => undefined);
    // Handlers may still be registered by the caller; nothing runs before the first network answer anyway.
    for (const r of this.reflectors) void r.run();
    return this.started;
  }

  /**
   * Stops every list and watch and cancels pending retries; no handler is called afterwards. Resolves when
   * all loops have ended. Idempotent. The cache stays readable.
   */
  async stop(): Promise<void> {
    if (this.state === 'running' && !this.hasSynced()) {
      this.rejectStart?.(new Error(`informer ${this.o.name} stopped before it synced`));
    }
    this.state = 'stopped';
    await Promise.all(this.reflectors.map((r) => r.stop()));
  }

  /** True once the first list of every namespace has reached the cache; stays true from then on. */
  hasSynced(): boolean {
    return this.unsynced.size === 0;
  }

  /** The cached object, or undefined. Use namespace '' for cluster-scoped objects. Do not mutate it. */
  get(namespace: string, name: string): T | undefined {
    return this.cache.get(namespace, name);
  }

  /** Cached objects in one namespace, or in all when undefined, in no particular order. Do not mutate them. */
  list(namespace?: string): T[] {
    return this.cache.list(namespace);
  }

  /**
   * Registers a handler; returns a function that unregisters it. Handlers run synchronously, in order, as
   * changes arrive; one that throws or rejects is logged and cannot disturb the informer or other handlers.
   * An `add` handler registered after objects are cached is first called once for each of them, as
   * client-go does, so late registration misses nothing. `delete` receives the object's last known state
   * (after a missed deletion found by a relist, the last cached version).
   */
  on<E extends keyof InformerHandlers<T>>(event: E, handler: InformerHandlers<T>[E]): () => void {
    this.handlers[event].push(handler);
    if (event === 'add') {
      for (const obj of this.cache.list())
        this.call('add', () => (handler as InformerHandlers<T>['add'])(obj));
    }
    return () => {
      const list = this.handlers[event];
      const i = list.indexOf(handler);
      if (i >= 0) list.splice(i, 1);
    };
  }

  private deltaOf(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T): CacheDelta<T> | undefined {
    return type === 'DELETED' ? this.cache.remove(obj) : this.cache.upsert(obj);
  }

  private apply(deltas: CacheDelta<T> | CacheDelta<T>[] | undefined): void {
    if (this.state !== 'running' || deltas === undefined) return;
    for (const d of Array.isArray(deltas) ? deltas : [deltas]) {
      if (d.type === 'add') for (const h of [...this.handlers.add]) this.call('add', () => h(d.obj));
      else if (d.type === 'update')
        for (const h of [...this.handlers.update]) this.call('update', () => h(d.obj, d.old));
      else for (const h of [...this.handlers.delete]) this.call('delete', () => h(d.obj));
    }
  }

  private call(event: string, fn: () => unknown): void {
    try {
      const result = fn();
      if (result instanceof Promise) {
        result.catch((err: unknown) =>
          this.log.error('event handler rejected', { event, err: errorText(err) }),
        );
      }
    } catch (err) {
      this.log.error('event handler threw', { event, err: errorText(err) });
    }
  }

  private markSynced(namespace: string | undefined): void {
    this.unsynced.delete(namespace);
    if (this.hasSynced() && this.state === 'running') {
      this.log.info('informer synced', { objects: this.cache.size() });
      this.resolveStart?.();
    }
  }

  private onRestart(
    namespace: string | undefined,
    reason: RestartReason,
    phase: 'list' | 'watch',
    delayMs: number,
    err: unknown,
  ): void {
    this.restarts.inc({ resource: this.o.name, reason });
    const fields = {
      namespace: namespace ?? '*',
      phase,
      reason,
      delayMs,
      err: err ? errorText(err) : undefined,
    };
    if (reason === 'expired') this.log.debug('watch expired, resuming', fields);
    else if (reason === 'gone') this.log.info('resourceVersion too old, listing again', fields);
    else this.log.warn(`${phase} failed, retrying`, fields);
  }
}

function defaultTransport<T extends KubernetesObject>(o: InformerOptions<T>): InformerTransport<T> {
  if (!o.kubeConfig || !o.resource)
    throw new Error('Informer needs kubeConfig and resource (or a transport)');
  return kubeTransport<T>(o.kubeConfig, o.resource);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
