import { execFile } from 'node:child_process';
import { binaryPaths } from './binaries.js';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the pinned kubectl (same version as the cluster) against a kubeconfig. Never throws for a
 * non-zero exit: callers assert on code and stderr, the way a user reads them.
 */
export function kubectl(
  args: string[],
  opts: { kubeconfig: string; input?: string; timeoutMs?: number },
): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      binaryPaths().kubectl,
      args,
      {
        env: { ...process.env, KUBECONFIG: opts.kubeconfig },
        timeout: opts.timeoutMs ?? 60_000,
        maxBuffer: 32 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (err && typeof (err as NodeJS.ErrnoException).code === 'string') return reject(err);
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}
