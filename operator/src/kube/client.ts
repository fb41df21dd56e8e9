/**
 * The operator's writes to the Kubernetes API: server-side apply with one field manager, deletes, status
 * patches and Events. Plain JSON over kubeRequest with fixed resource paths (no discovery round trips, no
 * typed (de)serialisation), each request counted by verb, resource and status code. Reads come from the
 * informer caches, never from here.
 */
import type { CoreV1Event, KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import {
  apiVersion,
  group,
  kind,
  plural,
  version,
  type ModelDeployment,
  type ModelDeploymentStatus,
} from '../api/v1alpha1/schema.js';
import type { OperatorMetrics } from '../telemetry/metrics.js';
import { httpStatusOf, kubeRequest, KubeApiError } from './http.js';

export const fieldManager = 'modelship-operator';

export interface ApplyOptions {
  /** Ask the server what the object would look like, without persisting anything. */
  dryRun?: boolean;
}

/** The kinds the operator writes, and where they live. */
const resources: Record<string, { base: string; plural: string }> = {
  'apps/v1/Deployment': { base: '/apis/apps/v1', plural: 'deployments' },
  'v1/Service': { base: '/api/v1', plural: 'services' },
  'policy/v1/PodDisruptionBudget': { base: '/apis/policy/v1', plural: 'poddisruptionbudgets' },
  'autoscaling/v2/HorizontalPodAutoscaler': {
    base: '/apis/autoscaling/v2',
    plural: 'horizontalpodautoscalers',
  },
  'v1/Event': { base: '/api/v1', plural: 'events' },
  [`${group}/${version}/ModelDeployment`]: { base: `/apis/${group}/${version}`, plural },
};

function resourceFor(obj: KubernetesObject): { base: string; plural: string } {
  const r = resources[`${obj.apiVersion}/${obj.kind}`];
  if (!r) throw new Error(`the operator does not write ${obj.apiVersion}/${obj.kind}`);
  return r;
}

function objectPath(obj: KubernetesObject, suffix = ''): string {
  const r = resourceFor(obj);
  const ns = encodeURIComponent(obj.metadata!.namespace!);
  return `${r.base}/namespaces/${ns}/${r.plural}/${encodeURIComponent(obj.metadata!.name!)}${suffix}`;
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

export class KubeClient {
  constructor(
    private readonly kc: KubeConfig,
    private readonly metrics: OperatorMetrics,
  ) {}

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
    return this.track(opts.dryRun ? 'apply-dry-run' : 'apply', resourceFor(obj).plural, async () => {
      return (await kubeRequest(this.kc, {
        method: 'PATCH',
        path: objectPath(obj),
        query: { fieldManager, force: true, dryRun: opts.dryRun ? 'All' : undefined },
        contentType: 'application/apply-patch+yaml', // JSON is valid YAML
        body: obj,
      })) as T;
    });
  }

  /** Deletes in the background (dependents by garbage collection). False when it was already gone. */
  async delete(obj: KubernetesObject): Promise<boolean> {
    try {
      await this.track('delete', resourceFor(obj).plural, () =>
        kubeRequest(this.kc, {
          method: 'DELETE',
          path: objectPath(obj),
          body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' },
        }),
      );
      return true;
    } catch (err) {
      if (statusCodeOf(err) === 404) return false;
      throw err;
    }
  }

  /**
   * Replaces status through the status subresource (the spec cannot change this way). The resourceVersion
   * makes it a compare-and-swap against the status it was computed from: a 409 means "look again".
   */
  async patchStatus(md: ModelDeployment, status: ModelDeploymentStatus): Promise<void> {
    await this.track('patch-status', plural, () =>
      kubeRequest(this.kc, {
        method: 'PATCH',
        path: objectPath({ apiVersion, kind, metadata: md.metadata }, '/status'),
        contentType: 'application/merge-patch+json',
        body: { metadata: { resourceVersion: md.metadata.resourceVersion }, status },
      }),
    );
  }

  async createEvent(event: CoreV1Event): Promise<void> {
    const ns = encodeURIComponent(event.metadata!.namespace!);
    await this.track('create', 'events', () =>
      kubeRequest(this.kc, { method: 'POST', path: `/api/v1/namespaces/${ns}/events`, body: event }),
    );
  }

  async patchEvent(namespace: string, name: string, patch: object): Promise<void> {
    await this.track('patch', 'events', () =>
      kubeRequest(this.kc, {
        method: 'PATCH',
        path: objectPath({ apiVersion: 'v1', kind: 'Event', metadata: { namespace, name } }),
        contentType: 'application/merge-patch+json',
        body: patch,
      }),
    );
  }
}
