/**
 * A kind of Kubernetes object and where it lives in the API. The operator names every kind it reads or writes
 * once (operator/src/resources.ts); the client, the informers and the RBAC rules are all derived from that list,
 * so a kind cannot be watched under one path and written under another. No discovery: the paths are fixed.
 */
export interface ResourceKind {
  /** "v1" for the core group, else "<group>/<version>", e.g. "apps/v1". */
  apiVersion: string;
  kind: string;
  /** The lowercase plural in URLs, e.g. "deployments". */
  plural: string;
  /** @default true */
  namespaced?: boolean;
}

/** The API group of a kind: '' for the core group. */
export function groupOf(r: Pick<ResourceKind, 'apiVersion'>): string {
  const slash = r.apiVersion.indexOf('/');
  return slash < 0 ? '' : r.apiVersion.slice(0, slash);
}

/** Builds the collection URL path of a resource for one namespace, or for all when undefined. */
export type PathBuilder = (namespace: string | undefined) => string;

/**
 * The collection path of a kind: "/api/v1/configmaps" for all namespaces, "/api/v1/namespaces/ns/configmaps" for
 * one; "/apis/<group>/<version>/…" outside the core group. Cluster-scoped kinds ignore the namespace.
 */
export function collectionPath(r: ResourceKind): PathBuilder {
  const base = groupOf(r) === '' ? `/api/${r.apiVersion}` : `/apis/${r.apiVersion}`;
  return (namespace) =>
    namespace === undefined || r.namespaced === false
      ? `${base}/${r.plural}`
      : `${base}/namespaces/${encodeURIComponent(namespace)}/${r.plural}`;
}

/** The path of one object of the kind. */
export function objectPath(r: ResourceKind, namespace: string | undefined, name: string): string {
  return `${collectionPath(r)(namespace)}/${encodeURIComponent(name)}`;
}

/** Looks kinds up by the apiVersion and kind an object carries. */
export class KindRegistry {
  private readonly byKey = new Map<string, ResourceKind>();

  constructor(kinds: Iterable<ResourceKind>) {
    for (const k of kinds) this.byKey.set(`${k.apiVersion}/${k.kind}`, k);
  }

  /** The kind of an object; throws for a kind that was not registered (a programming error). */
  of(obj: { apiVersion?: string; kind?: string }): ResourceKind {
    const r = this.byKey.get(`${obj.apiVersion}/${obj.kind}`);
    if (!r) throw new Error(`unknown kind ${obj.apiVersion}/${obj.kind}: it is not in the operator's list`);
    return r;
  }
}
