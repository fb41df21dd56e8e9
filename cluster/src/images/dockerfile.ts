/**
 * Images built by buildah from one of the repository's own Dockerfiles (server-image/Dockerfile,
 * operator/Dockerfile, examples/retraining/Dockerfile), with the locally made node-base as their only base: exactly
 * as users build them (`buildah bud -f <dockerfile> <context>`), so there is no second recipe to drift apart. The
 * TypeScript images' context is the repository root (nodeDockerfileRecipe); an image made of a few files of one
 * folder, such as the example trainer, has that folder as its context (dockerfileRecipe).
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
  o: {
    dockerfile: string;
    ref: string;
    nodeBase: BuiltImage;
    /** The build context, relative to the repository root; default: the repository root. */
    context?: string;
  },
): Promise<void> {
  const { dockerfile, ref, nodeBase } = o;
  const context = join(ctx.repoRoot, o.context ?? '.');
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
      ctx.log(`buildah bud -f ${dockerfile} -t ${ref} ${context}`);
      await tool('buildah', [
        'bud',
        '--isolation',
        'chroot',
        '--pull-never',
        '--layers=false',
        // RUN steps use the host's network: no CNI bridge, chains or state are created on the host for the build.
        '--network',
        'host',
        ...(await hostTrustVolume(target.workDir, declaresPipCert(text))),
        '-f',
        join(ctx.repoRoot, dockerfile),
        '-t',
        stored,
        context,
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
 * is Node's own roots plus those extra certificates. The image itself is unchanged. pip needs the same bundle: a
 * Dockerfile that installs from PyPI declares `ARG PIP_CERT` before its `pip install`, and the build sets it to that
 * bundle (pip reads PIP_CERT from the environment); without extra certificates the argument stays unset.
 */
async function hostTrustVolume(workDir: string, pipCert: boolean): Promise<string[]> {
  const extra = process.env.NODE_EXTRA_CA_CERTS;
  if (!extra) return [];
  const dir = join(workDir, 'npm-global-config');
  await mkdir(dir, { recursive: true });
  const bundle = `${rootCertificates.join('\n')}\n${await readFile(extra, 'utf8')}`;
  await writeFile(join(dir, 'build-ca.pem'), bundle);
  await writeFile(join(dir, 'npmrc'), 'cafile=/usr/local/etc/build-ca.pem\n');
  return [
    '--volume',
    `${dir}:/usr/local/etc:ro`,
    ...(pipCert ? ['--build-arg', 'PIP_CERT=/usr/local/etc/build-ca.pem'] : []),
  ];
}

/** Whether a Dockerfile declares `ARG PIP_CERT` (pip's CA bundle, see hostTrustVolume). Pure. */
export function declaresPipCert(dockerfile: string): boolean {
  return /^\s*ARG\s+PIP_CERT\s*$/im.test(dockerfile);
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
  const nodeBaseOf = (ctx: RecipeContext) => requireNodeBase(ctx, o.id);
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

function requireNodeBase(ctx: RecipeContext, id: ImageId): BuiltImage {
  const nodeBase = ctx.deps.get('node-base');
  if (!nodeBase) throw new Error(`the ${id} image needs node-base first`);
  return nodeBase;
}

/** What a Dockerfile build in a folder of its own reads: the folder's Dockerfile, .dockerignore and `files`. */
export interface FolderDockerfileInputs {
  /** The build context, relative to the repository root. */
  context: string;
  /**
   * Every file the build copies, relative to the context: its .dockerignore must let through these and nothing else,
   * so that the hash covers exactly what the build sees.
   */
  files: readonly string[];
}

/** The files of such a build, relative to the repository root: Dockerfile, .dockerignore and `files`. */
export function folderDockerfileInputFiles(d: FolderDockerfileInputs): string[] {
  return ['Dockerfile', '.dockerignore', ...d.files].map((f) => `${d.context}/${f}`);
}

/**
 * The recipe of an image built on node-base from `<context>/Dockerfile` with a folder of the repository as context,
 * for an image that is not a TypeScript build (the example trainer: Python): its hash covers the recipe's own
 * version, node-base's hash and the files listed, nothing of the rest of the repository.
 */
export function dockerfileRecipe(o: {
  id: ImageId;
  /** The image's name without its tag; the tag is the root package.json's version. */
  name: string;
  /** Bumped when the recipe itself changes what it builds from the same files. */
  recipeVersion: string;
  inputs: FolderDockerfileInputs;
}): ImageRecipe {
  const ref = (ctx: RecipeContext) => `${o.name}:${ctx.packageVersion}`;
  return {
    id: o.id,
    deps: ['node-base'],
    ref,
    async inputs(ctx) {
      return [
        { name: 'recipe', value: o.recipeVersion },
        { name: 'image:node-base', value: requireNodeBase(ctx, o.id).inputHash },
        ...(await fileInputs(ctx.repoRoot, folderDockerfileInputFiles(o.inputs))),
      ];
    },
    async build(ctx, target) {
      await buildDockerfileImage(ctx, target, {
        dockerfile: `${o.inputs.context}/Dockerfile`,
        context: o.inputs.context,
        ref: ref(ctx),
        nodeBase: requireNodeBase(ctx, o.id),
      });
    },
  };
}
