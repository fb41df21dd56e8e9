import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, clusterDir, readVersions } from './versions.js';

export interface Binaries {
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubelet: string;
  kubeProxy: string;
  kubectl: string;
  etcd: string;
  /** CRI client, used to stop pods cleanly when a node is torn down. */
  crictl: string;
  kubeVersion: string;
}

/** Paths of the cached binaries for the pinned versions (they may not exist yet). */
export function binaryPaths(): Binaries {
  const v = readVersions();
  const kubeVersion = v.KUBE_VERSION!;
  const k = join(cacheDir(), 'kubernetes', kubeVersion, 'bin');
  const e = join(cacheDir(), 'etcd', v.ETCD_VERSION!, 'bin');
  return {
    kubeApiserver: join(k, 'kube-apiserver'),
    kubeControllerManager: join(k, 'kube-controller-manager'),
    kubeScheduler: join(k, 'kube-scheduler'),
    kubelet: join(k, 'kubelet'),
    kubeProxy: join(k, 'kube-proxy'),
    kubectl: join(k, 'kubectl'),
    etcd: join(e, 'etcd'),
    crictl: join(cacheDir(), 'cri-tools', v.CRICTL_VERSION!, 'bin', 'crictl'),
    kubeVersion,
  };
}

/**
 * Returns the binaries, building them from source first when the cache lacks them
 * (several minutes the first time on 2 cores). Build output goes to stderr so a person sees progress.
 * Throws with the build script's own explanation when Go is missing or the build fails.
 */
export async function ensureBinaries(): Promise<Binaries> {
  const paths = binaryPaths();
  const all = Object.entries(paths).filter(([k]) => k !== 'kubeVersion');
  if (all.every(([, p]) => existsSync(p))) return paths;
  const script = join(clusterDir, 'build-binaries.sh');
  const stderr: string[] = [];
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      stderr.push(chunk.toString());
    });
    child.on('error', reject);
    child.on('exit', (c) => resolve(c ?? 1));
  });
  if (code !== 0) {
    const last = stderr.join('').trim().split('\n').slice(-3).join('\n');
    throw new Error(`could not build the Kubernetes test binaries (${script} exited ${code}):\n${last}`);
  }
  return paths;
}
