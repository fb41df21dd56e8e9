import type { KubernetesObject } from '@kubernetes/client-node';
import type { InformerTransport, ListPage, ListRequest, WatchHandle, WatchRequest } from '../transport.js';

export interface FakeWatch {
  req: WatchRequest;
  onEvent: (type: string, obj: unknown) => void;
  onDone: (err?: unknown) => void;
  aborted: boolean;
  ended: boolean;
}

type Change = { rv: number; type: 'ADDED' | 'MODIFIED' | 'DELETED'; obj: KubernetesObject };

/**
 * An in-memory stand-in for the API server's list and watch of one resource, for the informer's unit tests
 * (and, one per kind, the store behind MemoryApi):
 * resourceVersions, paginated lists, watches that replay history from a resourceVersion, compaction (a watch
 * from before it gets a 410 ERROR event), and failures injected on demand. Namespaces and `k=v` label
 * selectors filter as on a real server.
 */
export class FakeApi implements InformerTransport<KubernetesObject> {
  private readonly objects = new Map<string, KubernetesObject>();
  private history: Change[] = [];
  private compactedBefore = 0;
  readonly lists: ListRequest[] = [];
  readonly watches: FakeWatch[] = [];
  /** Errors the next list calls reject with, in order. */
  listFailures: unknown[] = [];
  /** Errors the next watch calls fail with (through onDone), in order. */
  watchFailures: unknown[] = [];

  /** @param revision the resourceVersion counter; share one between stores, as etcd has one for all kinds */
  constructor(private readonly revision = { value: 100 }) {}

  resourceVersion(): string {
    return String(this.revision.value);
  }

  /** Creates or updates a ConfigMap; returns it with its new resourceVersion. */
  put(namespace: string, name: string, data: Record<string, string> = {}, labels?: Record<string, string>) {
    return this.upsert({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { namespace, name, labels },
      data,
    } as KubernetesObject);
  }

  /** Stores a copy of `obj` under its namespace and name with the next resourceVersion, and tells the watches. */
  upsert<T extends KubernetesObject>(obj: T): T {
    const key = `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name}`;
    const type = this.objects.has(key) ? 'MODIFIED' : 'ADDED';
    const stored = clone(obj);
    stored.metadata = { ...stored.metadata, resourceVersion: String(++this.revision.value) };
    this.objects.set(key, stored);
    this.publish({ rv: this.revision.value, type, obj: stored });
    return clone(stored);
  }

  /** A copy of the stored object, or undefined. */
  get(namespace: string, name: string): KubernetesObject | undefined {
    const obj = this.objects.get(`${namespace}/${name}`);
    return obj && clone(obj);
  }

  /** Copies of every stored object. */
  all(): KubernetesObject[] {
    return [...this.objects.values()].map((o) => clone(o));
  }

  delete(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const old = this.objects.get(key);
    if (!old) throw new Error(`no ${key}`);
    this.objects.delete(key);
    const obj = { ...old, metadata: { ...old.metadata, resourceVersion: String(++this.revision.value) } };
    this.publish({ rv: this.revision.value, type: 'DELETED', obj });
  }

  /** Forgets history: a watch from an older resourceVersion is answered with 410 Gone. */
  compact(): void {
    this.compactedBefore = this.revision.value;
    this.history = [];
  }

  /** Watches still streaming. */
  open(): FakeWatch[] {
    return this.watches.filter((w) => !w.aborted && !w.ended);
  }

  /** The server ends every open watch normally (its timeoutSeconds ran out). */
  closeAll(): void {
    for (const w of this.open()) this.end(w);
  }

  /** Every open watch fails mid-stream with `err`. */
  breakAll(err: unknown): void {
    for (const w of this.open()) this.end(w, err);
  }

  bookmark(): void {
    for (const w of this.open()) {
      if (this.matches(w.req.namespace, undefined)) {
        w.onEvent('BOOKMARK', {
          kind: 'ConfigMap',
          metadata: { resourceVersion: String(this.revision.value) },
        });
      }
    }
  }

  async list(req: ListRequest): Promise<ListPage<KubernetesObject>> {
    this.lists.push(req);
    await Promise.resolve();
    const failure = this.listFailures.shift();
    if (failure) throw failure;
    const all = [...this.objects.values()]
      .filter((o) => this.matches(req.namespace, req.labelSelector, o))
      .sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1));
    const offset = req.continueToken ? Number(req.continueToken) : 0;
    const items = all.slice(offset, offset + req.limit);
    const more = offset + req.limit < all.length;
    return {
      items,
      resourceVersion: String(this.revision.value),
      continueToken: more ? String(offset + req.limit) : undefined,
    };
  }

  async watch(
    req: WatchRequest,
    onEvent: (type: string, obj: unknown) => void,
    onDone: (err?: unknown) => void,
  ): Promise<WatchHandle> {
    const w: FakeWatch = { req, onEvent, onDone, aborted: false, ended: false };
    this.watches.push(w);
    await Promise.resolve();
    const failure = this.watchFailures.shift();
    if (failure) {
      this.end(w, failure);
    } else if (Number(req.resourceVersion) < this.compactedBefore) {
      onEvent('ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' });
      this.end(w);
    } else {
      for (const c of this.history) {
        if (c.rv > Number(req.resourceVersion) && this.matches(req.namespace, req.labelSelector, c.obj)) {
          onEvent(c.type, c.obj);
        }
      }
    }
    return {
      abort: () => {
        w.aborted = true;
      },
    };
  }

  private end(w: FakeWatch, err?: unknown): void {
    if (w.ended) return;
    w.ended = true;
    w.onDone(err);
  }

  private publish(c: Change): void {
    this.history.push(c);
    for (const w of this.open()) {
      if (this.matches(w.req.namespace, w.req.labelSelector, c.obj)) w.onEvent(c.type, c.obj);
    }
  }

  private matches(
    namespace: string | undefined,
    selector: string | undefined,
    obj?: KubernetesObject,
  ): boolean {
    if (!obj) return true;
    if (namespace !== undefined && obj.metadata?.namespace !== namespace) return false;
    if (!selector) return true;
    return selector.split(',').every((term) => {
      const [k, v] = term.split('=');
      return obj.metadata?.labels?.[k!] === v;
    });
  }
}

/**
 * A copy as a JSON round trip gives it, which is what objects are on the wire. (Not structuredClone: under Jest
 * it makes objects of another realm, which isDeepStrictEqual never finds equal to the test's own.)
 */
function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
