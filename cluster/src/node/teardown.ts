/**
 * Puts the host back as it was before the node started: stops pods through the CRI, kills what is left of
 * containerd's shims, unmounts, removes kube-proxy's, kube-router's and kubelet's iptables chains (and kube-router's
 * ipsets), our rules and links, and
 * restores sysctls. Idempotent; safe after a crash of any component or of the supervisor.
 */
import { existsSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Binaries } from '../binaries.js';
import { run } from '../exec.js';
import { isRunning, listProcs, readCmdline, stopProcs, withDescendants, type Proc } from '../proc-table.js';
import {
  removeCreatedPaths,
  deleteChains,
  deleteLinks,
  deleteOurRules,
  kubeletChains,
  restoreSysctls,
  unmountAll,
  type HostState,
} from './host.js';
import { nodeLayout } from './layout.js';
import { cleanupKubeRouter } from './policy-engine.js';

export interface TeardownReport {
  leftoverMounts: string[];
  unrestoredSysctls: string[];
  /** Folders created outside the state folder that could not be removed (not empty). */
  leftoverPaths: string[];
  /** kube-router's ipsets that could not be destroyed. */
  leftoverIpsets: string[];
  /** containerd shims and containers that were still running, and were killed. */
  killedShimTrees: Proc[];
  /** Set if some of them survived SIGKILL: which. */
  unkillable?: string;
}

/**
 * Stops every pod sandbox through the CRI while containerd still runs: CNI DEL releases IPs and veths. Resolves
 * with crictl's error if it failed (what it left, cleanHost kills).
 */
export async function stopPods(dir: string, binaries: Binaries): Promise<string | undefined> {
  const l = nodeLayout(dir);
  if (!existsSync(l.containerdSocket)) return undefined;
  return run('timeout', [
    '60',
    binaries.crictl,
    '--runtime-endpoint',
    `unix://${l.containerdSocket}`,
    '--timeout',
    '30s',
    'rmp',
    '-a',
    '-f',
  ]).then(
    () => undefined,
    (err: Error) => err.message,
  );
}

/**
 * The shims of our containerd and everything under them (the containers). Shims daemonize, so they are nobody's
 * children but init's; they name containerd's socket on their command line.
 */
export function shimTrees(dir: string): Proc[] {
  const socket = nodeLayout(dir).containerdSocket;
  const table = listProcs();
  const shims = table.filter(
    (p) => p.name.startsWith('containerd-shim') && readCmdline(p.pid).includes(socket),
  );
  return withDescendants(
    table,
    shims.map((p) => p.pid),
  ).filter(isRunning);
}

/**
 * Processes in pods: kubelet puts every container in a cgroup under /kubepods. Only one node runs on a machine,
 * so after its teardown there must be none.
 */
export function podProcs(): Proc[] {
  return listProcs().filter((p) => {
    try {
      return readFileSync(`/proc/${p.pid}/cgroup`, 'utf8').includes(':/kubepods') && isRunning(p);
    } catch {
      return false; // gone meanwhile
    }
  });
}

/** Everything after the components have stopped (or died). */
export async function cleanHost(dir: string, binaries: Binaries): Promise<TeardownReport> {
  const l = nodeLayout(dir);
  // Shims of our containerd outlive it, and containers outlive a killed shim (they are reparented, not killed):
  // the whole trees go, containers included, before their mounts and network namespaces are removed.
  let unkillable: string | undefined;
  const killedShimTrees = await stopProcs(shimTrees(dir), { term: false, graceMs: 0 }).catch((err: Error) => {
    unkillable = err.message;
    return [];
  });

  const netns = existsSync('/run/netns')
    ? readdirSync('/run/netns')
        .filter((n) => n.startsWith('cni-'))
        .map((n) => join('/run/netns', n))
    : [];
  const ours = netns.filter(() => true);
  const leftoverMounts = await unmountAll([l.root, ...ours]);
  for (const n of ours) rmSync(n, { force: true });

  await run(binaries.kubeProxy, ['--cleanup']).catch(() => undefined);
  // kube-router's --cleanup-config does not clean up its firewall in v2.1 (it runs on an empty controller), and
  // would also touch IPVS and routes it never set up here: its chains and ipsets are removed by name instead.
  const leftoverIpsets = await cleanupKubeRouter();
  await deleteChains(kubeletChains);
  await deleteOurRules();
  await deleteLinks();
  await run('ip', ['route', 'del', '10.96.0.0/16']).catch(() => undefined);

  // Symlinks kubelet left in /var/log/containers pointing into our pod logs.
  if (existsSync('/var/log/containers')) {
    for (const f of readdirSync('/var/log/containers')) {
      const p = join('/var/log/containers', f);
      try {
        if (readlinkSync(p).startsWith(l.podLogs)) rmSync(p, { force: true });
      } catch {
        // not a link
      }
    }
  }

  let unrestoredSysctls: string[] = [];
  let leftoverPaths: string[] = [];
  if (existsSync(l.hostState)) {
    const state = JSON.parse(readFileSync(l.hostState, 'utf8')) as HostState;
    unrestoredSysctls = restoreSysctls(state);
    leftoverPaths = removeCreatedPaths(state);
  }
  return { leftoverMounts, unrestoredSysctls, leftoverPaths, leftoverIpsets, killedShimTrees, unkillable };
}
