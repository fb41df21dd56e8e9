import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import { join } from 'node:path';
import { fileInputs, type HashInput } from './hash.js';
import type { ImageRecipe, RecipeContext } from './recipe.js';
import { compiledFiles, relativeToRepo, walkFiles } from './sources.js';
import { openStorage } from './storage.js';
import { runTool } from './tools.js';

export const DOCKERFILE = 'server-image/Dockerfile';
/**
 * Files of the build context that every build reads, besides the sources and the manifest of each npm workspace
 * (`npm ci` reads them all; the runtime stage installs the server-image workspace's dependencies).
 */
const FIXED_INPUTS = [
  DOCKERFILE,
  '.dockerignore',
  'package.json',
  'package-lock.json',
  '.npmrc',
  'server-image/tsconfig.build.json',
];
/** Folders whose every file is an input (tests included: `COPY . .` copies them). */
const SOURCE_DIRS = ['server-image/src'];
/** The TypeScript project the Dockerfile compiles (the server only). */
const BUILD_TSCONFIG = 'server-image/tsconfig.build.json';

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

/** Every file of the repository the server build reads, relative to the repository root. */
export async function serverInputFiles(repoRoot: string): Promise<string[]> {
  const tsconfigs = (await readdir(repoRoot)).filter((n) => /^tsconfig.*\.json$/.test(n));
  const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { workspaces?: string[] };
  const workspaceManifests = (pkg.workspaces ?? []).map((w) => `${w}/package.json`);
  return relativeToRepo(repoRoot, [
    ...[...FIXED_INPUTS, ...workspaceManifests, ...tsconfigs].map((f) => join(repoRoot, f)),
    ...SOURCE_DIRS.flatMap((d) => walkFiles(join(repoRoot, d))),
    ...compiledFiles(repoRoot, BUILD_TSCONFIG),
  ]);
}

/**
 * modelship/server:<package.json version>: the serving runtime, built by buildah from server-image/Dockerfile with
 * the repository root as context, exactly as users build it (`buildah bud -f server-image/Dockerfile .`), on top of
 * the locally made node-base. There is no second recipe for it.
 */
export const serverRecipe: ImageRecipe = {
  id: 'server',
  deps: ['node-base'],
  ref: (ctx: RecipeContext) => `modelship/server:${ctx.packageVersion}`,
  async inputs(ctx) {
    const nodeBase = ctx.deps.get('node-base');
    if (!nodeBase) throw new Error('the server image needs node-base first');
    const files = await serverInputFiles(ctx.repoRoot);
    const inputs: HashInput[] = [
      { name: 'recipe', value: '3' },
      { name: 'image:node-base', value: nodeBase.inputHash },
      ...(await fileInputs(ctx.repoRoot, files)),
    ];
    return inputs;
  },
  async build(ctx, target) {
    const nodeBase = ctx.deps.get('node-base')!;
    const ref = this.ref(ctx);
    // buildah would store a short name as localhost/<name> anyway; spelled out, every step below names the same image.
    const stored = `localhost/${ref}`;
    const dockerfile = await readFile(join(ctx.repoRoot, DOCKERFILE), 'utf8');
    const wrongBases = dockerfileBaseImages(dockerfile).filter((b) => b !== nodeBase.ref);
    if (wrongBases.length > 0) {
      throw new Error(
        `${DOCKERFILE} builds FROM ${wrongBases.join(', ')}, but the only base image made here is ${nodeBase.ref} ` +
          '(there is no registry to pull from): use that, or change NODE_IMAGE_VERSION in cluster/versions.env',
      );
    }
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
    ctx.log(`buildah bud -f ${DOCKERFILE} -t ${ref} ${ctx.repoRoot}`);
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
      join(ctx.repoRoot, DOCKERFILE),
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
};

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
