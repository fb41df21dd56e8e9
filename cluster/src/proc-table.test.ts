import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  ancestors,
  CLUSTER_MARKER,
  clusterProcs,
  describeProc,
  isRunning,
  listProcs,
  parseStat,
  readProc,
  stopProcs,
  withDescendants,
  type Proc,
} from './proc-table.js';

const proc = (pid: number, ppid: number, name = `p${pid}`): Proc => ({
  pid,
  ppid,
  name,
  state: 'S',
  startTime: pid * 10,
});

describe('parseStat', () => {
  it('reads pid, name, state, parent and start time, whatever the name holds', () => {
    const tail = '0 0 0 0 0 0 0 0 0 0 0 20 0 1 0 123456 1000 10';
    expect(parseStat(`4242 (kube-apiserver) S 17 4242 17 ${tail}`)).toEqual({
      pid: 4242,
      name: 'kube-apiserver',
      state: 'S',
      ppid: 17,
      startTime: 123456,
    });
    expect(parseStat(`7 (a b) (c)) Z 1 7 1 ${tail}`)).toMatchObject({ pid: 7, name: 'a b) (c)', state: 'Z' });
    expect(parseStat('garbage')).toBeUndefined();
    expect(parseStat('1 (x) S')).toBeUndefined();
  });

  it('reads this very process', () => {
    expect(readProc(process.pid)).toMatchObject({ pid: process.pid, ppid: process.ppid, state: 'R' });
  });
});

describe('withDescendants and ancestors', () => {
  // 1 ─ 10 ─ 11 ─ 12      1 ─ 20 ─ 21      (30's parent is not in the table)
  const table = [
    proc(1, 0),
    proc(10, 1),
    proc(11, 10),
    proc(12, 11),
    proc(20, 1),
    proc(21, 20),
    proc(30, 99),
  ];
  const pids = (ps: Proc[]) => ps.map((p) => p.pid).sort((a, b) => a - b);

  it('follows every generation from each root, each process once', () => {
    expect(pids(withDescendants(table, [10]))).toEqual([10, 11, 12]);
    expect(pids(withDescendants(table, [11, 20, 12]))).toEqual([11, 12, 20, 21]);
    expect(pids(withDescendants(table, [30, 555]))).toEqual([30]);
  });

  it('walks up to the top', () => {
    expect(ancestors(table, 12)).toEqual([12, 11, 10, 1]);
    expect(ancestors(table, 30)).toEqual([30]);
  });
});

describe('real processes', () => {
  const children: ChildProcess[] = [];
  const start = (script: string, env: NodeJS.ProcessEnv = {}): Proc => {
    const child = spawn('sh', ['-c', script], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...env },
    });
    children.push(child);
    return readProc(child.pid!)!;
  };
  // The marker value of this file's processes: whatever a failed test left is found and stopped by it.
  const dir = `/tmp/proc-table-test-${process.pid}`;
  afterEach(async () => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    await stopProcs(clusterProcs(dir), { term: false, graceMs: 0 });
  });

  /** Polls until `check` holds; the test's own timeout bounds it. */
  const until = async (check: () => boolean) => {
    while (!check()) await new Promise((r) => setTimeout(r, 20));
  };

  it('a process with another start time under the same pid is another process', () => {
    const me = readProc(process.pid)!;
    expect(isRunning(me)).toBe(true);
    expect(isRunning({ ...me, startTime: me.startTime + 1 })).toBe(false);
  });

  it('a zombie has exited', async () => {
    // The shell becomes `sleep 600` by exec, which never reaps the short sleep it started: a lasting zombie.
    const parent = start('sleep 0 & exec sleep 600');
    let child: Proc | undefined;
    await until(() => {
      child = withDescendants(listProcs(), [parent.pid]).find((p) => p.pid !== parent.pid);
      return readProc(child?.pid ?? -1)?.state === 'Z';
    });
    expect(readProc(child!.pid)).toBeDefined();
    expect(isRunning(child!)).toBe(false);
  });

  it('stopProcs resolves when every process has exited, and names those it had to kill', async () => {
    const polite = start('exec sleep 600');
    // It says when its trap is set: a SIGTERM before that would end it.
    const stubborn = start('trap "" TERM; echo trapped >&2; while :; do sleep 1; done');
    await new Promise((r) => children.at(-1)!.stderr!.once('data', r));
    const killed = await stopProcs([polite, stubborn], { graceMs: 500 });
    expect(killed.map((p) => p.pid)).toEqual([stubborn.pid]);
    expect(describeProc(killed[0]!)).toMatch(new RegExp(`^sh \\(pid ${stubborn.pid}: sh -c trap`));
    expect(isRunning(polite) || isRunning(stubborn)).toBe(false);
  });

  it('clusterProcs finds what carries the marker, also once its parent is gone, and what descends from it', async () => {
    // A subshell starts `sh -c ...` and exits at once: that orphan (its parent becomes init or a subreaper, as a
    // containerd shim's does) becomes `sleep 600` with a `sleep 600` child. The launcher itself becomes a sleep too.
    const launcher = start('(sh -c "sleep 600 & exec sleep 600" &) ; exec sleep 600', {
      [CLUSTER_MARKER]: dir,
    });
    let found: Proc[] = [];
    await until(() => {
      found = clusterProcs(dir);
      return found.length === 3 && found.every((p) => p.name === 'sleep');
    });
    const underLauncher = withDescendants(listProcs(), [launcher.pid]).map((p) => p.pid);
    const orphans = found.filter((p) => !underLauncher.includes(p.pid));
    expect(orphans).toHaveLength(2);
    expect(clusterProcs(`${dir}-other`)).toEqual([]);
    expect(await stopProcs(found, { graceMs: 5000 })).toEqual([]);
    expect(clusterProcs(dir)).toEqual([]);
  });
});
