import type { HashInput } from './hash.js';
import type { Log } from './tools.js';

export const IMAGE_IDS = [
  'pause',
  'node-base',
  'server',
  'coredns',
  'fileserver',
  's3',
  'operator',
  'trainer',
] as const;
export type ImageId = (typeof IMAGE_IDS)[number];

export interface BuiltImage {
  id: ImageId;
  /** The reference pods use, e.g. 'modelship/server:0.1.0' (containerd stores it as docker.io/modelship/server:0.1.0). */
  ref: string;
  /** A docker-archive tarball for `ctr -n k8s.io images import`. */
  archive: string;
  /** Hash of the build inputs; an unchanged input set is not rebuilt. */
  inputHash: string;
  /** Size of the archive in bytes. */
  sizeBytes: number;
  /** How long the build took when it ran (also for a cached image: the time of its original build). */
  buildMs: number;
  /** True when this call found the image in the cache and built nothing. */
  cached: boolean;
}

/** What a recipe knows when it lists its inputs and when it builds. */
export interface RecipeContext {
  /** The repository whose files the server image is built from. */
  repoRoot: string;
  /** The cache root ($MODELSHIP_CACHE); images live under <cacheRoot>/images. */
  cacheRoot: string;
  /** cluster/versions.env */
  versions: Record<string, string>;
  /** package.json's version: the server image's tag. */
  packageVersion: string;
  /** The images this one depends on, already ensured. */
  deps: ReadonlyMap<ImageId, BuiltImage>;
  log: Log;
}

export interface BuildTarget {
  /** Scratch space, deleted after the build. */
  workDir: string;
  /** Where the docker-archive must be written. */
  archive: string;
}

/** How one image is made: its reference, the inputs its cache key covers, and the build itself. */
export interface ImageRecipe {
  id: ImageId;
  /** Images that must exist first (their hashes are part of this one's inputs). */
  deps: readonly ImageId[];
  ref(ctx: RecipeContext): string;
  /**
   * Everything the build output depends on. Bump `recipe` in an image's inputs when its build steps change in a
   * way that changes the image.
   */
  inputs(ctx: RecipeContext): Promise<HashInput[]>;
  build(ctx: RecipeContext, target: BuildTarget): Promise<void>;
}

/** Ids in build order: each image after the images it depends on, each once. */
export function buildOrder(ids: readonly ImageId[], depsOf: (id: ImageId) => readonly ImageId[]): ImageId[] {
  const order: ImageId[] = [];
  const visiting = new Set<ImageId>();
  const visit = (id: ImageId) => {
    if (order.includes(id)) return;
    if (visiting.has(id)) throw new Error(`image dependency cycle through ${id}`);
    visiting.add(id);
    for (const dep of depsOf(id)) visit(dep);
    visiting.delete(id);
    order.push(id);
  };
  for (const id of ids) visit(id);
  return order;
}
