import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBinaries } from './binaries.js';
import { isAlive, readState, type ClusterState } from './state.js';

export interface LaunchOptions {
  /** State directory; a fresh temporary one when absent. */
  dir?: string;
  /** The cluster is torn down when this process exits (test runs). Absent: it lives until stopCluster. */
  ownerPid?: number;
  /** Remove the state directory on shutdown. */
  ephemeral?: boolean;
  timeoutMs?: number;
}

const here = dirname(fileURLToPath(import.meta.url));

/** The command that runs supervisor.ts (from sources through tsx, or compiled JavaScript). */
function supervisorCommand(): string[] {
  const ts = join(here, 'supervisor.ts');
  if (existsSync(ts)) return [process.execPath, '--import', 'tsx', ts];
  return [process.execPath, join(here, 'supervisor.js')];
}

/**
 * Builds the binaries if needed, starts a supervisor process that owns the cluster, and resolves once
 * the cluster is usable. Rejects, with the reason and the component's log lines, if it fails to start.
 */
export async function launchCluster(o: LaunchOptions = {}): Promise<ClusterState> {
  await ensureBinaries();
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'modelship-cluster-'));
  mkdirSync(dir, { recursive: true });
  const [cmd, ...args] = supervisorCommand();
  args.push('--dir', dir);
  if (o.ownerPid !== undefined) args.push('--owner-pid', String(o.ownerPid));
  if (o.ephemeral) args.push('--ephemeral');
  const out = openSync(join(dir, 'supervisor.log'), 'a');
  const child = spawn(cmd!, args, {
    detached: true,
    stdio: ['ignore', out, out],
    cwd: join(here, '..', '..'),
  });
  closeSync(out);
  child.unref();
  const pid = child.pid!;
  const deadline = Date.now() + (o.timeoutMs ?? 90_000);
  for (;;) {
    const state = readState(dir);
    if (state?.status === 'ready') return state;
    if (state?.status === 'failed') {
      await waitGone(pid, 10_000);
      throw new Error(`the local cluster failed to start: ${state.error}`);
    }
    if (!isAlive(pid)) {
      const log = existsSync(join(dir, 'supervisor.log'))
        ? readFileSync(join(dir, 'supervisor.log'), 'utf8')
        : '';
      throw new Error(`the cluster supervisor exited before the cluster was ready:\n${log.slice(-2000)}`);
    }
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGTERM');
      throw new Error(
        `the local cluster did not become ready within ${o.timeoutMs ?? 90_000} ms; logs in ${dir}/logs`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Stops the cluster that owns `dir` and waits until every component is gone. */
export async function stopCluster(dir: string, timeoutMs = 30_000): Promise<boolean> {
  const state = readState(dir);
  if (!state || !isAlive(state.supervisorPid)) return false;
  process.kill(state.supervisorPid, 'SIGTERM');
  await waitGone(state.supervisorPid, timeoutMs);
  // Belt and braces: the supervisor stops its components, but a component that ignored SIGTERM dies here.
  for (const c of state.components ?? []) if (c.pid && isAlive(c.pid)) process.kill(c.pid, 'SIGKILL');
  return true;
}

async function waitGone(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
