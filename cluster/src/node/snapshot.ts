/**
 * A picture of what a node changes on the host (links, routes, iptables rules and chains, ipsets, mounts, network
 * namespaces, sysctls, processes), to prove that teardown put everything back. Used by the end-to-end tier.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { run } from '../exec.js';
import { resolve } from 'node:path';
import {
  ancestors,
  clusterProcs,
  describeProc,
  isRunning,
  listProcs,
  readProc,
  type Proc,
} from '../proc-table.js';
import { createdPaths, pidsWithCmdline, touchedSysctls } from './host.js';
import { podProcs, shimTrees } from './teardown.js';
import { ipsetNames } from './policy-engine.js';

export interface HostSnapshot {
  /** Folders components create outside the state folder that exist. */
  paths: string[];
  links: string[];
  routes: string[];
  iptables: string[];
  mounts: string[];
  netns: string[];
  /** ipset names (kube-router's, while the node runs). */
  ipsets: string[];
  sysctls: Record<string, string>;
}

const normalise = (lines: string) =>
  lines
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .sort();

/**
 * A table's rules and chains as `iptables -S` prints them, without the built-in chains' ACCEPT policies: a table
 * no one has touched yet prints nothing, and the same table once instantiated (by the first `iptables` call, or by
 * the package the node installs on a fresh machine) prints `-P INPUT ACCEPT` and so on, which changes nothing.
 * Any other policy (`-P FORWARD DROP`), rule or chain stays. Pure.
 */
export function iptablesLines(rules: string): string[] {
  return normalise(rules).filter((l) => !/^-P [A-Z]+ ACCEPT$/.test(l));
}

export async function snapshotHost(): Promise<HostSnapshot> {
  const links = normalise(await run('ip', ['-o', 'link', 'show'])).map(
    (l) => l.split(':')[1]!.trim().split('@')[0]!,
  );
  const routes = normalise(await run('ip', ['route', 'show']));
  const iptables: string[] = [];
  for (const binary of ['iptables', 'ip6tables']) {
    for (const table of ['filter', 'nat', 'mangle']) {
      const rules = await run(binary, ['-t', table, '-S']).catch(() => '');
      iptables.push(...iptablesLines(rules).map((l) => `${binary} ${table} ${l}`));
    }
  }
  const mounts = normalise(readFileSync('/proc/self/mountinfo', 'utf8'))
    .map((l) => l.split(' ')[4]!)
    .sort();
  const netns = existsSync('/run/netns') ? readdirSync('/run/netns').sort() : [];
  const sysctls: Record<string, string> = {};
  for (const name of touchedSysctls) {
    const path = `/proc/sys/${name.replaceAll('.', '/')}`;
    if (existsSync(path)) sysctls[name] = readFileSync(path, 'utf8').trim();
  }
  const paths = createdPaths.filter((p) => existsSync(p));
  return { paths, links, routes, iptables, mounts, netns, ipsets: await ipsetNames(), sysctls };
}

/** Differences between two snapshots, as readable lines; [] when the host is as it was. */
export function compareSnapshots(before: HostSnapshot, after: HostSnapshot): string[] {
  const diffs: string[] = [];
  for (const key of ['paths', 'links', 'routes', 'iptables', 'mounts', 'netns', 'ipsets'] as const) {
    // A snapshot from before ipsets were recorded has none.
    const b = new Set(before[key] ?? []);
    const a = new Set(after[key] ?? []);
    for (const x of a) if (!b.has(x)) diffs.push(`${key}: left behind: ${x}`);
    for (const x of b) if (!a.has(x)) diffs.push(`${key}: removed: ${x}`);
  }
  for (const [name, value] of Object.entries(before.sysctls)) {
    if (after.sysctls[name] !== value) diffs.push(`sysctl ${name}: was ${value}, now ${after.sysctls[name]}`);
  }
  return diffs;
}

/**
 * Processes of a node's cluster still running, described by name and pid: those that carry its marker (everything it
 * started on the host), the containers under its shims or anywhere in a pod's cgroup (a container outlives a
 * killed shim), and any that names its state folder on its command line (every component and shim does; other
 * clusters on the machine do not). Zombies have exited and do not count.
 */
export function clusterProcessesLeft(dir: string): string[] {
  const own = new Set(ancestors(listProcs(), process.pid));
  const named = pidsWithCmdline(dir)
    .map(readProc)
    .filter((p): p is Proc => p !== undefined && isRunning(p) && !own.has(p.pid));
  const left = new Map(
    [...clusterProcs(resolve(dir)), ...shimTrees(dir), ...podProcs(), ...named].map((p) => [p.pid, p]),
  );
  return [...left.values()].filter(isRunning).map(describeProc);
}
