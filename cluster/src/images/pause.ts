import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { goModuleDir } from './go-build.js';
import { requireVersion, versionInputs } from './hash.js';
import { packRootfs } from './oci.js';
import type { ImageRecipe, RecipeContext } from './recipe.js';
import { runTool } from './tools.js';

/**
 * registry.k8s.io/pause: the sandbox container of every pod. Built as upstream does (a static C binary of
 * build/pause/linux/pause.c), from the k8s.io/kubernetes module of the pinned KUBE_VERSION.
 */
export const pauseRecipe: ImageRecipe = {
  id: 'pause',
  deps: [],
  ref: (ctx: RecipeContext) => `registry.k8s.io/pause:${requireVersion(ctx.versions, 'PAUSE_VERSION')}`,
  inputs: async (ctx) => [
    { name: 'recipe', value: '1' },
    ...versionInputs(ctx.versions, ['KUBE_VERSION', 'PAUSE_VERSION']),
  ],
  async build(ctx, target) {
    const kube = requireVersion(ctx.versions, 'KUBE_VERSION');
    const tag = requireVersion(ctx.versions, 'PAUSE_VERSION');
    const source = join(await goModuleDir('k8s.io/kubernetes', kube), 'build/pause/linux/pause.c');
    const rootfs = join(target.workDir, 'rootfs');
    await mkdir(rootfs, { recursive: true });
    // The same flags as upstream's build/pause/Makefile, plus -s: `pause -v` prints this VERSION.
    await runTool(
      'gcc',
      [
        '-Os',
        '-Wall',
        '-Werror',
        '-static',
        '-s',
        `-DVERSION=v${tag}-modelship`,
        '-o',
        join(rootfs, 'pause'),
        source,
      ],
      { log: ctx.log },
    );
    await packRootfs({
      rootfs,
      workDir: target.workDir,
      config: { entrypoint: ['/pause'], user: '65535:65535' },
      ref: this.ref(ctx),
      archive: target.archive,
      log: ctx.log,
    });
  },
};
