import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runTool, type Log } from './tools.js';

/** The parts of an OCI image config the recipes set. */
export interface ImageConfig {
  entrypoint?: string[];
  cmd?: string[];
  /** `uid:gid`, numeric so Kubernetes' runAsNonRoot can verify it without an /etc/passwd. */
  user?: string;
  env?: Record<string, string>;
  workdir?: string;
  labels?: Record<string, string>;
  /** e.g. '8080/tcp' */
  exposedPorts?: string[];
}

/** `umoci config` arguments for a config (pure; umoci appends each repeated entrypoint/cmd/env flag). */
export function umociConfigArgs(config: ImageConfig): string[] {
  const args: string[] = ['--architecture', 'amd64', '--os', 'linux'];
  for (const part of config.entrypoint ?? []) args.push('--config.entrypoint', part);
  for (const part of config.cmd ?? []) args.push('--config.cmd', part);
  if (config.user) args.push('--config.user', config.user);
  for (const [key, value] of Object.entries(config.env ?? {})) args.push('--config.env', `${key}=${value}`);
  if (config.workdir) args.push('--config.workingdir', config.workdir);
  for (const [key, value] of Object.entries(config.labels ?? {}))
    args.push('--config.label', `${key}=${value}`);
  for (const port of config.exposedPorts ?? []) args.push('--config.exposedports', port);
  return args;
}

/**
 * Packs a root filesystem folder into a one-layer image and writes it as a docker-archive tarball tagged `ref`
 * (what `ctr images import` reads). umoci builds an OCI layout in `workDir`; skopeo converts it.
 */
export async function packRootfs(opts: {
  rootfs: string;
  workDir: string;
  config: ImageConfig;
  ref: string;
  archive: string;
  log?: Log;
}): Promise<void> {
  await mkdir(opts.workDir, { recursive: true });
  const layout = join(opts.workDir, 'oci');
  const image = `${layout}:image`;
  const tool = (cmd: string, args: string[]) => runTool(cmd, args, { log: opts.log });
  await tool('umoci', ['init', '--layout', layout]);
  await tool('umoci', ['new', '--image', image]);
  await tool('umoci', ['insert', '--image', image, opts.rootfs, '/']);
  await tool('umoci', ['config', '--image', image, ...umociConfigArgs(opts.config)]);
  await tool('skopeo', ['copy', '--quiet', `oci:${image}`, `docker-archive:${opts.archive}:${opts.ref}`]);
}
