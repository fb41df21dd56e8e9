import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { clusterDir } from '../versions.js';
import { goBuild, goVersion } from './go-build.js';
import { fileInputs, requireVersion, versionInputs } from './hash.js';
import { packRootfs } from './oci.js';
import type { ImageRecipe, RecipeContext } from './recipe.js';

const COREDNS_MODULE = 'github.com/coredns/coredns';
/** The main package that picks the plugins (see its comment), and the pins of everything it builds from. */
export const COREDNS_SOURCE = 'images/coredns';
export const COREDNS_SOURCE_FILES = ['main.go', 'go.mod', 'go.sum'] as const;
const sourceDir = () => join(clusterDir, COREDNS_SOURCE);

/**
 * modelship.local/coredns:<version>: a static CoreDNS with only the plugins the node uses, built through the Go
 * module proxy from cluster/images/coredns/ (a main package, go.mod and go.sum), alone in the image, run as the
 * non-root user 65532. Upstream's default plugin set pulls in hundreds of modules (cloud DNS backends and more) that
 * the node never uses. Serving on port 53 as that user needs the NET_BIND_SERVICE capability in the pod, as
 * upstream's manifests grant (the node's Corefile listens on 1053 instead).
 */
export const corednsRecipe: ImageRecipe = {
  id: 'coredns',
  deps: [],
  ref: (ctx: RecipeContext) =>
    `modelship.local/coredns:${requireVersion(ctx.versions, 'COREDNS_VERSION').replace(/^v/, '')}`,
  // Everything the build reads: the pinned version, the main package with its go.mod and go.sum, and the Go
  // toolchain that compiles them.
  inputs: async (ctx) => [
    { name: 'recipe', value: '2' },
    ...versionInputs(ctx.versions, ['COREDNS_VERSION']),
    ...(await fileInputs(
      clusterDir,
      COREDNS_SOURCE_FILES.map((f) => `${COREDNS_SOURCE}/${f}`),
    )),
    { name: 'go', value: await goVersion(sourceDir()) },
  ],
  async build(ctx, target) {
    const version = requireVersion(ctx.versions, 'COREDNS_VERSION');
    checkPinnedVersion(await readFile(join(sourceDir(), 'go.mod'), 'utf8'), version);
    // Built from a copy: nothing is written next to the sources, and what is built is what was hashed.
    const src = join(target.workDir, 'src');
    await mkdir(src, { recursive: true });
    for (const f of COREDNS_SOURCE_FILES) await copyFile(join(sourceDir(), f), join(src, f));
    const rootfs = join(target.workDir, 'rootfs');
    await mkdir(rootfs, { recursive: true });
    await goBuild(src, join(rootfs, 'coredns'), ctx.log);
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

/** The version of `module` that a go.mod requires, or undefined (pure). */
export function requiredVersion(goMod: string, module: string): string | undefined {
  const escaped = module.replace(/[.]/g, '\\.');
  return new RegExp(`^\\s*(?:require\\s+)?${escaped}\\s+(v\\S+)`, 'm').exec(goMod)?.[1];
}

/** The image is tagged with versions.env's COREDNS_VERSION: go.mod must build that very version. */
export function checkPinnedVersion(goMod: string, version: string): void {
  const required = requiredVersion(goMod, COREDNS_MODULE);
  if (required !== version) {
    throw new Error(
      `cluster/images/coredns/go.mod requires ${COREDNS_MODULE} ${required ?? '(nothing)'} but cluster/versions.env ` +
        `pins COREDNS_VERSION=${version}; update go.mod to match: cd cluster/images/coredns && ` +
        `go get ${COREDNS_MODULE}@${version} && go mod tidy`,
    );
  }
}
