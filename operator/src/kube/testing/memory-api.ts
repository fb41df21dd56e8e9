import type { CoreV1Event, KubernetesObject } from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import type { ApplyOptions, KubeWriter } from '../client.js';
import { KubeApiError } from '../http.js';
import { KindRegistry, type ResourceKind } from '../resource.js';
import type { InformerTransport } from '../transport.js';
import { FakeApi } from './fake-api.js';

/** One request the operator made, as the API server's audit log would show it. */
export interface Request {
  verb: 'apply' | 'apply-dry-run' | 'delete' | 'patch-status' | 'scale' | 'create-event' | 'patch-event';
  kind: string;
  namespace?: string;
  name: string;
}

type Obj = KubernetesObject & Record<string, unknown>;

/**
 * An in-memory API server for the reconcile layer's unit tests: one store per kind (FakeApi, with list and
 * watch for informers) behind the KubeWriter interface the operator writes through.
 *
 * It behaves like the real one where the operator's logic depends on it: one resourceVersion counter for
 * every kind; server-side apply merges the applied fields into the stored object (maps merged, lists
 * replaced), runs the kind's defaulting (`defaulters`), keeps the resourceVersion when nothing changed, and
 * bumps metadata.generation when the spec changed; a dry-run apply returns that result and stores nothing;
 * status writes are a compare-and-swap on the resourceVersion (409 otherwise); deletes of a missing object
 * are 404. Failures can be injected per request (`failNext`). Every request is logged in `requests`.
 */
export class MemoryApi implements KubeWriter {
  private readonly revision = { value: 100 };
  private readonly stores = new Map<string, FakeApi>();
  private readonly kinds: KindRegistry;
  private readonly failures: { match: (r: Request) => boolean; err: Error }[] = [];
  /** Every request made through the KubeWriter interface, in order. */
  readonly requests: Request[] = [];
  readonly events: CoreV1Event[] = [];
  /** Server-side defaulting and normalisation per kind ("apps/v1/Deployment"): applied after each merge. */
  readonly defaulters = new Map<string, (obj: Obj) => void>();

  constructor(kinds: Iterable<ResourceKind>) {
    const all = [...kinds];
    this.kinds = new KindRegistry(all);
    for (const k of all) this.stores.set(keyOf(k), new FakeApi(this.revision));
  }

  /** The list-and-watch side of a kind, for an informer. */
  transport(kind: ResourceKind): InformerTransport<KubernetesObject> {
    return this.store(kind);
  }

  /** A copy of the stored object, or undefined. */
  get<T extends KubernetesObject>(kind: ResourceKind, namespace: string, name: string): T | undefined {
    return this.store(kind).get(namespace, name) as T | undefined;
  }

  /** Copies of every stored object of a kind. */
  list<T extends KubernetesObject>(kind: ResourceKind): T[] {
    return this.store(kind).all() as T[];
  }

  /** Writes an object as another client would (a user, a built-in controller): stored as given, no request logged. */
  put<T extends KubernetesObject>(kind: ResourceKind, obj: T): T {
    return this.store(kind).upsert(wire({ ...obj, apiVersion: kind.apiVersion, kind: kind.kind }));
  }

  /** Changes a stored object as another client would; throws when it does not exist. */
  update<T extends KubernetesObject>(
    kind: ResourceKind,
    namespace: string,
    name: string,
    mutate: (o: T) => void,
  ): T {
    const obj = this.get<T>(kind, namespace, name);
    if (!obj) throw new Error(`no ${kind.kind} ${namespace}/${name}`);
    mutate(obj);
    return this.put(kind, obj);
  }

  /** Removes an object as another client would (no request is logged). */
  remove(kind: ResourceKind, namespace: string, name: string): void {
    this.store(kind).delete(namespace, name);
  }

  /** The next request matching `match` fails with `err` (an HTTP status becomes a KubeApiError). */
  failNext(match: Partial<Request>, err: Error | number): void {
    const error = typeof err === 'number' ? new KubeApiError(err, `injected ${err}`) : err;
    this.failures.push({
      match: (r) => Object.entries(match).every(([k, v]) => r[k as keyof Request] === v),
      err: error,
    });
  }

  async apply<T extends KubernetesObject>(obj: T, opts: ApplyOptions = {}): Promise<T> {
    const kind = this.kinds.of(obj);
    const { namespace = '', name = '' } = obj.metadata ?? {};
    this.request({ verb: opts.dryRun ? 'apply-dry-run' : 'apply', kind: kind.kind, namespace, name });
    const existing = this.get<Obj>(kind, namespace, name);
    const merged = merge(existing ?? {}, wire(obj)) as Obj;
    this.defaulters.get(keyOf(kind))?.(merged);
    if (existing) {
      const { resourceVersion: _rv, generation = 1 } = existing.metadata ?? {};
      merged.metadata = {
        ...merged.metadata,
        resourceVersion: existing.metadata?.resourceVersion,
        generation,
      };
      if (isDeepStrictEqual(merged, existing)) return merged as T;
      if (!isDeepStrictEqual(merged.spec, existing.spec)) merged.metadata.generation = generation + 1;
    } else {
      merged.metadata = { ...merged.metadata, generation: 1, uid: `uid-${name}-${this.revision.value}` };
    }
    if (opts.dryRun) return merged as T;
    return this.store(kind).upsert(merged) as T;
  }

  async delete(obj: KubernetesObject): Promise<boolean> {
    const kind = this.kinds.of(obj);
    const { namespace = '', name = '' } = obj.metadata ?? {};
    this.request({ verb: 'delete', kind: kind.kind, namespace, name });
    if (!this.get(kind, namespace, name)) return false;
    this.store(kind).delete(namespace, name);
    return true;
  }

  async patchStatus(obj: KubernetesObject, status: unknown): Promise<string | undefined> {
    const kind = this.kinds.of(obj);
    const { namespace = '', name = '' } = obj.metadata ?? {};
    this.request({ verb: 'patch-status', kind: kind.kind, namespace, name });
    const existing = this.get<Obj>(kind, namespace, name);
    if (!existing) throw new KubeApiError(404, `${kind.plural} "${name}" not found`, 'NotFound');
    const expected = obj.metadata?.resourceVersion;
    if (expected !== undefined && expected !== existing.metadata?.resourceVersion)
      throw new KubeApiError(
        409,
        'the object has been modified; please apply your changes to the latest version',
        'Conflict',
      );
    return this.store(kind).upsert({ ...existing, status: wire(status) }).metadata?.resourceVersion;
  }

  async scale(obj: KubernetesObject, replicas: number): Promise<void> {
    const kind = this.kinds.of(obj);
    const { namespace = '', name = '' } = obj.metadata ?? {};
    this.request({ verb: 'scale', kind: kind.kind, namespace, name });
    const existing = this.get<Obj>(kind, namespace, name);
    if (!existing) throw new KubeApiError(404, `${kind.plural} "${name}" not found`, 'NotFound');
    const spec = (existing.spec ?? {}) as Record<string, unknown>;
    if (spec.replicas === replicas) return;
    const generation = (existing.metadata?.generation ?? 1) + 1;
    this.store(kind).upsert({
      ...existing,
      metadata: { ...existing.metadata, generation },
      spec: { ...spec, replicas },
    });
  }

  async createEvent(event: CoreV1Event): Promise<void> {
    const { namespace = '', name = '' } = event.metadata ?? {};
    this.request({ verb: 'create-event', kind: 'Event', namespace, name });
    if (this.events.some((e) => e.metadata?.namespace === namespace && e.metadata?.name === name))
      throw new KubeApiError(409, `events "${name}" already exists`, 'AlreadyExists');
    this.events.push(wire(event));
  }

  async patchEvent(namespace: string, name: string, patch: object): Promise<void> {
    this.request({ verb: 'patch-event', kind: 'Event', namespace, name });
    const event = this.events.find((e) => e.metadata?.namespace === namespace && e.metadata?.name === name);
    if (!event) throw new KubeApiError(404, `events "${name}" not found`, 'NotFound');
    Object.assign(event, wire(patch));
  }

  private request(r: Request): void {
    this.requests.push(r);
    const i = this.failures.findIndex((f) => f.match(r));
    if (i >= 0) throw this.failures.splice(i, 1)[0]!.err;
  }

  private store(kind: ResourceKind): FakeApi {
    const store = this.stores.get(keyOf(kind));
    if (!store) throw new Error(`MemoryApi: ${keyOf(kind)} was not registered`);
    return store;
  }
}

/** What a value looks like after a trip over the wire: JSON, so undefined members are gone. */
function wire<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function keyOf(k: { apiVersion: string; kind: string }): string {
  return `${k.apiVersion}/${k.kind}`;
}

/** Server-side apply, simplified: the applied value wins, maps are merged, lists and scalars replaced. */
function merge(base: unknown, applied: unknown): unknown {
  if (!isMap(base) || !isMap(applied)) return applied;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(applied)) {
    if (v !== undefined) out[k] = merge(base[k], v);
  }
  return out;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
