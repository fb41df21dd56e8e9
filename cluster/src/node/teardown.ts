/**
 * Puts the host back as it was before the node started: stops pods through the CRI, kills what is left of
 * containerd's shims, unmounts, removes kube-proxy's and kubelet's iptables chains, our rules and links, and
 * restores sysctls. Idempotent; safe after a crash of any component or of the supervisor.
 */
import { existsSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Binaries } from '../binaries.js';
import { run } from '../exec.js';
import { isAlive } from '../state.js';
import {
  removeCreatedPaths,
  deleteChains,
  deleteLinks,
  deleteOurRules,
  kubeletChains,
  pidsWithCmdline,
  restoreSysctls,
  unmountAll,
  type HostState,
} from './host.js';
import { nodeLayout } from './layout.js';

export interface TeardownReport {
  leftoverMounts: string[];
  unrestoredSysctls: string[];
  /** Folders created outside the state folder that could not be removed (not empty). */
  leftoverPaths: string[];
}

/** Stops every pod sandbox through the CRI while containerd still runs: CNI DEL releases IPs and veths. */
export async function stopPods(dir: string, binaries: Binaries): Promise<void> {
  const l = nodeLayout(dir);
  if (!existsSync(l.containerdSocket)) return;
  await run('timeout', [
    '60',
    binaries.crictl,
    '--runtime-endpoint',
    `unix://${l.containerdSocket}`,
    '--timeout',
    '30s',
    'rmp',
    '-a',
    '-f',
  ]).catch(() => undefined);
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Everything after the components have stopped (or died). */
export async function cleanHost(dir: string, binaries: Binaries): Promise<TeardownReport> {
  const l = nodeLayout(dir);
  // Shims of our containerd (and their containers) outlive it when it is killed.
  const shims = pidsWithCmdline(l.containerdSocket).filter((p) => p !== process.pid);
  killAll(shims);
  for (let i = 0; i < 50 && shims.some(isAlive); i++) await new Promise((r) => setTimeout(r, 100));

  const netns = existsSync('/run/netns')
    ? readdirSync('/run/netns')
        .filter((n) => n.startsWith('cni-'))
        .map((n) => join('/run/netns', n))
    : [];
  const ours = netns.filter(() => true);
  const leftoverMounts = await unmountAll([l.root, ...ours]);
  for (const n of ours) rmSync(n, { force: true });

  await run(binaries.kubeProxy, ['--cleanup']).catch(() => undefined);
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
  return { leftoverMounts, unrestoredSysctls, leftoverPaths };
}
