import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { binaryPaths, ensureBinaries } from './binaries.js';
import { cleanHost } from './node/teardown.js';
import { ensureImages, type ImageId } from './images/index.js';
import { resolveNodePorts, type NodePorts } from './node/layout.js';
import { checkHost, ensurePackages } from './node/prereqs.js';
import type { ClusterMode } from './state.js';
import { isAlive, readState, type ClusterState } from './state.js';

export interface LaunchOptions {
  /** State directory; a fresh temporary one when absent. */
  dir?: string;
  /** The cluster is torn down when this process exits (test runs). Absent: it lives until stopCluster. */
  ownerPid?: number;
  /** Remove the state directory on shutdown. */
  ephemeral?: boolean;
  /**
   * Fixed ports. A control plane uses only `apiserver` (default: a free one); a node uses all of them
   * (defaults: `defaultNodePorts`).
   */
  ports?: Partial<NodePorts>;
  /** `controlplane` (default): etcd, apiserver, controller-manager. `node`: plus a real node that runs pods. */
  mode?: ClusterMode;
  timeoutMs?: number;
  /** Progress lines (package installs, builds); default stderr. */
  log?: (line: string) => void;
}

/** Images every node imports: the pod sandbox, DNS, and what Modelship's pods and tests run. */
export const nodeImages: ImageId[] = ['pause', 'coredns', 'server', 'fileserver', 's3'];

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
  const mode = o.mode ?? 'controlplane';
  const log = o.log ?? ((line: string) => process.stderr.write(`cluster: ${line}\n`));
  // A node's prerequisites are checked here, in the caller's terminal, before anything starts.
  if (mode === 'node') {
    await checkHost(resolveNodePorts(o.ports));
    await ensurePackages(log);
  }
  await ensureBinaries();
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'modelship-cluster-'));
  mkdirSync(dir, { recursive: true });
  if (mode === 'node') {
    const built = await ensureImages(nodeImages, { log });
    const coredns = built.find((b) => b.ref.includes('coredns'))!.ref;
    const fileserver = built.find((b) => b.ref.includes('fileserver'))!.ref;
    writeFileSync(
      join(dir, 'images.json'),
      JSON.stringify({ images: built.map((b) => ({ ref: b.ref, archive: b.archive })), coredns, fileserver }),
    );
  }
  const [cmd, ...args] = supervisorCommand();
  args.push('--dir', dir);
  if (o.ownerPid !== undefined) args.push('--owner-pid', String(o.ownerPid));
  if (o.ephemeral) args.push('--ephemeral');
  if (o.ports && Object.keys(o.ports).length) args.push('--ports', JSON.stringify(o.ports));
  args.push('--mode', mode);
  const out = openSync(join(dir, 'supervisor.log'), 'a');
  // fd 3 is a pipe on which the supervisor reports once, "ready" or the start-up error, then closes it:
  // race-free even when an ephemeral supervisor removes its directory right after a failure.
  const child = spawn(cmd!, args, {
    detached: true,
    stdio: ['ignore', out, out, 'pipe'],
    cwd: join(here, '..', '..'),
  });
  closeSync(out);
  const timeoutMs = o.timeoutMs ?? (mode === 'node' ? 240_000 : 90_000);
  const report = await readReport(child.stdio[3] as Readable, timeoutMs);
  child.unref();
  if (report === undefined) {
    if (child.exitCode === null) child.kill('SIGTERM');
    throw new Error(`the local cluster did not become ready within ${timeoutMs} ms; logs in ${dir}/logs`);
  }
  const parsed = JSON.parse(report || '{"error":"the cluster supervisor exited without a report"}') as {
    error?: string;
  };
  if (parsed.error !== undefined) {
    await waitGone(child.pid!, 15_000);
    throw new Error(`the local cluster failed to start: ${parsed.error}`);
  }
  const state = readState(dir);
  if (state?.status !== 'ready')
    throw new Error(`the local cluster reported ready but its state is ${state?.status}`);
  return state;
}

/** Reads the supervisor's one report line; undefined on timeout, '' if the pipe closed without one. */
function readReport(stream: Readable, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const timer = setTimeout(() => {
      stream.destroy();
      resolve(undefined);
    }, timeoutMs);
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (text += chunk));
    stream.on('close', () => {
      clearTimeout(timer);
      resolve(text.trim());
    });
    stream.on('error', () => undefined);
  });
}

/**
 * Stops the cluster that owns `dir` and waits until every component is gone. For a node, the host is cleaned
 * again afterwards (idempotent), which also repairs what a crashed supervisor left. False if nothing ran.
 */
export async function stopCluster(dir: string, timeoutMs = 180_000): Promise<boolean> {
  const state = readState(dir);
  if (!state) return false;
  const running = isAlive(state.supervisorPid);
  if (running) {
    process.kill(state.supervisorPid, 'SIGTERM');
    await waitGone(state.supervisorPid, timeoutMs);
  }
  // Belt and braces: the supervisor stops its components, but a component that ignored SIGTERM dies here.
  for (const c of state.components ?? []) if (c.pid && isAlive(c.pid)) process.kill(c.pid, 'SIGKILL');
  if (state.mode === 'node') await cleanHost(dir, binaryPaths());
  return running;
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
