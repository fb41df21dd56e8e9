/**
 * Makes owned objects match what the operator wants, writing only when something would change.
 * In steady state it makes no request at all: it compares the informer's copy with the server's own
 * rendering of the last apply (see reconcile/drift.ts). When it has no such rendering (after a restart or a
 * change of the desired object), it asks for one with a dry-run apply, which persists nothing.
 * Per object it remembers only two digests and a resourceVersion, not the object.
 */
import { createHash } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import { canonicalJson } from '../desired/names.js';
import { fingerprint } from '../reconcile/drift.js';
import type { KubeClient } from './client.js';

export type ApplyOutcome = 'created' | 'updated' | 'unchanged';

interface Rendering {
  /** Digest of the desired object the rendering is for. */
  desired: string;
  /** Fingerprint of the server's rendering, on the fields we set. */
  applied: string;
  /** resourceVersion of the rendering: the object as of our last write (or as the dry-run saw it). */
  resourceVersion?: string;
}

export class Applier {
  private readonly renderings = new Map<string, Rendering>();

  constructor(private readonly client: KubeClient) {}

  async ensure(desired: KubernetesObject, observed: KubernetesObject | undefined): Promise<ApplyOutcome> {
    const key = keyOf(desired);
    const desiredDigest = createHash('sha256').update(canonicalJson(desired)).digest('base64url');
    const render = async (dryRun: boolean): Promise<Rendering> => {
      const applied = await this.client.apply(desired, { dryRun });
      const rendering = {
        desired: desiredDigest,
        applied: fingerprint(desired, applied),
        resourceVersion: applied.metadata?.resourceVersion,
      };
      this.renderings.set(key, rendering);
      return rendering;
    };
    if (!observed) {
      await render(false);
      return 'created';
    }
    let rendering = this.renderings.get(key);
    if (rendering?.desired !== desiredDigest) rendering = await render(true);
    if (fingerprint(desired, observed) === rendering.applied) return 'unchanged';
    // The informer has not yet seen our own last write: wait for its event rather than write again.
    if (olderThan(observed.metadata?.resourceVersion, rendering.resourceVersion)) return 'unchanged';
    await render(false);
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
function olderThan(a: string | undefined, b: string | undefined): boolean {
  const ra = Number(a);
  const rb = Number(b);
  return Number.isSafeInteger(ra) && Number.isSafeInteger(rb) && ra < rb;
}

function keyOf(o: KubernetesObject): string {
  return `${o.kind}/${o.metadata?.namespace}/${o.metadata?.name}`;
}
