import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { goInstall } from './go-build.js';
import { requireVersion, versionInputs } from './hash.js';
import { packRootfs } from './oci.js';
import type { ImageRecipe, RecipeContext } from './recipe.js';

/**
 * modelship.local/coredns:<version>: a static CoreDNS built through the Go module proxy (the module has no replace
 * directives, so `go install` builds it as published), alone in the image, run as the non-root user 65532.
 * Serving on port 53 as that user needs the NET_BIND_SERVICE capability in the pod, as upstream's manifests grant.
 */
export const corednsRecipe: ImageRecipe = {
  id: 'coredns',
  deps: [],
  ref: (ctx: RecipeContext) =>
    `modelship.local/coredns:${requireVersion(ctx.versions, 'COREDNS_VERSION').replace(/^v/, '')}`,
  inputs: async (ctx) => [
    { name: 'recipe', value: '1' },
    ...versionInputs(ctx.versions, ['COREDNS_VERSION']),
  ],
  async build(ctx, target) {
    const version = requireVersion(ctx.versions, 'COREDNS_VERSION');
    const binary = await goInstall(
      'github.com/coredns/coredns',
      version,
      join(target.workDir, 'bin'),
      ctx.log,
    );
    const rootfs = join(target.workDir, 'rootfs');
    await mkdir(rootfs, { recursive: true });
    await rename(binary, join(rootfs, 'coredns'));
    await packRootfs({
      rootfs,
      workDir: target.workDir,
      config: { entrypoint: ['/coredns'], user: '65532:65532', exposedPorts: ['53/tcp', '53/udp'] },
      ref: this.ref(ctx),
      archive: target.archive,
      log: ctx.log,
    });
  },
};
