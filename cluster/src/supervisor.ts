/**
 * The process that owns a local cluster: it starts the components, reports in state.json, and tears
 * everything down on SIGTERM/SIGINT, or as soon as its owner process (a test run) disappears, so that an
 * interrupted or crashed test run leaves no process and no temporary directory behind.
 *
 *   supervisor --dir DIR [--mode controlplane|node] [--owner-pid PID] [--ephemeral] [--ports JSON]
 *
 * Mode `node` adds a real node (containerd, kube-scheduler, kubelet, kube-proxy, CoreDNS; see node/) and undoes
 * its host changes on the way out.
 *
 * Started detached by launcher.ts; not meant to be run by hand.
 */
import { closeSync, existsSync, rmSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { binaryPaths } from './binaries.js';
import { startControlPlane, stopComponents } from './controlplane.js';
import { resolveNodePorts, type NodePorts } from './node/layout.js';
import { readNodeImages, startNode } from './node/node.js';
import { mountsUnder } from './node/host.js';
import { cleanHost, stopPods } from './node/teardown.js';
import { createPki } from './pki.js';
import { stopComponent, type Component } from './process.js';
import { clusterProcs, describeProc, listProcs, stopProcs, withDescendants } from './proc-table.js';
import { isAlive, stopRequestFile, writeState, type ClusterMode, type ClusterState } from './state.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    'owner-pid': { type: 'string' },
    ephemeral: { type: 'boolean', default: false },
    // Partial<NodePorts> as JSON, from the launcher.
    ports: { type: 'string' },
    mode: { type: 'string', default: 'controlplane' },
  },
});
const mode = values.mode as ClusterMode;
const dir = values.dir!;
const ownerPid = values['owner-pid'] ? Number(values['owner-pid']) : undefined;
const started = Date.now();
const state: ClusterState = {
  status: 'starting',
  supervisorPid: process.pid,
  dir,
  mode,
  ephemeral: values.ephemeral,
};
let components: Component[] = [];
let stopping: Promise<void> | undefined;

/** Reports the start-up outcome once on fd 3 (a pipe to the launcher), then closes it. */
let reported = false;
function report(outcome: { ready: true } | { error: string }): void {
  if (reported) return;
  reported = true;
  try {
    writeSync(3, JSON.stringify(outcome) + '\n');
    closeSync(3);
  } catch {
    // No launcher is listening any more; state.json still says what happened.
  }
}

function log(msg: string): void {
  process.stdout.write(`${new Date().toISOString()} supervisor: ${msg}\n`);
}

/**
 * Stops everything in order and exits. What goes beyond that order (a process it had to kill, pods the CRI did not
 * stop) is logged and also kept in state.json, for stopCluster to pass on to whoever asked for the stop.
 */
async function shutdown(reason: string, exitCode: number): Promise<void> {
  stopping ??= (async () => {
    log(`stopping (${reason})`);
    const notes: string[] = [];
    const note = (line: string) => {
      log(line);
      notes.push(line);
    };
    const killedComponent = (c: Component) =>
      note(`had to kill ${c.name} (pid ${c.child.pid}): it did not exit within 5 s of SIGTERM`);
    if (state.status !== 'failed') writeState({ ...state, status: 'stopping' });
    if (mode === 'node') {
      // kubelet first (it would restart pods), then the pods through the CRI while containerd still runs.
      for (const name of ['kube-proxy', 'kubelet']) {
        const c = components.find((x) => x.name === name);
        if (c && (await stopComponent(c))) killedComponent(c);
      }
      const failed = await stopPods(dir, binaryPaths());
      if (failed) note(`stopping the pods through the CRI failed: ${failed}`);
    }
    for (const c of await stopComponents(components)) killedComponent(c);
    if (mode === 'node') {
      const report = await cleanHost(dir, binaryPaths());
      if (report.leftoverMounts.length) log(`mounts left behind: ${report.leftoverMounts.join(', ')}`);
      if (report.unrestoredSysctls.length)
        log(`sysctls not restored: ${report.unrestoredSysctls.join(', ')}`);
      if (report.leftoverIpsets.length) log(`ipsets left behind: ${report.leftoverIpsets.join(', ')}`);
      for (const p of report.killedShimTrees)
        note(
          `had to kill ${describeProc(p)}: a containerd shim or container left after the pods were stopped`,
        );
      if (report.unkillable) note(report.unkillable);
    }
    // Whatever the components left running (a child they did not wait for, a container a killed shim left):
    // nothing the cluster started outlives it. Not this process's own children: its components are gone, and
    // what else it runs (tsx's esbuild service) ends with it.
    const own = new Set(withDescendants(listProcs(), [process.pid]).map((p) => p.pid));
    const left = clusterProcs(resolve(dir)).filter((p) => !own.has(p.pid));
    if (left.length) note(`still running after the components stopped: ${left.map(describeProc).join(', ')}`);
    const killed = await stopProcs(left, { graceMs: 5000 }).catch((err: Error) => {
      note(err.message);
      return [];
    });
    for (const p of killed) note(`had to kill ${describeProc(p)}: it did not exit within 5 s of SIGTERM`);
    if (notes.length)
      writeState({ ...state, status: state.status === 'failed' ? 'failed' : 'stopping', notes });
    // An ephemeral folder goes with the cluster, unless stopCluster asked for the stop: it reads the notes first
    // and removes the folder itself. Never remove a folder with something still mounted in it: rm would walk
    // into the mounted filesystem.
    if (values.ephemeral && !existsSync(stopRequestFile(dir)) && mountsUnder([dir]).length === 0)
      rmSync(dir, { recursive: true, force: true });
    log('stopped');
    process.exit(exitCode);
  })();
  return stopping;
}

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void shutdown(sig, 0));

async function main(): Promise<void> {
  writeState(state);
  const binaries = binaryPaths();
  const pkiDir = join(dir, 'pki');
  await mkdir(pkiDir, { recursive: true });
  const pki = await createPki(pkiDir);
  const fixed = JSON.parse(values.ports ?? '{}') as Partial<NodePorts>;
  const ports: NodePorts = resolveNodePorts(fixed);
  const cp = await startControlPlane({
    binaries,
    pki,
    dir,
    network: mode === 'node' ? 'node' : 'loopback',
    apiserverPort: mode === 'node' ? ports.apiserver : fixed.apiserver,
  });
  components = cp.components;
  if (mode === 'node') {
    const { images, coredns, fileserver } = readNodeImages(dir);
    await startNode(
      {
        dir,
        binaries,
        kubeconfig: cp.kubeconfig,
        server: cp.server,
        tls: {
          ca: readFileSync(pki.caCert),
          cert: readFileSync(pki.adminCert),
          key: readFileSync(pki.adminKey),
        },
        ports,
        images,
        corednsImage: coredns,
        fileserverImage: fileserver,
        log,
      },
      components,
    );
  }
  Object.assign(state, {
    status: 'ready',
    kubeconfig: cp.kubeconfig,
    server: cp.server,
    auditLog: cp.auditLog,
    kubectl: binaries.kubectl,
    kubeVersion: binaries.kubeVersion,
    startupMs: Date.now() - started,
    components: components.map((c) => ({ name: c.name, pid: c.child.pid, log: c.logFile })),
  } satisfies Partial<ClusterState>);
  writeState(state);
  report({ ready: true });
  log(`ready in ${state.startupMs} ms at ${cp.server}`);

  // Watch the owner and the components. A component that dies is reported; the owner decides.
  setInterval(() => {
    if (ownerPid !== undefined && !isAlive(ownerPid)) void shutdown(`owner ${ownerPid} is gone`, 0);
    for (const c of components) {
      if (c.exited !== undefined && state.status === 'ready') {
        state.status = 'failed';
        state.error = `${c.name} ${c.exited}; see ${c.logFile}`;
        writeState(state);
        log(state.error);
      }
    }
  }, 250);
}

main().catch((err: Error) => {
  state.status = 'failed';
  state.error = err.message;
  writeState(state);
  log(`start failed: ${err.message}`);
  report({ error: err.message });
  void shutdown('start failed', 1);
});
