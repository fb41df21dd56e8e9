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

/**
 * Waits until every named CRD is Established. Polled rather than `kubectl wait --for=condition=Established`: that
 * fails at once ("<nil> is of the type <nil>") when it reads a CRD before the API server has written any status
 * condition, which happens right after an apply on a loaded machine.
 */
export async function waitForCrdsEstablished(
  crds: string[],
  opts: { kubeconfig: string; timeoutMs?: number },
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  for (const name of crds) {
    for (;;) {
      const r = await kubectl(
        ['get', `crd/${name}`, '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}'],
        { kubeconfig: opts.kubeconfig },
      );
      if (r.code === 0 && r.stdout === 'True') break;
      if (Date.now() > deadline)
        throw new Error(
          `CRD ${name} was not Established within ${timeoutMs / 1000} s${r.code ? `: ${r.stderr.trim()}` : ''}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
