/**
 * The local cluster as a person meets it: prerequisites refused at once with the problem and the fix, a second
 * node while one runs refused instead of breaking the running one, and every process of the node found by what
 * cluster-down stops (the global teardown then proves none is left once it returns).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { launchCluster } from '../../cluster/src/launcher.js';
import { podProcs } from '../../cluster/src/node/teardown.js';
import { clusterProcs, describeProc, listProcs, readCmdline } from '../../cluster/src/proc-table.js';
import { readState } from '../../cluster/src/state.js';
import { kubectlOk, repoRoot } from '../support/cluster.js';

function cli(args: string[], opts: { uid?: number; env?: NodeJS.ProcessEnv } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'modelship-cli-'));
  const node = [process.execPath, '--import', 'tsx', join(repoRoot, 'cluster/src/cli.ts'), ...args];
  const cmd =
    opts.uid === undefined
      ? node
      : ['setpriv', `--reuid=${opts.uid}`, `--regid=${opts.uid}`, '--clear-groups', ...node];
  const r = spawnSync(cmd[0]!, cmd.slice(1), {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, HOME: dir, MODELSHIP_CLUSTER_DIR: join(dir, 'state'), ...opts.env },
  });
  rmSync(dir, { recursive: true, force: true });
  return r;
}

describe('the cluster command', () => {
  it('refuses a second node while one runs, and leaves the running one alone', async () => {
    await expect(launchCluster({ mode: 'node', ownerPid: process.pid, ephemeral: true })).rejects.toThrow(
      /cni0 exists already: another local node may be running. Stop it \(make cluster-down\) first/,
    );
    expect(await kubectlOk(['get', 'nodes', '--no-headers'])).toMatch(/ Ready /);
  });

  it('cluster-down finds every process of the node: components, containerd shims and the containers', () => {
    const dir = process.env.MODELSHIP_TEST_CLUSTER_DIR!;
    const found = new Set(clusterProcs(dir).map((p) => p.pid));
    const state = readState(dir)!;
    const components = listProcs().filter((p) =>
      [state.supervisorPid, ...(state.components ?? []).map((c) => c.pid)].includes(p.pid),
    );
    expect(components.map((p) => p.name).sort()).toEqual(
      [
        'containerd',
        'etcd',
        'kube-apiserver',
        'kube-controller',
        'kube-proxy',
        'kube-router', // the NetworkPolicy firewall
        'kube-scheduler',
        'kubelet',
        'node', // the supervisor
      ].sort(),
    );
    // Shims daemonize and containers run under them: neither descends from the supervisor.
    const shims = listProcs().filter(
      (p) => p.name.startsWith('containerd-shim') && readCmdline(p.pid).includes(dir),
    );
    const inPods = podProcs(); // CoreDNS and the model store run in any case
    expect(shims.length).toBeGreaterThan(0);
    expect(inPods.length).toBeGreaterThan(0);
    expect([...components, ...shims, ...inPods].filter((p) => !found.has(p.pid)).map(describeProc)).toEqual(
      [],
    );
  });

  it('says that a node needs root, and what to do, when run as another user', () => {
    const r = cli(['up'], { uid: 65534, env: { TSX_TSCONFIG_PATH: join(repoRoot, 'tsconfig.json') } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/a local node needs root.*Run as root.*control-plane-only tier/s);
  });

  it('says so when no cluster runs', () => {
    const r = cli(['status']);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/No local cluster is running/);
  });
});
