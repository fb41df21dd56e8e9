/**
 * The operator as `make cluster-up` (and so `make demo`) runs it beside the local cluster: a background process
 * whose PID and log live in the cluster's state folder, so that `make cluster-down` stops it with everything else.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { kubectl, waitForCrdsEstablished } from './kubectl.js';
import { freePort, httpGet } from './process.js';
import { CLUSTER_MARKER, describeProc, isRunning, readProc, stopProcs } from './proc-table.js';
import { isAlive } from './state.js';
import { repoRoot } from './versions.js';

const pidFile = (dir: string) => join(dir, 'operator.pid');

export function localOperatorPid(dir: string): number | undefined {
  if (!existsSync(pidFile(dir))) return undefined;
  const pid = Number(readFileSync(pidFile(dir), 'utf8'));
  return isAlive(pid) ? pid : undefined;
}

/** Starts the compiled operator (make build) against `kubeconfig` unless one runs; resolves when it is ready. */
export async function startLocalOperator(
  dir: string,
  kubeconfig: string,
  extraArgs: string[] = [],
): Promise<{ pid: number; log: string; metricsPort: number }> {
  const log = join(dir, 'logs', 'operator.log');
  const running = localOperatorPid(dir);
  if (running)
    return {
      pid: running,
      log,
      metricsPort: Number(readFileSync(join(dir, 'operator.metrics-port'), 'utf8')),
    };
  const [metricsPort, healthPort] = [await freePort(), await freePort()];
  const out = openSync(log, 'a');
  const child = spawn(
    process.execPath,
    [
      '--max-semi-space-size=2',
      join(repoRoot, 'dist/operator/src/main.js'),
      `--kubeconfig=${kubeconfig}`,
      '--no-leader-elect',
      '--bind-address=127.0.0.1',
      `--metrics-port=${metricsPort}`,
      `--health-port=${healthPort}`,
      ...extraArgs,
    ],
    // The cluster's marker: if `make cluster-down` stops the cluster by another way, its sweep stops this too.
    { detached: true, stdio: ['ignore', out, out], env: { ...process.env, [CLUSTER_MARKER]: resolve(dir) } },
  );
  closeSync(out);
  child.unref();
  writeFileSync(pidFile(dir), String(child.pid));
  writeFileSync(join(dir, 'operator.metrics-port'), String(metricsPort));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!isAlive(child.pid!)) throw new Error(`the operator exited at start; see ${log}`);
    if ((await httpGet(`http://127.0.0.1:${healthPort}/readyz`).catch(() => ({ status: 0 }))).status === 200)
      break;
    if (Date.now() > deadline) throw new Error(`the operator did not become ready in 30 s; see ${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { pid: child.pid!, log, metricsPort };
}

/**
 * Stops the background operator and resolves once it has exited: SIGTERM, then SIGKILL after 10 s. Resolves
 * with whether one ran and, if it had to be killed, which process that was.
 */
export async function stopLocalOperator(dir: string): Promise<{ stopped: boolean; killed?: string }> {
  const pid = localOperatorPid(dir);
  const proc = pid === undefined ? undefined : readProc(pid);
  rmSync(pidFile(dir), { force: true });
  if (!proc || !isRunning(proc)) return { stopped: false };
  const [killed] = await stopProcs([proc], { graceMs: 10_000 });
  return { stopped: true, killed: killed && describeProc(killed) };
}

/** The CRD (established) and the operator's RBAC, as `make install` applies them. Idempotent. */
export async function installModelship(kubeconfig: string): Promise<void> {
  const ok = async (args: string[]) => {
    const r = await kubectl(args, { kubeconfig, timeoutMs: 90_000 });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr.trim()}`);
    return r.stdout;
  };
  await ok(['apply', '--server-side', '-f', join(repoRoot, 'crds')]);
  await waitForCrdsEstablished(['modeldeployments.modelship.dev', 'modelversions.modelship.dev'], {
    kubeconfig,
    timeoutMs: 60_000,
  });
  await ok(['apply', '--server-side', '-f', join(repoRoot, 'config/rbac/operator.yaml')]);
}
