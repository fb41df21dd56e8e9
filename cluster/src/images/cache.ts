import { chmod, mkdir, mkdtemp, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageId } from './recipe.js';
import { removeTree } from './tools.js';

/**
 * Cache layout, outside the repository:
 *   <cacheRoot>/images/<id>/<inputHash>/image.tar    the docker-archive
 *   <cacheRoot>/images/<id>/<inputHash>/meta.json    ref, hash, size, build time
 *   <cacheRoot>/images/<id>/.build-<hash>-XXXXXX/     a build in progress, renamed to <inputHash> when complete
 *   <cacheRoot>/images/<id>/.lock                     flock: one builder per image
 * A folder named by its hash exists only once complete (rename is atomic), so a killed build leaves at most a
 * .build-* folder, which the next build of that image deletes.
 */
export const ARCHIVE_NAME = 'image.tar';
const META_NAME = 'meta.json';
const BUILD_PREFIX = '.build-';
/** Completed builds kept per image: the current one and a couple of recent ones (e.g. another branch's). */
export const KEEP_BUILDS = 3;

export interface CacheMeta {
  ref: string;
  inputHash: string;
  sizeBytes: number;
  buildMs: number;
  builtAt: string;
}

export function imagesRoot(cacheRoot: string): string {
  return join(cacheRoot, 'images');
}

export function imageRoot(cacheRoot: string, id: ImageId): string {
  return join(imagesRoot(cacheRoot), id);
}

export function entryDir(cacheRoot: string, id: ImageId, inputHash: string): string {
  return join(imageRoot(cacheRoot, id), inputHash);
}

export function lockFile(cacheRoot: string, id: ImageId): string {
  return join(imageRoot(cacheRoot, id), '.lock');
}

/** A complete cached build, or undefined. An archive whose size does not match its meta.json is not trusted. */
export async function readEntry(
  cacheRoot: string,
  id: ImageId,
  inputHash: string,
): Promise<(CacheMeta & { archive: string }) | undefined> {
  const dir = entryDir(cacheRoot, id, inputHash);
  try {
    const meta = JSON.parse(await readFile(join(dir, META_NAME), 'utf8')) as CacheMeta;
    const archive = join(dir, ARCHIVE_NAME);
    const st = await stat(archive);
    if (st.size !== meta.sizeBytes || meta.inputHash !== inputHash) return undefined;
    return { ...meta, archive };
  } catch {
    return undefined;
  }
}

/** A fresh folder for a build of `inputHash`; call only while holding the image's lock. */
export async function startBuild(cacheRoot: string, id: ImageId, inputHash: string): Promise<string> {
  const root = imageRoot(cacheRoot, id);
  await mkdir(root, { recursive: true });
  const dir = await mkdtemp(join(root, `${BUILD_PREFIX}${inputHash}-`));
  await chmod(dir, 0o755); // mkdtemp's 0700 would hide the archive from other users
  return dir;
}

/** Records the build's meta.json and moves the folder to its final name in one atomic rename. */
export async function commitBuild(
  cacheRoot: string,
  id: ImageId,
  buildDir: string,
  meta: Omit<CacheMeta, 'sizeBytes'>,
): Promise<CacheMeta & { archive: string }> {
  const sizeBytes = (await stat(join(buildDir, ARCHIVE_NAME))).size;
  const full: CacheMeta = { ...meta, sizeBytes };
  await writeFile(join(buildDir, META_NAME), `${JSON.stringify(full, null, 2)}\n`);
  const dir = entryDir(cacheRoot, id, meta.inputHash);
  // A complete entry cannot be here (we checked under the lock), but a corrupt one could: replace it.
  await removeTree(dir);
  await rename(buildDir, dir);
  return { ...full, archive: join(dir, ARCHIVE_NAME) };
}

/** Deletes what killed builds of this image left behind; call only while holding the image's lock. */
export async function removeStaleBuilds(cacheRoot: string, id: ImageId): Promise<string[]> {
  const root = imageRoot(cacheRoot, id);
  const names = await readdir(root).catch(() => [] as string[]);
  const stale = names.filter((n) => n.startsWith(BUILD_PREFIX)).map((n) => join(root, n));
  for (const dir of stale) await removeTree(dir);
  return stale;
}

/** Which completed builds to delete: all but the `keep` newest, never the current one (pure). */
export function entriesToPrune(
  entries: readonly { hash: string; mtimeMs: number }[],
  current: string,
  keep: number,
): string[] {
  const others = entries.filter((e) => e.hash !== current).sort((a, b) => b.mtimeMs - a.mtimeMs);
  return others.slice(Math.max(0, keep - 1)).map((e) => e.hash);
}

/** Deletes old completed builds of an image beyond KEEP_BUILDS; call only while holding the image's lock. */
export async function pruneBuilds(cacheRoot: string, id: ImageId, current: string): Promise<void> {
  const root = imageRoot(cacheRoot, id);
  const names = (await readdir(root).catch(() => [] as string[])).filter((n) => /^[0-9a-f]{16}$/.test(n));
  const entries = await Promise.all(
    names.map(async (hash) => ({ hash, mtimeMs: (await stat(join(root, hash))).mtimeMs })),
  );
  for (const hash of entriesToPrune(entries, current, KEEP_BUILDS)) await removeTree(join(root, hash));
}
