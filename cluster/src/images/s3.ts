import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { goInstall } from './go-build.js';
import { requireVersion, versionInputs } from './hash.js';
import { packRootfs } from './oci.js';
import type { ImageRecipe } from './recipe.js';

/** The bucket the image creates at start unless its arguments say otherwise. */
export const S3_DEFAULT_BUCKET = 'models';
export const S3_PORT = 9000;

/**
 * modelship.local/s3: an S3-compatible object store for tests of s3:// model loading in the cluster, gofakes3's own
 * command built through the Go module proxy. Its flags already cover what tests need: `-host` to listen,
 * `-initialbucket` to create a bucket at start, path-style buckets by default, and it accepts any credentials (it
 * does not check signatures). Objects live in memory. Entrypoint `/gofakes3 -backend memory -host :9000`; the
 * default arguments `-initialbucket models` can be replaced by a pod's `args`.
 */
export const s3Recipe: ImageRecipe = {
  id: 's3',
  deps: [],
  ref: () => 'modelship.local/s3:1',
  inputs: async (ctx) => [
    { name: 'recipe', value: '1' },
    ...versionInputs(ctx.versions, ['GOFAKES3_VERSION']),
  ],
  async build(ctx, target) {
    const version = requireVersion(ctx.versions, 'GOFAKES3_VERSION');
    const binary = await goInstall(
      'github.com/johannesboyne/gofakes3/cmd/gofakes3',
      version,
      join(target.workDir, 'bin'),
      ctx.log,
    );
    const rootfs = join(target.workDir, 'rootfs');
    await mkdir(rootfs, { recursive: true });
    await rename(binary, join(rootfs, 'gofakes3'));
    await packRootfs({
      rootfs,
      workDir: target.workDir,
      config: {
        entrypoint: ['/gofakes3', '-backend', 'memory', '-host', `:${S3_PORT}`],
        cmd: ['-initialbucket', S3_DEFAULT_BUCKET],
        user: '65532:65532',
        exposedPorts: [`${S3_PORT}/tcp`],
      },
      ref: this.ref(ctx),
      archive: target.archive,
      log: ctx.log,
    });
  },
};
