import { fileInputs, type HashInput } from './hash.js';
import { buildDockerfileImage, dockerfileInputFiles } from './dockerfile.js';
import type { ImageRecipe, RecipeContext } from './recipe.js';

export { dockerfileBaseImages } from './dockerfile.js';

export const DOCKERFILE = 'server-image/Dockerfile';

/** Every file of the repository the server build reads, relative to the repository root. */
export function serverInputFiles(repoRoot: string): Promise<string[]> {
  return dockerfileInputFiles(repoRoot, {
    dockerfile: DOCKERFILE,
    // The Dockerfile compiles the server only.
    buildTsconfig: 'server-image/tsconfig.build.json',
    sourceDirs: ['server-image/src'],
  });
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
    await buildDockerfileImage(ctx, target, {
      dockerfile: DOCKERFILE,
      ref: this.ref(ctx),
      nodeBase: ctx.deps.get('node-base')!,
    });
  },
};
