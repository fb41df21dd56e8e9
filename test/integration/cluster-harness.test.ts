/**
 * The local cluster harness itself: a second, separate control plane owned by a throw-away process.
 * When the owner dies abruptly (as a test run does when it is interrupted or killed), every process the cluster
 * started and the temporary directory must be gone shortly after; stopCluster returns only once they are.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { launchCluster, stopCluster } from '../../cluster/src/launcher.js';
import { resolveNodePorts } from '../../cluster/src/node/layout.js';
import { checkPortsFree } from '../../cluster/src/node/prereqs.js';
import { freePort } from '../../cluster/src/process.js';
import { CLUSTER_MARKER, clusterProcs, isRunning } from '../../cluster/src/proc-table.js';
import { isAlive } from '../../cluster/src/state.js';
import { kubectl } from '../../cluster/src/kubectl.js';
import { eventually, repoRoot } from '../support/cluster.js';

describe('local cluster harness', () => {
  it('tears everything down when its owner process is killed', async () => {
    const owner = spawn('sleep', ['600'], { stdio: 'ignore' });
    const state = await launchCluster({ ownerPid: owner.pid!, ephemeral: true });
    const pids = [state.supervisorPid, ...(state.components ?? []).map((c) => c.pid!)];
    expect(state.components?.map((c) => c.name)).toEqual([
      'etcd',
      'kube-apiserver',
      'kube-controller-manager',
    ]);
    expect(pids.every(isAlive)).toBe(true);
    // Usable: real TLS, admin credentials, the version we pinned.
    const version = await kubectl(['version', '-o', 'json'], { kubeconfig: state.kubeconfig! });
    expect(JSON.parse(version.stdout).serverVersion.gitVersion).toBe(state.kubeVersion);

    owner.kill('SIGKILL');
    await eventually(async () => pids.every((p) => !isAlive(p)), 30_000);
    await eventually(async () => !existsSync(state.dir), 10_000);
  }, 90_000);

  it('stops on request and reports when nothing runs', async () => {
    const state = await launchCluster({ ownerPid: process.pid, ephemeral: true });
    const started = clusterProcs(state.dir);
    expect(started.map((p) => p.pid)).toEqual(
      expect.arrayContaining([state.supervisorPid, ...(state.components ?? []).map((c) => c.pid!)]),
    );
    const lines: string[] = [];
    expect(await stopCluster(state.dir, { log: (l) => lines.push(l) })).toBe(true);
    expect(started.filter(isRunning)).toEqual([]);
    expect(lines).toEqual([]);
    expect(await stopCluster(state.dir)).toBe(false);
  }, 90_000);

  it('when its owner dies, also stops what the cluster started outside the supervisor and ignores SIGTERM', async () => {
    const owner = spawn('sleep', ['600'], { stdio: 'ignore' });
    const state = await launchCluster({ ownerPid: owner.pid!, ephemeral: true });
    // Carries the cluster's marker, as everything the cluster starts does, but is not the supervisor's child
    // (as a containerd shim is not). It says when its trap is set.
    const stubborn = spawn('sh', ['-c', 'trap "" TERM; echo trapped; while :; do sleep 1; done'], {
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, [CLUSTER_MARKER]: state.dir },
    });
    await new Promise((r) => stubborn.stdout.once('data', r));
    const started = clusterProcs(state.dir);
    expect(started.map((p) => p.pid)).toContain(stubborn.pid);
    owner.kill('SIGKILL');
    await eventually(async () => started.every((p) => !isRunning(p)), 60_000);
    await eventually(async () => !existsSync(state.dir), 10_000);
  }, 120_000);

  it('fails with the component log when a component cannot start, leaving nothing behind', async () => {
    // Two control planes cannot share an apiserver port: the second apiserver exits at once.
    const first = await launchCluster({ ownerPid: process.pid, ephemeral: true });
    const port = Number(new URL(first.server!).port);
    try {
      const dir = mkdtempSync(join(tmpdir(), 'modelship-harness-'));
      const launch = launchCluster({
        dir,
        ownerPid: process.pid,
        ephemeral: true,
        ports: { apiserver: port },
      });
      await expect(launch).rejects.toThrow(
        /kube-apiserver exited with code \d+ before kube-apiserver \/readyz[\s\S]*address already in use/,
      );
      expect(existsSync(dir)).toBe(false);
    } finally {
      await stopCluster(first.dir);
    }
  }, 90_000);

  it('says what to do when Go is missing and the binaries are not built', () => {
    const emptyCache = mkdtempSync(join(tmpdir(), 'modelship-nocache-'));
    try {
      const r = spawnSync('bash', [join(repoRoot, 'cluster', 'build-binaries.sh')], {
        env: { PATH: '/usr/bin:/bin', HOME: emptyCache, MODELSHIP_CACHE: emptyCache },
        encoding: 'utf8',
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/Go is not installed\. Install Go .* and run this again/);
    } finally {
      rmSync(emptyCache, { recursive: true, force: true });
    }
  });

  it('refuses a node whose ports are taken, naming each port, its role and the variable that moves it', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const ports = resolveNodePorts({
        apiserver: await freePort(),
        kubelet: port,
        proxyMetrics: await freePort(),
      });
      await expect(checkPortsFree(ports)).rejects.toThrow(
        new RegExp(
          `^ports in use: ${port} \\(kubelet; move it with MODELSHIP_KUBELET_PORT\\)\\. Stop what uses them`,
        ),
      );
    } finally {
      taken.close();
    }
    await expect(
      checkPortsFree({
        apiserver: await freePort(),
        kubelet: await freePort(),
        kubeletHealthz: await freePort(),
        proxyHealthz: await freePort(),
        proxyMetrics: await freePort(),
      }),
    ).resolves.toBeUndefined();
  });
});
