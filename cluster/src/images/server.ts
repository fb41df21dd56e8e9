import { dockerfileInputFiles, nodeDockerfileRecipe, type DockerfileInputs } from './dockerfile.js';

export { dockerfileBaseImages } from './dockerfile.js';

export const DOCKERFILE = 'server-image/Dockerfile';

const inputs: DockerfileInputs = {
  dockerfile: DOCKERFILE,
  // The Dockerfile compiles the server only.
  buildTsconfig: 'server-image/tsconfig.build.json',
  sourceDirs: ['server-image/src'],
};

/** Every file of the repository the server build reads, relative to the repository root. */
export function serverInputFiles(repoRoot: string): Promise<string[]> {
  return dockerfileInputFiles(repoRoot, inputs);
}

/**
 * modelship/server:<package.json version>: the serving runtime, built by buildah from server-image/Dockerfile with
 * the repository root as context, exactly as users build it (`buildah bud -f server-image/Dockerfile .`), on top of
 * the locally made node-base. There is no second recipe for it.
 */
export const serverRecipe = nodeDockerfileRecipe({
  id: 'server',
  name: 'modelship/server',
  recipeVersion: '3',
  inputs,
});
