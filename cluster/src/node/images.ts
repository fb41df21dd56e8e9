/**
 * Images onto a running local node, after it started: no registry, so an image a pod runs is imported into the node's
 * containerd (namespace k8s.io, where the kubelet looks) from the docker-archive the image builder made. The node
 * imports what every cluster needs at start (launcher.ts nodeImages); the operator image, which only the chart mode
 * and the Helm tests run, is imported on demand with this.
 */
import { ensureImages, type BuiltImage, type ImageId } from '../images/index.js';
import { run } from '../exec.js';
import { nodeLayout } from './layout.js';

/** `ctr` against the node of the cluster whose state lives in `dir`. */
export function nodeCtr(dir: string, ...args: string[]) {
  return run('ctr', ['--address', nodeLayout(dir).containerdSocket, '-n', 'k8s.io', ...args]);
}

export async function importArchive(dir: string, image: { ref: string; archive: string }): Promise<void> {
  await nodeCtr(dir, 'images', 'import', '--no-unpack', image.archive);
}

/** Builds (or takes from the cache) the images and imports them into the node; returns them with their refs. */
export async function importImages(
  dir: string,
  ids: ImageId[],
  log?: (line: string) => void,
): Promise<BuiltImage[]> {
  const built = await ensureImages(ids, { log });
  for (const image of built) await importArchive(dir, image);
  return built;
}

/** A second name for an imported image, as a registry push of the same image under a new tag would give. */
export async function tagImage(dir: string, source: string, target: string): Promise<void> {
  await nodeCtr(dir, 'images', 'tag', '--force', qualified(source), qualified(target));
}

/** containerd stores `modelship/operator:1` as the kubelet asks for it: `docker.io/modelship/operator:1`. */
export function qualified(ref: string): string {
  const first = ref.split('/')[0]!;
  if (ref.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) return ref;
  return ref.includes('/') ? `docker.io/${ref}` : `docker.io/library/${ref}`;
}
