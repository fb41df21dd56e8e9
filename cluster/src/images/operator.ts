import { dockerfileInputFiles, nodeDockerfileRecipe, type DockerfileInputs } from './dockerfile.js';

export const DOCKERFILE = 'operator/Dockerfile';

const inputs: DockerfileInputs = {
  dockerfile: DOCKERFILE,
  // main.ts and what it imports, the serving runtime's env.ts and routes.ts among them: not the kubectl plugin.
  buildTsconfig: 'operator/tsconfig.build.json',
  sourceDirs: ['operator/src'],
};

/** Every file of the repository the operator build reads, relative to the repository root. */
export function operatorInputFiles(repoRoot: string): Promise<string[]> {
  return dockerfileInputFiles(repoRoot, inputs);
}

/**
 * modelship/operator:<package.json version>: the operator, built by buildah from operator/Dockerfile with the
 * repository root as context, as users build it (`buildah bud -f operator/Dockerfile .`), on top of the locally
 * made node-base. Built only when asked for (`make image-operator`, `tsx cluster/src/images/cli.ts operator`): the
 * local cluster runs the operator on the host, so no node imports it.
 */
export const operatorRecipe = nodeDockerfileRecipe({
  id: 'operator',
  name: 'modelship/operator',
  recipeVersion: '1',
  inputs,
});
