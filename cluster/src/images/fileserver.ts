import { chmod, copyFile, mkdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { clusterDir } from '../versions.js';
import { packRootfs } from './oci.js';
import type { ImageRecipe } from './recipe.js';

/** Debian's busybox-static: one static binary with httpd and a shell. */
const BUSYBOX = '/bin/busybox';
/** The port it listens on unless the PORT variable says otherwise. */
export const FILESERVER_PORT = 8080;
const startScript = () => join(clusterDir, 'images', 'fileserver', 'start.sh');

/**
 * modelship.local/fileserver: a static HTTP file server for tests that load models over http:// in the cluster.
 * busybox httpd under a small shell wrapper (cluster/images/fileserver/start.sh) that exits on SIGTERM. Serves
 * /srv (mount the models there) on $PORT, default 8080, as the unprivileged user 65534.
 */
export const fileserverRecipe: ImageRecipe = {
  id: 'fileserver',
  deps: [],
  ref: () => 'modelship.local/fileserver:1',
  inputs: async () => [
    { name: 'recipe', value: '1' },
    { name: 'busybox', value: await readBusybox() },
    { name: 'start.sh', value: await readFile(startScript()) },
  ],
  async build(ctx, target) {
    const rootfs = join(target.workDir, 'rootfs');
    await mkdir(join(rootfs, 'bin'), { recursive: true });
    await mkdir(join(rootfs, 'srv'), { recursive: true });
    await mkdir(join(rootfs, 'tmp'), { recursive: true });
    await chmod(join(rootfs, 'tmp'), 0o1777);
    await copyFile(BUSYBOX, join(rootfs, 'bin', 'busybox'));
    await chmod(join(rootfs, 'bin', 'busybox'), 0o755);
    await symlink('busybox', join(rootfs, 'bin', 'sh'));
    await copyFile(startScript(), join(rootfs, 'bin', 'start'));
    await chmod(join(rootfs, 'bin', 'start'), 0o755);
    await packRootfs({
      rootfs,
      workDir: target.workDir,
      config: {
        entrypoint: ['/bin/start'],
        user: '65534:65534',
        env: { PORT: String(FILESERVER_PORT) },
        exposedPorts: [`${FILESERVER_PORT}/tcp`],
      },
      ref: this.ref(ctx),
      archive: target.archive,
      log: ctx.log,
    });
  },
};

async function readBusybox(): Promise<Buffer> {
  try {
    return await readFile(BUSYBOX);
  } catch {
    throw new Error(
      `${BUSYBOX} is missing: install Debian's busybox-static (apt-get install busybox-static)`,
    );
  }
}
