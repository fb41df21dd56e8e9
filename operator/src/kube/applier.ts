/**
 * Makes owned objects match what the operator wants, writing only when something would change.
 * In steady state it makes no request at all: it compares the informer's copy with the server's own
 * rendering of the last apply (see fingerprint.ts). When it has no such rendering (after a restart or a
 * change of the desired object), it asks for one with a dry-run apply, which persists nothing.
 * Per object it remembers only two digests and a resourceVersion, not the object.
 */
import { createHash } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import { canonicalJson } from '../util/canonical-json.js';
import { fingerprint } from './fingerprint.js';
import type { KubeWriter } from './client.js';
import { realClock, type Clock } from './clock.js';

export type ApplyOutcome = 'created' | 'updated' | 'unchanged';

interface Rendering {
  /** Digest of the desired object the rendering is for. */
  desired: string;
  /** Fingerprint of the server's rendering, on the fields we set. */
  applied: string;
  /** resourceVersion of the rendering: the object as of our last write (or as the dry-run saw it). */
  resourceVersion?: string;
  /** When this process created the object, until the cache first shows it (an "expectation", as client-go's). */
  createdAt?: number;
}

/**
 * How long a created object may stay unseen by the cache before it is taken as deleted and created again.
 * Informers deliver a create within a second or so; client-go's expectations time out after 5 minutes.
 */
export const createExpectationMs = 60_000;

export class Applier {
  private readonly renderings = new Map<string, Rendering>();
  /** Keys of the objects applied for each owner, so that a deleted owner's are forgotten (and no one else's). */
  private readonly byOwner = new Map<string, Set<string>>();

  constructor(
    private readonly client: KubeWriter,
    private readonly clock: Clock = realClock,
  ) {}

  /** @param owner who wants the object (e.g. "namespace/name" of its ModelDeployment), for `forget`. */
  async ensure(
    desired: KubernetesObject,
    observed: KubernetesObject | undefined,
    owner: string,
  ): Promise<ApplyOutcome> {
    const key = keyOf(desired);
    let owned = this.byOwner.get(owner);
    if (!owned) this.byOwner.set(owner, (owned = new Set()));
    owned.add(key);
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
    let rendering = this.renderings.get(key);
    if (!observed) {
      // Created by us and not yet in the cache: wait for its event rather than apply again (and report a
      // second creation). Past the expectation it may have been deleted before the cache saw it: create it.
      const createdAt = rendering?.createdAt;
      const awaited = createdAt !== undefined && this.clock.now() - createdAt < createExpectationMs;
      if (awaited && rendering?.desired === desiredDigest) return 'unchanged';
      const created = await render(false);
      created.createdAt = this.clock.now();
      return awaited ? 'updated' : 'created';
    }
    if (rendering) rendering.createdAt = undefined;
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

  /** Drops what is remembered about the objects of an owner that is gone. */
  forget(owner: string): void {
    for (const key of this.byOwner.get(owner) ?? []) this.renderings.delete(key);
    this.byOwner.delete(owner);
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
