/**
 * A picture of what a node changes on the host (links, routes, iptables rules and chains, mounts, network
 * namespaces, sysctls, processes), to prove that teardown put everything back. Used by the end-to-end tier.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { run } from '../exec.js';
import { createdPaths, pidsWithCmdline, touchedSysctls } from './host.js';

export interface HostSnapshot {
  /** Folders components create outside the state folder that exist. */
  paths: string[];
  links: string[];
  routes: string[];
  iptables: string[];
  mounts: string[];
  netns: string[];
  sysctls: Record<string, string>;
}

const normalise = (lines: string) =>
  lines
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .sort();

export async function snapshotHost(): Promise<HostSnapshot> {
  const links = normalise(await run('ip', ['-o', 'link', 'show'])).map(
    (l) => l.split(':')[1]!.trim().split('@')[0]!,
  );
  const routes = normalise(await run('ip', ['route', 'show']));
  const iptables: string[] = [];
  for (const binary of ['iptables', 'ip6tables']) {
    for (const table of ['filter', 'nat', 'mangle']) {
      iptables.push(
        ...normalise(await run(binary, ['-t', table, '-S']).catch(() => '')).map(
          (l) => `${binary} ${table} ${l}`,
        ),
      );
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
  return { paths, links, routes, iptables, mounts, netns, sysctls };
}

/** Differences between two snapshots, as readable lines; [] when the host is as it was. */
export function compareSnapshots(before: HostSnapshot, after: HostSnapshot): string[] {
  const diffs: string[] = [];
  for (const key of ['paths', 'links', 'routes', 'iptables', 'mounts', 'netns'] as const) {
    const b = new Set(before[key]);
    const a = new Set(after[key]);
    for (const x of a) if (!b.has(x)) diffs.push(`${key}: left behind: ${x}`);
    for (const x of b) if (!a.has(x)) diffs.push(`${key}: removed: ${x}`);
  }
  for (const [name, value] of Object.entries(before.sysctls)) {
    if (after.sysctls[name] !== value) diffs.push(`sysctl ${name}: was ${value}, now ${after.sysctls[name]}`);
  }
  return diffs;
}

/**
 * Processes of a cluster still running: every component and containerd shim names the cluster's state folder
 * on its command line (other clusters on the machine do not).
 */
export function clusterProcessesLeft(dir: string): number[] {
  return pidsWithCmdline(dir);
}
