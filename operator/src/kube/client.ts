/**
 * The operator's writes to the Kubernetes API: server-side apply with one field manager, deletes, status
 * patches and Events. Every request is counted by verb, resource and status code. Reads come from the
 * informer caches, never from here.
 */
import * as k8s from '@kubernetes/client-node';
import type { KubernetesObject } from '@kubernetes/client-node';
import {
  group,
  plural,
  version,
  type ModelDeployment,
  type ModelDeploymentStatus,
} from '../api/v1alpha1/schema.js';
import type { OperatorMetrics } from '../telemetry/metrics.js';

export const fieldManager = 'modelship-operator';

export interface ApplyOptions {
  /** Ask the server what the object would look like, without persisting anything. */
  dryRun?: boolean;
}

/** An HTTP status from the API server, or 0 for a transport failure. */
export function statusCodeOf(err: unknown): number {
  if (err instanceof k8s.ApiException) return err.code;
  const code =
    (err as { code?: unknown; statusCode?: unknown }).statusCode ?? (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : 0;
}

/** A short, loggable reason from an API error (the Status message, not the whole body). */
export function messageOf(err: unknown): string {
  if (err instanceof k8s.ApiException) {
    const body = (typeof err.body === 'string' ? safeParse(err.body) : err.body) as
      { message?: string } | undefined;
    return `${err.code}: ${body?.message ?? 'request failed'}`;
  }
  return (err as Error).message;
}

function safeParse(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return { message: s.slice(0, 300) };
  }
}

/** Turns client-node's typed response (with Date objects) back into plain JSON as the API serves it. */
function plain<T>(o: T): T {
  return JSON.parse(JSON.stringify(o)) as T;
}

export class KubeClient {
  private readonly objects: k8s.KubernetesObjectApi;
  private readonly custom: k8s.CustomObjectsApi;
  private readonly core: k8s.CoreV1Api;

  constructor(
    kc: k8s.KubeConfig,
    private readonly metrics: OperatorMetrics,
  ) {
    this.objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    this.custom = kc.makeApiClient(k8s.CustomObjectsApi);
    this.core = kc.makeApiClient(k8s.CoreV1Api);
  }

  private async track<T>(verb: string, resource: string, fn: () => Promise<T>): Promise<T> {
    try {
      const result = await fn();
      this.metrics.apiRequests.inc({ verb, resource, code: '200' });
      return result;
    } catch (err) {
      this.metrics.apiRequests.inc({ verb, resource, code: String(statusCodeOf(err)) });
      throw err;
    }
  }

  /** Server-side apply, forcing ownership of the fields we set; returns the object as the server stored it. */
  async apply<T extends KubernetesObject>(obj: T, opts: ApplyOptions = {}): Promise<T> {
    const verb = opts.dryRun ? 'apply-dry-run' : 'apply';
    const result = await this.track(verb, resourceOf(obj), () =>
      this.objects.patch(
        obj,
        undefined,
        opts.dryRun ? 'All' : undefined,
        fieldManager,
        true,
        k8s.PatchStrategy.ServerSideApply,
      ),
    );
    return plain(result) as T;
  }

  /** Deletes in the background (dependents by garbage collection). False when it was already gone. */
  async delete(obj: KubernetesObject): Promise<boolean> {
    try {
      await this.track('delete', resourceOf(obj), () =>
        this.objects.delete(obj, undefined, undefined, undefined, undefined, 'Background'),
      );
      return true;
    } catch (err) {
      if (statusCodeOf(err) === 404) return false;
      throw err;
    }
  }

  /** Replaces status through the status subresource (the spec cannot change this way). */
  async patchStatus(md: ModelDeployment, status: ModelDeploymentStatus): Promise<void> {
    await this.track('patch-status', plural, () =>
      this.custom.patchNamespacedCustomObjectStatus(
        {
          group,
          version,
          plural,
          namespace: md.metadata.namespace!,
          name: md.metadata.name!,
          // resourceVersion makes this a compare-and-swap against the status we computed from.
          body: { metadata: { resourceVersion: md.metadata.resourceVersion }, status },
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      ),
    );
  }

  async createEvent(event: k8s.CoreV1Event): Promise<k8s.CoreV1Event> {
    return this.track('create', 'events', () =>
      this.core.createNamespacedEvent({ namespace: event.metadata!.namespace!, body: event }),
    );
  }

  async patchEvent(namespace: string, name: string, patch: object): Promise<void> {
    await this.track('patch', 'events', () =>
      this.core.patchNamespacedEvent(
        { namespace, name, body: patch },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      ),
    );
  }
}

/** Lower-case plural-ish resource label for metrics, from the kind. */
export function resourceOf(obj: KubernetesObject): string {
  const kind = obj.kind ?? 'unknown';
  const lower = kind.toLowerCase();
  return lower.endsWith('s') ? `${lower}es` : lower.endsWith('y') ? `${lower.slice(0, -1)}ies` : `${lower}s`;
}
