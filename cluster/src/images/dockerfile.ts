/**
 * Images built by buildah from one of the repository's own Dockerfiles (server-image/Dockerfile,
 * operator/Dockerfile), with the repository root as context and the locally made node-base as their only base:
 * exactly as users build them (`buildah bud -f <dockerfile> .`), so there is no second recipe to drift apart.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import { join } from 'node:path';
import { imagesRoot } from './cache.js';
import { withLock } from './lock.js';
import { fileInputs, type HashInput } from './hash.js';
import type { BuildTarget, BuiltImage, ImageRecipe, ImageId, RecipeContext } from './recipe.js';
import { compiledFiles, relativeToRepo, walkFiles } from './sources.js';
import { openStorage } from './storage.js';
import { runTool } from './tools.js';

/** The external images a Dockerfile builds FROM, in order, without its own stage names or `scratch` (pure). */
export function dockerfileBaseImages(dockerfile: string): string[] {
  const stages = new Set<string>();
  const bases: string[] = [];
  for (const raw of dockerfile.replace(/\\\r?\n/g, ' ').split(/\r?\n/)) {
    const line = raw.trim();
    if (!/^FROM\s/i.test(line)) continue;
    const words = line
      .split(/\s+/)
      .slice(1)
      .filter((w) => !w.startsWith('--'));
    const image = words[0];
    if (!image) continue;
    if (!stages.has(image.toLowerCase()) && image !== 'scratch' && !bases.includes(image)) bases.push(image);
    if (words[1]?.toLowerCase() === 'as' && words[2]) stages.add(words[2].toLowerCase());
  }
  return bases;
}

/** What one Dockerfile build reads from the repository, besides the root npm files and tsconfigs every build reads. */
export interface DockerfileInputs {
  dockerfile: string;
  /** The TypeScript project the Dockerfile compiles; it and, transitively, what it imports are inputs. */
  buildTsconfig: string;
  /** Folders whose every file is an input (tests included: `COPY . .` copies them). */
  sourceDirs: readonly string[];
}

/**
 * Every file of the repository a Dockerfile build reads, relative to the repository root: the Dockerfile, the
 * context filter, the npm files and the manifest of each npm workspace (`npm ci` reads them all), the root
 * tsconfigs, the source folders, and every file the build's tsconfig compiles, wherever it lies.
 */
export async function dockerfileInputFiles(repoRoot: string, d: DockerfileInputs): Promise<string[]> {
  const tsconfigs = (await readdir(repoRoot)).filter((n) => /^tsconfig.*\.json$/.test(n));
  const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { workspaces?: string[] };
  const workspaceManifests = (pkg.workspaces ?? []).map((w) => `${w}/package.json`);
  const fixed = [
    d.dockerfile,
    '.dockerignore',
    'package.json',
    'package-lock.json',
    '.npmrc',
    d.buildTsconfig,
  ];
  return relativeToRepo(repoRoot, [
    ...[...fixed, ...workspaceManifests, ...tsconfigs].map((f) => join(repoRoot, f)),
    ...d.sourceDirs.flatMap((dir) => walkFiles(join(repoRoot, dir))),
    ...compiledFiles(repoRoot, d.buildTsconfig),
  ]);
}

/**
 * Builds `dockerfile` into the docker-archive `target.archive`, tagged `ref`, on top of node-base. The builds share
 * one private containers-storage (node-base's layers are stored once), and each build resets its run root and
 * prunes it: so two Dockerfile builds, of different images or in different processes, never use it at once.
 */
export async function buildDockerfileImage(
  ctx: RecipeContext,
  target: BuildTarget,
  o: { dockerfile: string; ref: string; nodeBase: BuiltImage },
): Promise<void> {
  const { dockerfile, ref, nodeBase } = o;
  // buildah would store a short name as localhost/<name> anyway; spelled out, every step below names the same image.
  const stored = `localhost/${ref}`;
  const text = await readFile(join(ctx.repoRoot, dockerfile), 'utf8');
  const wrongBases = dockerfileBaseImages(text).filter((b) => b !== nodeBase.ref);
  if (wrongBases.length > 0) {
    throw new Error(
      `${dockerfile} builds FROM ${wrongBases.join(', ')}, but the only base image made here is ${nodeBase.ref} ` +
        '(there is no registry to pull from): use that, or change NODE_IMAGE_VERSION in cluster/versions.env',
    );
  }
  await withLock(
    storeLockFile(ctx.cacheRoot),
    () => ctx.log('waiting for another image build that uses the buildah store'),
    async () => {
      const storage = await openStorage(ctx.cacheRoot);
      const tool = (cmd: string, args: string[]) =>
        runTool(cmd, args, {
          cwd: ctx.repoRoot,
          // Big temporary files (layer diffs while committing and pushing) go to the build folder, not /var/tmp.
          env: { ...storage.env, TMPDIR: target.workDir },
          log: ctx.log,
        });
      // Working containers of a killed build are still recorded in the store; drop them (and their layers).
      await tool('buildah', ['rm', '--all']);
      // Put node-base where `FROM node:<tag>` with --pull-never finds it: docker.io/library/node:<tag>.
      await tool('skopeo', [
        'copy',
        '--quiet',
        `docker-archive:${nodeBase.archive}`,
        `containers-storage:docker.io/library/${nodeBase.ref}`,
      ]);
      ctx.log(`buildah bud -f ${dockerfile} -t ${ref} ${ctx.repoRoot}`);
      await tool('buildah', [
        'bud',
        '--isolation',
        'chroot',
        '--pull-never',
        '--layers=false',
        // RUN steps use the host's network: no CNI bridge, chains or state are created on the host for the build.
        '--network',
        'host',
        ...(await hostTrustVolume(target.workDir)),
        '-f',
        join(ctx.repoRoot, dockerfile),
        '-t',
        stored,
        ctx.repoRoot,
      ]);
      // skopeo rather than `buildah push`, which would also tag the archive with its name in the store.
      await tool('skopeo', [
        'copy',
        '--quiet',
        `containers-storage:${stored}`,
        `docker-archive:${target.archive}:${ref}`,
      ]);
      // The archive is the cached artifact; the store keeps only node-base, whose layers the next build reuses.
      await tool('buildah', ['rmi', stored]);
      await tool('buildah', ['rmi', '--prune']);
    },
  );
}

/** Where the lock of the shared buildah store lies (next to the store, in the images cache). */
export function storeLockFile(cacheRoot: string): string {
  return join(imagesRoot(cacheRoot), 'containers-storage.lock');
}

/**
 * When this machine's Node needs extra CA certificates (NODE_EXTRA_CA_CERTS, e.g. behind a TLS-inspecting proxy),
 * so does the npm inside the build. The Dockerfile cannot be told through the environment (`buildah bud --env` only
 * sets the committed image's config), so for the RUN steps only, npm's global config folder /usr/local/etc (empty
 * in node-base, so nothing is left behind in a layer) is bind-mounted from a folder holding an npmrc whose `cafile`
 * is Node's own roots plus those extra certificates. The image itself is unchanged.
 */
async function hostTrustVolume(workDir: string): Promise<string[]> {
  const extra = process.env.NODE_EXTRA_CA_CERTS;
  if (!extra) return [];
  const dir = join(workDir, 'npm-global-config');
  await mkdir(dir, { recursive: true });
  const bundle = `${rootCertificates.join('\n')}\n${await readFile(extra, 'utf8')}`;
  await writeFile(join(dir, 'build-ca.pem'), bundle);
  await writeFile(join(dir, 'npmrc'), 'cafile=/usr/local/etc/build-ca.pem\n');
  return ['--volume', `${dir}:/usr/local/etc:ro`];
}

/**
 * The recipe of an image built from one of the repository's Dockerfiles on node-base: its hash covers the recipe's
 * own version, node-base's hash and every file the build reads (dockerfileInputFiles).
 */
export function nodeDockerfileRecipe(o: {
  id: ImageId;
  /** The image's name without its tag; the tag is the root package.json's version. */
  name: string;
  /** Bumped when the recipe itself changes what it builds from the same files. */
  recipeVersion: string;
  inputs: DockerfileInputs;
}): ImageRecipe {
  const ref = (ctx: RecipeContext) => `${o.name}:${ctx.packageVersion}`;
  const nodeBaseOf = (ctx: RecipeContext): BuiltImage => {
    const nodeBase = ctx.deps.get('node-base');
    if (!nodeBase) throw new Error(`the ${o.id} image needs node-base first`);
    return nodeBase;
  };
  return {
    id: o.id,
    deps: ['node-base'],
    ref,
    async inputs(ctx) {
      const nodeBase = nodeBaseOf(ctx);
      const files = await dockerfileInputFiles(ctx.repoRoot, o.inputs);
      const inputs: HashInput[] = [
        { name: 'recipe', value: o.recipeVersion },
        { name: 'image:node-base', value: nodeBase.inputHash },
        ...(await fileInputs(ctx.repoRoot, files)),
      ];
      return inputs;
    },
    async build(ctx, target) {
      await buildDockerfileImage(ctx, target, {
        dockerfile: o.inputs.dockerfile,
        ref: ref(ctx),
        nodeBase: nodeBaseOf(ctx),
      });
    },
  };
}
