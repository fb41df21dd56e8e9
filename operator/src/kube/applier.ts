/**
 * Makes owned objects match what the operator wants, writing only when something would change.
 * In steady state it makes no request at all: it compares the informer's copy with the server's own
 * rendering of the last apply (see reconcile/drift.ts). When it has no such rendering (after a restart or a
 * change of the desired object), it asks for one with a dry-run apply, which persists nothing.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { canonicalJson } from '../desired/names.js';
import { matchesApplied } from '../reconcile/drift.js';
import type { KubeClient } from './client.js';

export type ApplyOutcome = 'created' | 'updated' | 'unchanged';

interface Rendering {
  desired: string;
  applied: KubernetesObject;
}

export class Applier {
  private readonly renderings = new Map<string, Rendering>();

  constructor(private readonly client: KubeClient) {}

  async ensure(desired: KubernetesObject, observed: KubernetesObject | undefined): Promise<ApplyOutcome> {
    const key = keyOf(desired);
    const desiredJson = canonicalJson(desired);
    if (!observed) {
      this.renderings.set(key, { desired: desiredJson, applied: await this.client.apply(desired) });
      return 'created';
    }
    let rendering = this.renderings.get(key);
    if (rendering?.desired !== desiredJson) {
      rendering = { desired: desiredJson, applied: await this.client.apply(desired, { dryRun: true }) };
      this.renderings.set(key, rendering);
    }
    if (matchesApplied(desired, rendering.applied, observed)) return 'unchanged';
    // The informer has not yet seen our own last write: wait for its event rather than write again.
    if (olderThan(observed, rendering.applied)) return 'unchanged';
    this.renderings.set(key, { desired: desiredJson, applied: await this.client.apply(desired) });
    return 'updated';
  }

  /** Deletes; false when it was already gone. */
  async delete(obj: KubernetesObject): Promise<boolean> {
    this.renderings.delete(keyOf(obj));
    return this.client.delete(obj);
  }

  /** Drop what is remembered about the objects of a deleted ModelDeployment. */
  forgetNamespaceName(namespace: string, mdName: string): void {
    for (const key of this.renderings.keys()) {
      const [, ns, name] = key.split('/');
      if (ns === namespace && (name === mdName || name?.startsWith(`${mdName}-`)))
        this.renderings.delete(key);
    }
  }

  /** Number of remembered renderings (for tests and memory checks). */
  size(): number {
    return this.renderings.size;
  }
}

/**
 * resourceVersions are opaque to clients in general, but they are etcd revisions on every real API server;
 * an unparsable one is never treated as older (Argo Rollouts' resourceversion tracker makes the same bet).
 */
function olderThan(a: KubernetesObject, b: KubernetesObject): boolean {
  const ra = Number(a.metadata?.resourceVersion);
  const rb = Number(b.metadata?.resourceVersion);
  return Number.isSafeInteger(ra) && Number.isSafeInteger(rb) && ra < rb;
}

function keyOf(o: KubernetesObject): string {
  return `${o.kind}/${o.metadata?.namespace}/${o.metadata?.name}`;
}
