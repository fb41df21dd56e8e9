/**
 * A throwaway containerd for trying images: its own root, state and socket under one folder, never the machine's
 * /run/containerd or /var/lib/containerd.
 *
 * containerd 1.6 hard-codes a few paths under /run/containerd whatever its config says (shim sockets in
 * /run/containerd/s, runc's state in /run/containerd/runc, ctr's FIFOs in /run/containerd/fifo). So it runs in
 * private namespaces: a mount namespace with a fresh tmpfs on /run, and a PID namespace in which it is the first
 * process. Every shim, runc and container it starts lives inside them; stopping it kills them all at once (the
 * kernel ends a PID namespace with its first process) and every mount they made vanishes with the mount namespace.
 * ctr runs through nsenter in the same mount namespace, so the FIFOs it makes are the ones the shims see.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir, readdir, readFile, readlink, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mountsUnder } from './tools.js';

export const NAMESPACE = 'k8s.io';
const START_TIMEOUT_MS = 20_000;
const CTR_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 5_000;

/** containerd's config (pure). CRI is configured as the node's is; its CNI folder is an empty one of ours. */
export function containerdConfig(dir: string): string {
  return `version = 2
root = ${JSON.stringify(join(dir, 'root'))}
state = ${JSON.stringify(join(dir, 'state'))}
[grpc]
  address = ${JSON.stringify(join(dir, 'containerd.sock'))}
[ttrpc]
  address = ${JSON.stringify(join(dir, 'containerd.sock.ttrpc'))}
[debug]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = ${JSON.stringify(join(dir, 'opt'))}
[plugins."io.containerd.grpc.v1.cri"]
  # Root here lacks CAP_SYS_RESOURCE: runc could not set a negative oom_score_adj.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = ${JSON.stringify(join(dir, 'cni'))}
`;
}

export interface RunOptions {
  image: string;
  /** Container id; unique within this containerd. */
  id: string;
  /** Replaces the image's entrypoint and command; omitted: the image's own. */
  args?: string[];
  netHost?: boolean;
  readOnly?: boolean;
  binds?: { src: string; dst: string; readOnly?: boolean }[];
  tmpfs?: string[];
  env?: Record<string, string>;
}

/** `ctr run` arguments (pure): removed on exit, in its own cgroup under `cgroupParent`. */
export function ctrRunArgs(opts: RunOptions, cgroupParent: string): string[] {
  const args = ['run', '--rm', '--cgroup', `${cgroupParent}/${opts.id}`];
  if (opts.netHost) args.push('--net-host');
  if (opts.readOnly) args.push('--read-only');
  for (const b of opts.binds ?? []) {
    args.push(
      '--mount',
      `type=bind,src=${b.src},dst=${b.dst},options=rbind:${b.readOnly === false ? 'rw' : 'ro'}`,
    );
  }
  for (const dst of opts.tmpfs ?? []) {
    args.push('--mount', `type=tmpfs,src=tmpfs,dst=${dst},options=nosuid:nodev:mode=1777`);
  }
  for (const [k, v] of Object.entries(opts.env ?? {})) args.push('--env', `${k}=${v}`);
  args.push(opts.image, opts.id, ...(opts.args ?? []));
  return args;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunningContainer {
  id: string;
  /** Settles when the container has exited and been removed. */
  done: Promise<RunResult>;
  /** Output so far. */
  output(): string;
}

export interface TeardownReport {
  /** Processes still in containerd's mount namespace afterwards (should be none). */
  leftoverPids: number[];
  /** Mounts below the folder still visible on the host (should be none). */
  leftoverMounts: string[];
  /** Container cgroups that could not be removed (should be none). */
  leftoverCgroups: string[];
}

export class PrivateContainerd {
  private constructor(
    readonly dir: string,
    /** The unshare process this module spawned; containerd is its only child. */
    private readonly launcher: ChildProcess,
    /** containerd's PID as the host sees it. */
    readonly pid: number,
    /** containerd's mount namespace (e.g. mnt:[4026532179]): how its processes are found. */
    private readonly mountNs: string,
    /** Parent cgroup of every container, so their cgroups can be removed afterwards. */
    readonly cgroupParent: string,
  ) {}

  get socket(): string {
    return join(this.dir, 'containerd.sock');
  }

  static async start(dir: string): Promise<PrivateContainerd> {
    for (const sub of ['root', 'state', 'cni', 'opt']) await mkdir(join(dir, sub), { recursive: true });
    const config = join(dir, 'config.toml');
    await writeFile(config, containerdConfig(dir));
    const logFd = openSync(join(dir, 'containerd.log'), 'a');
    const launcher = spawn(
      'setpriv',
      [
        '--pdeathsig',
        'KILL',
        '--',
        'unshare',
        '--mount',
        '--propagation',
        'private',
        '--pid',
        '--fork',
        '--kill-child',
        '--mount-proc',
        '--',
        'sh',
        '-c',
        'mount -t tmpfs -o mode=0755,size=64m modelship-run /run && exec containerd --config "$1"',
        'sh',
        config,
      ],
      { stdio: ['ignore', logFd, logFd] },
    );
    closeSync(logFd);
    const deadline = Date.now() + START_TIMEOUT_MS;
    let pid: number | undefined;
    while (Date.now() < deadline && launcher.exitCode === null) {
      pid ??= await childOf(launcher.pid!);
      if (pid !== undefined && existsSync(join(dir, 'containerd.sock'))) break;
      await sleep(50);
    }
    const logTail = async () =>
      (await readFile(join(dir, 'containerd.log'), 'utf8')).split('\n').slice(-15).join('\n');
    if (pid === undefined || !existsSync(join(dir, 'containerd.sock'))) {
      launcher.kill('SIGKILL');
      throw new Error(`private containerd did not start within ${START_TIMEOUT_MS} ms:\n${await logTail()}`);
    }
    const mountNs = await readlink(`/proc/${pid}/ns/mnt`);
    const cgroupParent = `/modelship-images-${process.pid}-${Date.now().toString(36)}`;
    const ctd = new PrivateContainerd(dir, launcher, pid, mountNs, cgroupParent);
    // The socket appears before the services are registered: wait until ctr gets an answer.
    for (;;) {
      try {
        await ctd.ctr(['version'], 5_000);
        return ctd;
      } catch (err) {
        if (Date.now() > deadline) {
          await ctd.stop();
          throw new Error(
            `private containerd does not answer: ${(err as Error).message}\n${await logTail()}`,
          );
        }
        await sleep(100);
      }
    }
  }

  private ctrCommand(args: readonly string[]): string[] {
    // Into its PID namespace too: /proc there is the namespace's own (--mount-proc), and ctr reads /proc/self.
    return [
      '-t',
      String(this.pid),
      '-m',
      '-p',
      '--',
      'ctr',
      '--address',
      this.socket,
      '-n',
      NAMESPACE,
      ...args,
    ];
  }

  /** Runs ctr against this containerd; resolves with stdout, rejects with stderr. */
  ctr(args: readonly string[], timeoutMs = CTR_TIMEOUT_MS): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn('nsenter', this.ctrCommand(args), { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve(stdout);
        else
          reject(
            new Error(`ctr ${args.join(' ')} failed (${signal ?? code}): ${stderr.trim() || stdout.trim()}`),
          );
      });
    });
  }

  /** `ctr images import` of a docker-archive (the image is unpacked for the overlayfs snapshotter). */
  async importImage(archive: string): Promise<void> {
    await this.ctr(['images', 'import', archive]);
  }

  /** Starts a container in the foreground of a ctr process; `done` settles when it has exited. */
  run(opts: RunOptions): RunningContainer {
    const child = spawn('nsenter', this.ctrCommand(ctrRunArgs(opts, this.cgroupParent)), {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const done = new Promise<RunResult>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    return { id: opts.id, done, output: () => stdout + stderr };
  }

  /** Runs a container to completion (bounded) and returns its exit code and output. */
  async runToEnd(opts: RunOptions, timeoutMs = CTR_TIMEOUT_MS): Promise<RunResult> {
    const running = this.run(opts);
    const timer = setTimeout(() => void this.signal(opts.id, 'SIGKILL').catch(() => {}), timeoutMs);
    try {
      return await running.done;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends a signal to a container's main process. */
  async signal(id: string, signal: string): Promise<void> {
    await this.ctr(['tasks', 'kill', '--signal', signal, id], 10_000);
  }

  /**
   * Stops everything: containerd and, with its PID namespace, every shim and container; then removes the
   * containers' cgroups and reports anything left behind (processes in its mount namespace, host mounts below its
   * folder, cgroups). Idempotent.
   */
  async stop(): Promise<TeardownReport> {
    if (this.launcher.exitCode === null && this.launcher.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.launcher.once('exit', () => resolve()));
      // containerd shuts down on SIGTERM (unshare itself ignores it while it waits). As the namespace's first
      // process exits, the kernel kills every other process in it: shims and containers, which would otherwise
      // outlive containerd by design. If it hangs, SIGKILL to unshare reaches it through --kill-child.
      process.kill(this.pid, 'SIGTERM');
      const timer = setTimeout(() => this.launcher.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    const leftoverPids = await this.waitForNoProcesses(10_000);
    const leftoverCgroups = await removeCgroups(this.cgroupParent);
    const leftoverMounts = mountsUnder(await readFile('/proc/self/mountinfo', 'utf8'), this.dir);
    return { leftoverPids, leftoverMounts, leftoverCgroups };
  }

  private async waitForNoProcesses(timeoutMs: number): Promise<number[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pids = await processesInMountNs(this.mountNs);
      if (pids.length === 0 || Date.now() > deadline) return pids;
      await sleep(50);
    }
  }
}

/** The PID of a process's first child, from /proc (the host's view). */
async function childOf(pid: number): Promise<number | undefined> {
  try {
    const children = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8')).trim().split(/\s+/);
    const first = Number(children[0]);
    return Number.isInteger(first) && first > 0 ? first : undefined;
  } catch {
    return undefined;
  }
}

/** Every process whose mount namespace is `ns`. */
async function processesInMountNs(ns: string): Promise<number[]> {
  const out: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if ((await readlink(`/proc/${name}/ns/mnt`)) === ns) out.push(Number(name));
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return out;
}

/** Removes a cgroup subtree in every hierarchy (cgroup v1 controllers and v2); returns those that remain. */
async function removeCgroups(parent: string): Promise<string[]> {
  const roots = [
    '/sys/fs/cgroup',
    ...(await readdir('/sys/fs/cgroup').catch(() => [] as string[])).map((n) => join('/sys/fs/cgroup', n)),
  ];
  const left: string[] = [];
  const removeTree = async (dir: string) => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) await removeTree(join(dir, e.name));
    await rmdir(dir).catch(() => left.push(dir));
  };
  for (const root of roots) {
    const dir = join(root, parent);
    if (existsSync(dir)) await removeTree(dir);
  }
  return left;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
