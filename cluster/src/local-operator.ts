/**
 * The operator as `make cluster-up` (and so `make demo`) runs it beside the local cluster: a background process
 * whose PID and log live in the cluster's state folder, so that `make cluster-down` stops it with everything else.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubectl } from './kubectl.js';
import { freePort, httpGet } from './process.js';
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
    { detached: true, stdio: ['ignore', out, out] },
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

/** Stops the demo operator (SIGTERM, then SIGKILL after 10 s). */
export async function stopLocalOperator(dir: string): Promise<boolean> {
  const pid = localOperatorPid(dir);
  rmSync(pidFile(dir), { force: true });
  if (!pid) return false;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  return true;
}

/** The CRD (established) and the operator's RBAC, as `make install` applies them. Idempotent. */
export async function installModelship(kubeconfig: string): Promise<void> {
  const steps = [
    ['apply', '--server-side', '-f', join(repoRoot, 'crds')],
    ['wait', '--for=condition=Established', '--timeout=60s', 'crd/modeldeployments.modelship.dev'],
    ['apply', '--server-side', '-f', join(repoRoot, 'config/rbac/operator.yaml')],
  ];
  for (const args of steps) {
    const r = await kubectl(args, { kubeconfig, timeoutMs: 90_000 });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr.trim()}`);
  }
}
