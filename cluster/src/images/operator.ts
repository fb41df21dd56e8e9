import { fileInputs, type HashInput } from './hash.js';
import { buildDockerfileImage, dockerfileInputFiles } from './dockerfile.js';
import type { ImageRecipe, RecipeContext } from './recipe.js';

export const DOCKERFILE = 'operator/Dockerfile';

/** Every file of the repository the operator build reads, relative to the repository root. */
export function operatorInputFiles(repoRoot: string): Promise<string[]> {
  return dockerfileInputFiles(repoRoot, {
    dockerfile: DOCKERFILE,
    // main.ts and what it imports, the serving runtime's env.ts and routes.ts among them: not the kubectl plugin.
    buildTsconfig: 'operator/tsconfig.build.json',
    sourceDirs: ['operator/src'],
  });
}

/**
 * modelship/operator:<package.json version>: the operator, built by buildah from operator/Dockerfile with the
 * repository root as context, as users build it (`buildah bud -f operator/Dockerfile .`), on top of the locally
 * made node-base. Built only when asked for (`make image-operator`, `tsx cluster/src/images/cli.ts operator`): the
 * local cluster runs the operator on the host, so no node imports it.
 */
export const operatorRecipe: ImageRecipe = {
  id: 'operator',
  deps: ['node-base'],
  ref: (ctx: RecipeContext) => `modelship/operator:${ctx.packageVersion}`,
  async inputs(ctx) {
    const nodeBase = ctx.deps.get('node-base');
    if (!nodeBase) throw new Error('the operator image needs node-base first');
    const files = await operatorInputFiles(ctx.repoRoot);
    const inputs: HashInput[] = [
      { name: 'recipe', value: '1' },
      { name: 'image:node-base', value: nodeBase.inputHash },
      ...(await fileInputs(ctx.repoRoot, files)),
    ];
    return inputs;
  },
  async build(ctx, target) {
    await buildDockerfileImage(ctx, target, {
      dockerfile: DOCKERFILE,
      ref: this.ref(ctx),
      nodeBase: ctx.deps.get('node-base')!,
    });
  },
};
