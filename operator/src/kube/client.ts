/**
 * The operator's writes to the Kubernetes API: server-side apply with one field manager, deletes, status
 * patches and Events. Plain JSON over kubeRequest with fixed resource paths (no discovery round trips, no
 * typed (de)serialisation: see docs/decisions), each request counted by verb, resource and status code.
 * Reads come from the informer caches, never from here.
 */
import type { CoreV1Event, KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Counter } from 'prom-client';
import { httpStatusOf, kubeRequest, KubeApiError } from './http.js';
import { mergePatch } from './merge-patch.js';
import { KindRegistry, collectionPath, objectPath, type ResourceKind } from './resource.js';

export const fieldManager = 'modelship-operator';

export interface ApplyOptions {
  /** Ask the server what the object would look like, without persisting anything. */
  dryRun?: boolean;
}

/**
 * What the reconcile layer writes through. `KubeClient` is the real one; unit tests use the in-memory API
 * (kube/testing/memory-api.ts), which behaves alike (resourceVersions, conflicts, apply merges).
 */
export interface KubeWriter {
  /** Server-side apply, forcing ownership of the fields set; resolves with the object as the server stored it. */
  apply<T extends KubernetesObject>(obj: T, opts?: ApplyOptions): Promise<T>;
  /** Deletes in the background (dependents by garbage collection). Resolves false when it was already gone. */
  delete(obj: KubernetesObject): Promise<boolean>;
  /**
   * Replaces the status through the status subresource (`obj` carries the status it replaces), as a
   * compare-and-swap on `obj`'s resourceVersion: rejects with a 409 when anyone wrote the object since.
   * Resolves with the object's new resourceVersion.
   */
  patchStatus(obj: KubernetesObject, status: unknown): Promise<string | undefined>;
  /** Sets the replica count through the scale subresource (the object's own fields stay as they are). */
  scale(obj: KubernetesObject, replicas: number): Promise<void>;
  createEvent(event: CoreV1Event): Promise<void>;
  patchEvent(namespace: string, name: string, patch: object): Promise<void>;
}

/** An HTTP status from the API server, or 0 for a transport failure. */
export function statusCodeOf(err: unknown): number {
  return httpStatusOf(err) ?? 0;
}

/** A short, loggable reason from an API error (the Status message, not the whole body). */
export function messageOf(err: unknown): string {
  if (err instanceof KubeApiError) return `${err.statusCode}: ${err.message}`;
  return (err as Error).message;
}

const eventKind: ResourceKind = { apiVersion: 'v1', kind: 'Event', plural: 'events' };

export class KubeClient implements KubeWriter {
  private readonly kinds: KindRegistry;

  /**
   * @param kinds every kind this client may write (Events are always known)
   * @param requests counts requests by verb, resource and code (modelship_operator_api_requests_total)
   */
  constructor(
    private readonly kc: KubeConfig,
    kinds: Iterable<ResourceKind>,
    private readonly requests: Counter<'verb' | 'resource' | 'code'>,
  ) {
    this.kinds = new KindRegistry([...kinds, eventKind]);
  }

  private async track<T>(verb: string, resource: string, fn: () => Promise<T>): Promise<T> {
    try {
      const result = await fn();
      this.requests.inc({ verb, resource, code: '200' });
      return result;
    } catch (err) {
      this.requests.inc({ verb, resource, code: String(statusCodeOf(err)) });
      throw err;
    }
  }

  private pathOf(obj: KubernetesObject, suffix = ''): { path: string; plural: string } {
    const kind = this.kinds.of(obj);
    return {
      path: objectPath(kind, obj.metadata?.namespace, obj.metadata!.name!) + suffix,
      plural: kind.plural,
    };
  }

  async apply<T extends KubernetesObject>(obj: T, opts: ApplyOptions = {}): Promise<T> {
    const { path, plural } = this.pathOf(obj);
    return this.track(opts.dryRun ? 'apply-dry-run' : 'apply', plural, async () => {
      return (await kubeRequest(this.kc, {
        method: 'PATCH',
        path,
        query: { fieldManager, force: true, dryRun: opts.dryRun ? 'All' : undefined },
        contentType: 'application/apply-patch+yaml', // JSON is valid YAML
        body: obj,
      })) as T;
    });
  }

  async delete(obj: KubernetesObject): Promise<boolean> {
    const { path, plural } = this.pathOf(obj);
    try {
      await this.track('delete', plural, () =>
        kubeRequest(this.kc, {
          method: 'DELETE',
          path,
          body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' },
        }),
      );
      return true;
    } catch (err) {
      if (statusCodeOf(err) === 404) return false;
      throw err;
    }
  }

  async patchStatus(obj: KubernetesObject, status: unknown): Promise<string | undefined> {
    const { path, plural } = this.pathOf(obj, '/status');
    const stored = (await this.track('patch-status', plural, () =>
      kubeRequest(this.kc, {
        method: 'PATCH',
        path,
        query: { fieldManager },
        contentType: 'application/merge-patch+json',
        // A merge patch leaves members it does not mention: the difference, with nulls for what went away.
        body: {
          metadata: { resourceVersion: obj.metadata?.resourceVersion },
          status: mergePatch((obj as { status?: unknown }).status ?? {}, status),
        },
      }),
    )) as KubernetesObject | undefined;
    return stored?.metadata?.resourceVersion;
  }

  async scale(obj: KubernetesObject, replicas: number): Promise<void> {
    const { path, plural } = this.pathOf(obj, '/scale');
    await this.track('patch-scale', plural, () =>
      kubeRequest(this.kc, {
        method: 'PATCH',
        path,
        query: { fieldManager },
        contentType: 'application/merge-patch+json',
        body: { spec: { replicas } },
      }),
    );
  }

  async createEvent(event: CoreV1Event): Promise<void> {
    await this.track('create', 'events', () =>
      kubeRequest(this.kc, {
        method: 'POST',
        path: collectionPath(eventKind)(event.metadata!.namespace!),
        query: { fieldManager },
        body: event,
      }),
    );
  }

  async patchEvent(namespace: string, name: string, patch: object): Promise<void> {
    await this.track('patch', 'events', () =>
      kubeRequest(this.kc, {
        method: 'PATCH',
        path: objectPath(eventKind, namespace, name),
        query: { fieldManager },
        contentType: 'application/merge-patch+json',
        body: patch,
      }),
    );
  }
}
