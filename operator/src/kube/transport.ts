import { Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { kubeRequest } from './http.js';
import { collectionPath, type ResourceKind } from './resource.js';

/** One page of a list call. */
export interface ListPage<T> {
  items: T[];
  /** The collection's resourceVersion: a watch started from it misses nothing. */
  resourceVersion: string;
  /** Set when more pages follow. */
  continueToken?: string;
}

export interface ListRequest {
  /** undefined: all namespaces (or a cluster-scoped resource). */
  namespace?: string;
  labelSelector?: string;
  limit: number;
  continueToken?: string;
  signal?: AbortSignal;
}

export interface WatchRequest {
  namespace?: string;
  labelSelector?: string;
  resourceVersion: string;
  /** The API server ends the watch after this long, so a silently dead connection is replaced. */
  timeoutSeconds: number;
}

/** A running watch; `abort()` ends it (idempotent). */
export interface WatchHandle {
  abort(): void;
}

/**
 * How an informer reaches the API server. The real one is `kubeTransport`; unit tests inject fakes.
 * `watch` calls `onEvent` for each event in order, then `onDone` exactly once: with no argument when the
 * server ended the stream, with the error otherwise (an HTTP status, if any, in `statusCode`). It may reject
 * instead of calling `onDone` when the watch could not be started at all.
 */
export interface InformerTransport<T> {
  list(req: ListRequest): Promise<ListPage<T>>;
  watch(
    req: WatchRequest,
    onEvent: (type: string, obj: unknown) => void,
    onDone: (err?: unknown) => void,
  ): Promise<WatchHandle>;
}

/**
 * The real transport: lists with plain JSON GETs and watches with client-node's `Watch`, both with the
 * KubeConfig's credentials. Watches always ask for bookmarks.
 */
export function kubeTransport<T extends KubernetesObject>(
  kc: KubeConfig,
  resource: ResourceKind,
): InformerTransport<T> {
  const watcher = new Watch(kc);
  const path = collectionPath(resource);
  return {
    async list(req) {
      const body = (await kubeRequest(kc, {
        path: path(req.namespace),
        query: { limit: req.limit, continue: req.continueToken, labelSelector: req.labelSelector },
        signal: req.signal,
      })) as { items?: T[] | null; metadata?: { resourceVersion?: string; continue?: string } };
      return {
        items: body.items ?? [],
        resourceVersion: body.metadata?.resourceVersion ?? '',
        continueToken: body.metadata?.continue || undefined,
      };
    },
    async watch(req, onEvent, onDone) {
      const controller = await watcher.watch(
        path(req.namespace),
        {
          resourceVersion: req.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: req.timeoutSeconds,
          labelSelector: req.labelSelector,
        },
        (type, obj) => onEvent(type, obj),
        (err) => onDone(err ?? undefined),
      );
      return { abort: () => controller.abort() };
    },
  };
}
