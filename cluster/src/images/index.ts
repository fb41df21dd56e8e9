/**
 * Container images without a registry or a Docker engine: every image a pod of the local node uses is built on
 * this machine, cached by the hash of its inputs under $MODELSHIP_CACHE/images, and handed over as a docker-archive
 * for `ctr -n k8s.io images import`:
 *
 *   const images = await ensureImages(['pause', 'server', 'coredns']);
 *   for (const i of images) await run('ctr', ['-n', 'k8s.io', 'images', 'import', i.archive]);
 *   // pods: image: i.ref, imagePullPolicy: Never (or IfNotPresent)
 *
 * By hand: `tsx cluster/src/images/cli.ts [ids...]` prints the same as a table.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensurePackages } from '../node/prereqs.js';
import { cacheDir, readVersions, repoRoot as defaultRepoRoot } from '../versions.js';
import {
  commitBuild,
  lockFile,
  pruneBuilds,
  readEntry,
  removeStaleBuilds,
  startBuild,
  ARCHIVE_NAME,
} from './cache.js';
import { corednsRecipe } from './coredns.js';
import { fileserverRecipe } from './fileserver.js';
import { hashInputs } from './hash.js';
import { withLock } from './lock.js';
import { nodeBaseRecipe } from './node-base.js';
import { operatorRecipe } from './operator.js';
import { pauseRecipe } from './pause.js';
import {
  buildOrder,
  IMAGE_IDS,
  type BuiltImage,
  type ImageId,
  type ImageRecipe,
  type RecipeContext,
} from './recipe.js';
import { s3Recipe } from './s3.js';
import { serverRecipe } from './server.js';
import { trainerRecipe } from './trainer.js';
import { removeTree, type Log } from './tools.js';

export { IMAGE_IDS, type BuiltImage, type ImageId };
export { storagePaths } from './storage.js';
export { S3_DEFAULT_BUCKET, S3_PORT } from './s3.js';
export { FILESERVER_PORT } from './fileserver.js';

export const RECIPES: Readonly<Record<ImageId, ImageRecipe>> = {
  pause: pauseRecipe,
  'node-base': nodeBaseRecipe,
  server: serverRecipe,
  coredns: corednsRecipe,
  fileserver: fileserverRecipe,
  s3: s3Recipe,
  operator: operatorRecipe,
  trainer: trainerRecipe,
};

export interface EnsureOptions {
  /** Progress lines; default: stderr. */
  log?: Log;
  /** Cache root; default $MODELSHIP_CACHE or ~/.cache/modelship. */
  cacheDir?: string;
  /** The repository the server image is built from; default this checkout. */
  repoRoot?: string;
}

/**
 * Returns the requested images (in the order asked), building those whose inputs changed since they were last
 * built, and the images they depend on first. Concurrent callers, in this process or others, wait for each other's
 * builds of the same image instead of repeating them.
 */
export async function ensureImages(ids: ImageId[], opts: EnsureOptions = {}): Promise<BuiltImage[]> {
  for (const id of ids) {
    if (!(IMAGE_IDS as readonly string[]).includes(id)) {
      throw new Error(`unknown image '${id}'; known: ${IMAGE_IDS.join(', ')}`);
    }
  }
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  // buildah, umoci, skopeo, debootstrap, busybox-static, gcc: installed with apt when missing (as root).
  await ensurePackages(log);
  const repoRoot = opts.repoRoot ?? defaultRepoRoot;
  const base: Omit<RecipeContext, 'deps' | 'log'> = {
    repoRoot,
    cacheRoot: opts.cacheDir ?? cacheDir(),
    versions: readVersions(),
    packageVersion: await readPackageVersion(repoRoot),
  };
  const done = new Map<ImageId, BuiltImage>();
  for (const id of buildOrder(ids, (i) => RECIPES[i].deps)) {
    const ctx: RecipeContext = { ...base, deps: done, log: (line) => log(`[image ${id}] ${line}`) };
    done.set(id, await ensureImage(RECIPES[id], ctx));
  }
  return ids.map((id) => done.get(id)!);
}

async function ensureImage(recipe: ImageRecipe, ctx: RecipeContext): Promise<BuiltImage> {
  const { id } = recipe;
  const ref = recipe.ref(ctx);
  const inputHash = hashInputs(id, await recipe.inputs(ctx));
  const fromCache = async (): Promise<BuiltImage | undefined> => {
    const hit = await readEntry(ctx.cacheRoot, id, inputHash);
    return (
      hit && {
        id,
        ref,
        archive: hit.archive,
        inputHash,
        sizeBytes: hit.sizeBytes,
        buildMs: hit.buildMs,
        cached: true,
      }
    );
  };
  const hit = await fromCache();
  if (hit) return hit;
  return withLock(
    lockFile(ctx.cacheRoot, id),
    () => ctx.log('waiting for another process that is building this image'),
    async () => {
      const built = await fromCache(); // that other process may just have built it
      if (built) return built;
      for (const dir of await removeStaleBuilds(ctx.cacheRoot, id))
        ctx.log(`removed an unfinished build: ${dir}`);
      const buildDir = await startBuild(ctx.cacheRoot, id, inputHash);
      const workDir = join(buildDir, 'work');
      const started = Date.now();
      ctx.log(`building ${ref} (inputs ${inputHash})`);
      try {
        await mkdir(workDir);
        await recipe.build(ctx, { workDir, archive: join(buildDir, ARCHIVE_NAME) });
        await removeTree(workDir);
      } catch (err) {
        await removeTree(buildDir);
        throw new Error(`building image ${id} (${ref}) failed: ${(err as Error).message}`);
      }
      const buildMs = Date.now() - started;
      const entry = await commitBuild(ctx.cacheRoot, id, buildDir, {
        ref,
        inputHash,
        buildMs,
        builtAt: new Date().toISOString(),
      });
      await pruneBuilds(ctx.cacheRoot, id, inputHash);
      ctx.log(
        `built ${ref} in ${(buildMs / 1000).toFixed(1)} s (${(entry.sizeBytes / 2 ** 20).toFixed(1)} MiB)`,
      );
      return {
        id,
        ref,
        archive: entry.archive,
        inputHash,
        sizeBytes: entry.sizeBytes,
        buildMs,
        cached: false,
      };
    },
  );
}

async function readPackageVersion(repoRoot: string): Promise<string> {
  const path = join(repoRoot, 'package.json');
  const pkg = JSON.parse(await readFile(path, 'utf8')) as { version?: string };
  if (!pkg.version) throw new Error(`${path} has no version`);
  return pkg.version;
}
