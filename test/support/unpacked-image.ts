/**
 * An image from the local builder, unpacked as a container runtime would see it, for tests that run its ENTRYPOINT
 * without a runtime (operator-image.test.ts, example-trainer.test.ts): its recorded config (user, entrypoint,
 * environment) read from the docker-archive, and its root filesystem unpacked with skopeo and umoci.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureImages, type BuiltImage, type ImageId } from '../../cluster/src/images/index.js';

const run = promisify(execFile);

export interface ImageConfig {
  repoTags: string[];
  user: string;
  entrypoint: string[];
  cmd: string[];
  env: string[];
  workingDir: string;
  healthcheck: unknown;
  exposedPorts: string[];
}

/** The tags and runtime config recorded in a docker-archive (what `ctr images import` and a kubelet see). */
export async function archiveConfig(archive: string): Promise<ImageConfig> {
  const tarFile = async (name: string) =>
    (await run('tar', ['-xOf', archive, name], { maxBuffer: 1 << 26 })).stdout;
  const [manifest] = JSON.parse(await tarFile('manifest.json')) as { Config: string; RepoTags: string[] }[];
  const { config } = JSON.parse(await tarFile(manifest!.Config)) as {
    config: {
      User?: string;
      Entrypoint?: string[];
      Cmd?: string[];
      Env?: string[];
      WorkingDir?: string;
      Healthcheck?: unknown;
      ExposedPorts?: Record<string, unknown>;
    };
  };
  return {
    repoTags: manifest!.RepoTags,
    user: config.User ?? '',
    entrypoint: config.Entrypoint ?? [],
    cmd: config.Cmd ?? [],
    env: config.Env ?? [],
    workingDir: config.WorkingDir ?? '/',
    healthcheck: config.Healthcheck,
    exposedPorts: Object.keys(config.ExposedPorts ?? {}).sort(),
  };
}

/** The image's environment as a container runtime gives it (`NAME=value` lines to an object). */
export function imageEnv(config: ImageConfig): Record<string, string> {
  return Object.fromEntries(config.env.map((e) => e.split(/=(.*)/s, 2) as [string, string]));
}

export interface UnpackedImage {
  image: BuiltImage;
  config: ImageConfig;
  /** The unpacked root filesystem. */
  rootfs: string;
}

/**
 * Builds `id` (or takes it from the cache), says on stderr what it took, and unpacks it under `work`. A failed build
 * fails with the last lines of its output.
 */
export async function unpackedImage(id: ImageId, work: string): Promise<UnpackedImage> {
  const started = Date.now();
  const lines: string[] = [];
  const [image] = await ensureImages([id], { log: (l) => lines.push(l) }).catch((err: Error) => {
    throw new Error(`${err.message}\n--- last build output ---\n${lines.slice(-40).join('\n')}`);
  });
  process.stderr.write(
    `\n${id} image ${image!.ref}: ${(image!.sizeBytes / 2 ** 20).toFixed(1)} MiB, ` +
      (image!.cached
        ? `from the cache (built in ${(image!.buildMs / 1000).toFixed(1)} s)`
        : `built in ${((Date.now() - started) / 1000).toFixed(1)} s`) +
      '\n',
  );
  const config = await archiveConfig(image!.archive);
  const layout = join(work, 'oci');
  await run('skopeo', ['copy', '--quiet', `docker-archive:${image!.archive}`, `oci:${layout}:${id}`]);
  await run('umoci', ['unpack', '--image', `${layout}:${id}`, join(work, 'bundle')]);
  return { image: image!, config, rootfs: join(work, 'bundle', 'rootfs') };
}
