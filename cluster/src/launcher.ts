import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { binaryPaths, ensureBinaries } from './binaries.js';
import { mountsUnder } from './node/host.js';
import { cleanHost } from './node/teardown.js';
import { ensureImages, type ImageId } from './images/index.js';
import { resolveNodePorts, type NodePorts } from './node/layout.js';
import { checkHost, ensurePackages } from './node/prereqs.js';
import { ensureKubeRouter } from './node/policy-engine.js';
import {
  CLUSTER_MARKER,
  clusterProcs,
  describeProc,
  isRunning,
  readCmdline,
  readProc,
  stopProcs,
  waitExited,
  type Proc,
} from './proc-table.js';
import type { ClusterMode } from './state.js';
import { readState, stopRequestFile, type ClusterState } from './state.js';

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
    // Built here, in the caller's terminal, like the images: the supervisor only starts what is there.
    await ensureKubeRouter();
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
    // Inherited by every process the cluster starts on the host: how stopCluster finds them all (proc-table.ts).
    env: { ...process.env, [CLUSTER_MARKER]: resolve(dir) },
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

export interface StopClusterOptions {
  /** How long the supervisor may take to stop everything in order before what is left is killed. */
  timeoutMs?: number;
  /** Where to say which process had to be killed; default stderr. */
  log?: (line: string) => void;
}

/**
 * Stops the cluster that owns `dir` and resolves only when no process it started runs any more: the supervisor
 * stops the components in order; whatever still runs after that (or after `timeoutMs` if the supervisor hangs) is
 * stopped here, SIGTERM then SIGKILL, and named in the log. For a node, the host is cleaned again afterwards
 * (idempotent), which also repairs what a crashed supervisor left. Rejects if a process survives SIGKILL.
 * Resolves true if the cluster was running, false if nothing ran.
 */
export async function stopCluster(dir: string, o: StopClusterOptions = {}): Promise<boolean> {
  const state = readState(dir);
  if (!state) return false;
  const log = o.log ?? ((line: string) => process.stderr.write(`cluster: ${line}\n`));
  const timeoutMs = o.timeoutMs ?? 180_000;
  // Listed before anything stops, while every process is still where it was started.
  const started = clusterProcs(resolve(dir));
  const supervisor = started.find((p) => p.pid === state.supervisorPid) ?? legacySupervisor(state);
  const running = supervisor !== undefined;
  if (running) {
    writeFileSync(stopRequestFile(dir), String(process.pid));
    const killed = await stopProcs([supervisor], { graceMs: timeoutMs });
    for (const p of killed)
      log(`had to kill ${describeProc(p)}: it did not stop within ${timeoutMs / 1000} s`);
    // What the supervisor had to do beyond stopping its components in order, e.g. a process it killed.
    for (const line of readState(dir)?.notes ?? []) log(line);
  }
  if (state.mode === 'node') {
    const report = await cleanHost(dir, binaryPaths());
    for (const p of report.killedShimTrees)
      log(`had to kill ${describeProc(p)}: a containerd shim or container left after the cluster stopped`);
    if (report.unkillable) throw new Error(report.unkillable);
  }
  // Anything left, from before or started while stopping: the supervisor's own helpers (tsx's esbuild service,
  // when the TypeScript was not in tsx's cache) end as soon as their stdin closes, so they get a moment first.
  // Whatever still runs then is not expected: named, stopped, killed if need be.
  const byPid = new Map([...started, ...clusterProcs(resolve(dir))].map((p) => [p.pid, p]));
  await waitExited([...byPid.values()], 2000);
  const left = [...byPid.values()].filter(isRunning);
  if (left.length) log(`still running after the cluster stopped: ${left.map(describeProc).join(', ')}`);
  for (const p of await stopProcs(left, { graceMs: 5000 }))
    log(`had to kill ${describeProc(p)}: it did not exit within 5 s of SIGTERM`);
  // An ephemeral folder that the supervisor left for us (see stopRequestFile); never one with a mount inside.
  if (state.ephemeral && existsSync(dir)) {
    const mounts = mountsUnder([dir]);
    if (mounts.length) throw new Error(`not removing ${dir}: ${mounts.join(', ')} still mounted`);
    rmSync(dir, { recursive: true, force: true });
  }
  return running;
}

/**
 * The supervisor of a cluster started before processes carried CLUSTER_MARKER, recognised by its command line
 * (after a reboot, state.json's pid may name an unrelated process, which must not be stopped).
 */
function legacySupervisor(state: ClusterState): Proc | undefined {
  const p = readProc(state.supervisorPid);
  if (!p || !isRunning(p)) return undefined;
  const cmdline = readCmdline(p.pid);
  return cmdline.includes('supervisor') && cmdline.includes(state.dir) ? p : undefined;
}

/** Waits for the launched supervisor to exit after it reported a failure; kills it after `ms`. */
async function waitGone(pid: number, ms: number): Promise<void> {
  const p = readProc(pid);
  if (p) await stopProcs([p], { term: false, graceMs: ms });
}
