import type { KubernetesObject } from '@kubernetes/client-node';

/** One change the cache went through, for the informer to turn into handler calls. */
export type CacheDelta<T> =
  { type: 'add'; obj: T } | { type: 'update'; obj: T; old: T } | { type: 'delete'; obj: T };

const namespaceOf = (obj: KubernetesObject) => obj.metadata?.namespace ?? '';
const nameOf = (obj: KubernetesObject) => obj.metadata?.name ?? '';
const resourceVersionOf = (obj: KubernetesObject) => obj.metadata?.resourceVersion;

/** The cache key client-go uses: "namespace/name", or "name" for cluster-scoped objects. */
export function objectKey(obj: KubernetesObject): string {
  return keyOf(namespaceOf(obj), nameOf(obj));
}

function keyOf(namespace: string, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/**
 * The informer's store: objects by namespace and name. Pure and synchronous; every
 * mutation returns the deltas it caused. Stores the objects it is given as they are (no copies): whoever
 * reads from it must not mutate them.
 */
export class ObjectCache<T extends KubernetesObject> {
  private readonly byNamespace = new Map<string, Map<string, T>>();

  /** The object, or undefined when not cached. Cluster-scoped objects live under namespace ''. */
  get(namespace: string, name: string): T | undefined {
    return this.byNamespace.get(namespace)?.get(name);
  }

  /** Every cached object in `namespace`, or in all namespaces when undefined. A fresh array each call. */
  list(namespace?: string): T[] {
    if (namespace !== undefined) return [...(this.byNamespace.get(namespace)?.values() ?? [])];
    const out: T[] = [];
    for (const objects of this.byNamespace.values()) out.push(...objects.values());
    return out;
  }

  /** How many objects are cached. */
  size(): number {
    let n = 0;
    for (const objects of this.byNamespace.values()) n += objects.size;
    return n;
  }

  /**
   * Inserts or replaces an object. Returns an 'add' delta when it was not cached, an 'update' delta when its
   * resourceVersion differs from the cached one, and undefined (and changes nothing) when it is the same
   * version: re-seeing an object already known is not a change.
   */
  upsert(obj: T): CacheDelta<T> | undefined {
    const namespace = namespaceOf(obj);
    const name = nameOf(obj);
    let objects = this.byNamespace.get(namespace);
    const old = objects?.get(name);
    const rv = resourceVersionOf(obj);
    if (old && rv !== undefined && rv === resourceVersionOf(old)) return undefined;
    if (!objects) {
      objects = new Map();
      this.byNamespace.set(namespace, objects);
    }
    objects.set(name, obj);
    return old ? { type: 'update', obj, old } : { type: 'add', obj };
  }

  /**
   * Removes the object with `obj`'s namespace and name. Returns a 'delete' delta carrying `obj` (the final
   * state the caller saw, e.g. from a DELETED watch event), or undefined when it was not cached.
   */
  remove(obj: T): CacheDelta<T> | undefined {
    const namespace = namespaceOf(obj);
    const objects = this.byNamespace.get(namespace);
    if (!objects?.delete(nameOf(obj))) return undefined;
    if (objects.size === 0) this.byNamespace.delete(namespace);
    return { type: 'delete', obj };
  }

  /**
   * Makes the cache's content within `namespace` (or everywhere, when undefined) equal to `items`, a fresh
   * list from the API server, and returns what changed: adds for new objects, updates for objects whose
   * resourceVersion moved, deletes (carrying the last cached state) for objects that are gone.
   */
  replace(items: readonly T[], namespace?: string): CacheDelta<T>[] {
    const deltas: CacheDelta<T>[] = [];
    const seen = new Set(items.map(objectKey));
    const scope = namespace === undefined ? this.list() : this.list(namespace);
    for (const old of scope) {
      if (seen.has(objectKey(old))) continue;
      const delta = this.remove(old);
      if (delta) deltas.push(delta);
    }
    for (const obj of items) {
      const delta = this.upsert(obj);
      if (delta) deltas.push(delta);
    }
    return deltas;
  }
}
