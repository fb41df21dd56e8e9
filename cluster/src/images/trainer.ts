import { dockerfileRecipe, folderDockerfileInputFiles, type FolderDockerfileInputs } from './dockerfile.js';

/** The example trainer's folder: its Dockerfile builds with the folder as context. */
export const CONTEXT = 'examples/retraining';
export const DOCKERFILE = `${CONTEXT}/Dockerfile`;

const inputs: FolderDockerfileInputs = {
  context: CONTEXT,
  // What the Dockerfile copies; examples/retraining/.dockerignore lets through exactly these.
  files: ['requirements.txt', 'train.py'],
};

/** Every file of the repository the trainer build reads, relative to the repository root. */
export function trainerInputFiles(): string[] {
  return folderDockerfileInputFiles(inputs);
}

/** The files the build copies from its context, relative to the context. */
export const TRAINER_CONTEXT_FILES = inputs.files;

/**
 * modelship/example-trainer:<package.json version>: the example trainer of the retraining loop (Python,
 * scikit-learn and skl2onnx from PyPI), built by buildah from examples/retraining/Dockerfile with that folder as
 * context, as users build it, on top of the locally made node-base. Built only when asked for
 * (`tsx cluster/src/images/cli.ts trainer`, or importImages(dir, ['trainer']) onto a running node): no node
 * imports it by default.
 */
export const trainerRecipe = dockerfileRecipe({
  id: 'trainer',
  name: 'modelship/example-trainer',
  recipeVersion: '1',
  inputs,
});
