/**
 * `make cluster-up` / `cluster-status` / `cluster-down` as a person runs them (cluster/src/cli.ts), on a second,
 * control-plane-only cluster in a folder of its own: up installs the CRD and starts the operator, so that
 * `kubectl apply -f examples/` is answered with Deployments; a second up reuses both; down returns only once every
 * process the cluster started has exited (killing and naming any that does not stop), and removes the folder.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { kubectl } from '../../cluster/src/kubectl.js';
import { CLUSTER_MARKER, clusterProcs, describeProc, isRunning } from '../../cluster/src/proc-table.js';
import { isAlive } from '../../cluster/src/state.js';
import { eventually, repoRoot } from '../support/cluster.js';

const home = mkdtempSync(join(tmpdir(), 'modelship-cli-'));
const dir = join(home, 'state');
const kubeconfig = join(dir, 'kubeconfig');

function cli(command: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'cluster/src/cli.ts'), command],
      {
        cwd: repoRoot,
        timeout: 120_000,
        env: { ...process.env, MODELSHIP_CLUSTER_MODE: 'controlplane', MODELSHIP_CLUSTER_DIR: dir },
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const operatorPid = () => Number(readFileSync(join(dir, 'operator.pid'), 'utf8'));

afterAll(async () => {
  // Whatever a failed assertion left running.
  if (existsSync(dir)) await cli('down');
  rmSync(home, { recursive: true, force: true });
}, 120_000);

describe('the cluster command', () => {
  let pid: number;

  it('up starts a cluster with the CRD installed and the operator running', async () => {
    const r = await cli('up');
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout).toMatch(/CRD installed; the operator runs in the background \(pid \d+/);
    expect(r.stdout).toContain(`export KUBECONFIG=${kubeconfig}`);
    pid = operatorPid();
    expect(isAlive(pid)).toBe(true);
  }, 120_000);

  it('then kubectl apply -f examples/ is all it takes for the operator to act', async () => {
    const applied = await kubectl(['apply', '-f', join(repoRoot, 'examples')], { kubeconfig });
    expect(applied.stderr).toBe('');
    expect(applied.stdout).toMatch(/modeldeployment.modelship.dev\/iris created/);
    await eventually(async () => {
      const r = await kubectl(['get', 'deployments', '-l', 'modelship.dev/deployment=iris', '-o', 'name'], {
        kubeconfig,
      });
      return /deployment.apps\/iris-/.test(r.stdout);
    }, 30_000);
  }, 60_000);

  it('a second up reuses the running cluster and operator; status lists the operator', async () => {
    const again = await cli('up');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already running/);
    expect(again.stdout).toContain(`(pid ${pid},`);
    const status = await cli('status');
    expect(status.stdout).toMatch(new RegExp(`modelship-operator\\s+pid ${pid}`));
  }, 120_000);

  it('down returns only once every process the cluster started has exited, and removes the folder', async () => {
    const started = clusterProcs(dir);
    // The supervisor and the operator are `node`; the supervisor may also run tsx's esbuild service.
    expect(
      started
        .map((p) => p.name)
        .filter((n) => n !== 'esbuild')
        .sort(),
    ).toEqual(['etcd', 'kube-apiserver', 'kube-controller', 'node', 'node'].sort());
    expect(started.map((p) => p.pid)).toContain(pid);
    const r = await cli('down');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Stopped the operator that make cluster-up started/);
    expect(r.stdout).toMatch(/Local cluster stopped; nothing left running/);
    expect(r.stdout).not.toMatch(/had to kill|still running/i);
    // At once, not eventually: that is what down promises.
    expect(started.filter(isRunning).map(describeProc)).toEqual([]);
    expect(clusterProcs(dir).map(describeProc)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  }, 120_000);

  it('down kills what the cluster started and does not stop by itself, and names it', async () => {
    expect((await cli('up')).code).toBe(0);
    // A process that carries the cluster's marker but is no child of the supervisor, as a containerd shim is
    // not, and that ignores SIGTERM. It says when its trap is set.
    const stubborn = spawn('sh', ['-c', 'trap "" TERM; echo trapped; while :; do sleep 1; done'], {
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, [CLUSTER_MARKER]: dir },
    });
    await new Promise((r) => stubborn.stdout.once('data', r));
    const r = await cli('down');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`had to kill sh (pid ${stubborn.pid}: sh -c trap`);
    expect(r.stdout).toMatch(/Local cluster stopped; nothing left running/);
    expect(clusterProcs(dir).map(describeProc)).toEqual([]);
  }, 120_000);
});
