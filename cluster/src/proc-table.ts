/**
 * The processes a local cluster started, found in /proc, and how to wait until every one of them has exited.
 *
 * Why not the supervisor's child processes alone: containerd's shims daemonize (their parent becomes init), and
 * the containers run under the shims, so neither descends from the supervisor. Every process the cluster starts
 * on the host inherits one environment variable, CLUSTER_MARKER=<state folder>, from the supervisor (or from
 * `cluster-up` for the background operator); the containers, whose environment is their image's, are found as the
 * marked shims' descendants. A process is identified by its pid and its start time, so a pid reused by another
 * process is never waited for or killed.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Set in the environment of every host process a cluster starts; its value is the cluster's state folder. */
export const CLUSTER_MARKER = 'MODELSHIP_STARTED_BY_CLUSTER';

export interface Proc {
  pid: number;
  ppid: number;
  /** The kernel's name for it (comm, at most 15 characters), e.g. kube-apiserver, containerd-shim. */
  name: string;
  /** R, S, D, T, Z (zombie), X (dead), ... */
  state: string;
  /** Clock ticks after boot: with the pid, it names one process. */
  startTime: number;
  /** Its command line, read when it is about to be killed (a killed process has none). */
  command?: string;
}

/** Parses /proc/<pid>/stat (pure). The name is in parentheses and may itself hold spaces and parentheses. */
export function parseStat(text: string): Proc | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  // Fields after the name, from field 3 (state) on: state is [0], ppid [1], starttime (field 22) [19].
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const proc = {
    pid: Number(text.slice(0, open).trim()),
    name: text.slice(open + 1, close),
    state: rest[0] ?? '',
    ppid: Number(rest[1]),
    startTime: Number(rest[19]),
  };
  return Number.isInteger(proc.pid) && Number.isInteger(proc.ppid) && Number.isInteger(proc.startTime)
    ? proc
    : undefined;
}

/** One process as /proc shows it now, or undefined once it is gone. */
export function readProc(pid: number): Proc | undefined {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Every process of the machine (that this user can see). */
export function listProcs(): Proc[] {
  const out: Proc[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const p = readProc(Number(entry));
    if (p) out.push(p);
  }
  return out;
}

/** `roots` and all their descendants in `table` (pure). */
export function withDescendants(table: readonly Proc[], roots: readonly number[]): Proc[] {
  const children = new Map<number, Proc[]>();
  for (const p of table) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const byPid = new Map(table.map((p) => [p.pid, p]));
  const found = new Map<number, Proc>();
  const queue = roots.map((pid) => byPid.get(pid)).filter((p): p is Proc => p !== undefined);
  while (queue.length) {
    const p = queue.pop()!;
    if (found.has(p.pid)) continue;
    found.set(p.pid, p);
    queue.push(...(children.get(p.pid) ?? []));
  }
  return [...found.values()];
}

/** A process's command line, its arguments joined by spaces ('' once it is gone or a zombie). */
export function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '';
  }
}

/** True if the environment a process started with holds `name=value` (false if it cannot be read). */
function hasEnv(pid: number, entry: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(entry);
  } catch {
    return false;
  }
}

/**
 * The running processes a cluster started: those that carry its marker and their descendants (the containers
 * under the shims). Never this process, nor a process that ran it.
 */
export function clusterProcs(dir: string): Proc[] {
  const table = listProcs();
  const marked = table.filter((p) => hasEnv(p.pid, `${CLUSTER_MARKER}=${dir}`)).map((p) => p.pid);
  const own = new Set(ancestors(table, process.pid));
  return withDescendants(table, marked).filter((p) => !own.has(p.pid) && isRunning(p));
}

/** A process and its ancestors' pids (pure). */
export function ancestors(table: readonly Proc[], pid: number): number[] {
  const byPid = new Map(table.map((p) => [p.pid, p]));
  const out: number[] = [];
  for (let p = byPid.get(pid); p && !out.includes(p.pid); p = byPid.get(p.ppid)) out.push(p.pid);
  return out;
}

/**
 * True while this very process runs. A zombie has exited: it runs nothing and holds nothing but its table
 * entry until its parent (often init, which on some machines reaps only every second or two) collects it.
 */
export function isRunning(p: Pick<Proc, 'pid' | 'startTime'>): boolean {
  const now = readProc(p.pid);
  return now !== undefined && now.startTime === p.startTime && now.state !== 'Z' && now.state !== 'X';
}

/** E.g. `kubelet (pid 4242: /root/.cache/modelship/kubernetes/v1.34.4/bin/kubelet --config=...)`. */
export function describeProc(p: Proc): string {
  const command = p.command ?? readCmdline(p.pid);
  const short = command.length > 100 ? `${command.slice(0, 99)}…` : command;
  return `${p.name} (pid ${p.pid}${short ? `: ${short}` : ''})`;
}

function signal(p: Proc, sig: NodeJS.Signals): void {
  if (!isRunning(p)) return;
  try {
    process.kill(p.pid, sig);
  } catch {
    // exited meanwhile
  }
}

/** Resolves once none of `procs` runs (true), or after `ms` (false). */
export async function waitExited(procs: readonly Proc[], ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (!procs.some(isRunning)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface StopOptions {
  /** Send SIGTERM first (default true); false when something else already asked them to stop. */
  term?: boolean;
  /** How long they may take to exit before SIGKILL. */
  graceMs: number;
  /** How long SIGKILL may take (a process in uninterruptible sleep dies only when it wakes). */
  killWaitMs?: number;
}

/**
 * Stops processes and resolves only when none of them runs: SIGTERM (unless `term` is false), up to `graceMs`
 * to exit, then SIGKILL for those left. Resolves with the processes it had to kill; rejects, naming them, if
 * any still runs after SIGKILL.
 */
export async function stopProcs(procs: readonly Proc[], o: StopOptions): Promise<Proc[]> {
  if (o.term ?? true) for (const p of procs) signal(p, 'SIGTERM');
  if (await waitExited(procs, o.graceMs)) return [];
  const stubborn = procs.filter(isRunning).map((p) => ({ ...p, command: p.command ?? readCmdline(p.pid) }));
  for (const p of stubborn) signal(p, 'SIGKILL');
  if (!(await waitExited(stubborn, o.killWaitMs ?? 10_000))) {
    const left = stubborn.filter(isRunning).map(describeProc);
    throw new Error(`still running after SIGKILL: ${left.join(', ')}`);
  }
  return stubborn;
}
