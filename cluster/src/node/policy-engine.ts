/**
 * The node's NetworkPolicy engine: kube-router's network policy controller alone (no routing, no service proxy, no
 * CNI: the bridge plugin and kube-proxy keep doing those). It watches pods, namespaces and NetworkPolicies and
 * programs iptables chains (KUBE-ROUTER-*, KUBE-POD-FW-*, KUBE-NWPLCY-*) with ipsets (KUBE-SRC-*, KUBE-DST-*) in the
 * host's filter table, where bridged pod-to-pod traffic passes too (br_netfilter). Traffic from the node itself
 * (kubelet probes, the host's curls, a ClusterIP reached from the host) is always admitted, as in any cluster.
 *
 * Built once from the Go module proxy into ~/.cache/modelship/kube-router/<version>; it needs the `ipset` command
 * (Debian's ipset, a required package of the node).
 */
import { join } from 'node:path';
import { run } from '../exec.js';
import { cachedTool, goInstall } from '../tool-cache.js';
import { cacheDir, readVersions } from '../versions.js';
import { splitRule } from './host.js';

const modulePath = 'github.com/cloudnativelabs/kube-router/v2';

export function kubeRouterVersion(): string {
  const v = readVersions().KUBE_ROUTER_VERSION;
  if (!v) throw new Error('cluster/versions.env has no KUBE_ROUTER_VERSION');
  return v;
}

/** Where the cached binary is (it may not exist yet). */
export function kubeRouterPath(): string {
  return join(cacheDir(), 'kube-router', kubeRouterVersion(), 'bin', 'kube-router');
}

/** The binary, built first when the cache lacks it (about 2 minutes, 200 CPU-seconds, on 2 cores). */
export async function ensureKubeRouter(): Promise<string> {
  const version = kubeRouterVersion();
  return cachedTool('kube-router', version, 'kube-router', 'about 2 minutes on 2 cores', (dir, log) =>
    goInstall({
      pkg: `${modulePath}/cmd/kube-router`,
      version,
      dir,
      log,
      ldflags: `-s -w -X ${modulePath}/pkg/version.Version=${version}`,
    }),
  );
}

export interface KubeRouterOptions {
  kubeconfig: string;
  /** The Node's name. */
  node: string;
  serviceCidr: string;
}

/**
 * kube-router's flags: the firewall only, nothing listening (health and metrics off: the supervisor watches the
 * process, and nothing should answer from outside the machine), policies re-synced every 30 s besides the
 * immediate sync on every change.
 */
export function kubeRouterArgs(o: KubeRouterOptions): string[] {
  return [
    `--kubeconfig=${o.kubeconfig}`,
    `--hostname-override=${o.node}`,
    '--run-firewall=true',
    '--run-router=false',
    '--run-service-proxy=false',
    '--enable-cni=false',
    '--enable-pod-egress=false',
    '--health-port=0',
    '--metrics-port=0',
    `--service-cluster-ip-range=${o.serviceCidr}`,
    '--iptables-sync-period=30s',
    '--v=1',
  ];
}

/** Prefixes of the chains kube-router creates in the filter table. */
export const kubeRouterChainPrefixes = ['KUBE-ROUTER-', 'KUBE-POD-FW-', 'KUBE-NWPLCY-'];
/** Prefixes of its ipsets (`inet6:` for IPv6, `TMP-` while it swaps a set). */
export const kubeRouterIpsetPrefixes = ['KUBE-SRC-', 'KUBE-DST-', 'TMP-', 'inet6:KUBE-', 'inet6:TMP-'];

/** True once the controller has installed its top-level chain (it then syncs every policy at once). */
export async function kubeRouterReady(): Promise<boolean> {
  const rules = await run('iptables', ['-t', 'filter', '-S', 'FORWARD']).catch(() => '');
  return rules.includes('-j KUBE-ROUTER-FORWARD');
}

/**
 * The chains to remove from one `iptables -S` listing: every chain with one of `prefixes`, the rules of other chains
 * that jump to them (deleted first), in the order to run. Pure.
 */
export function chainCleanup(listing: string, prefixes: string[]): string[][] {
  const lines = listing.split('\n');
  const ours = lines
    .filter((l) => l.startsWith('-N '))
    .map((l) => l.slice(3).trim())
    .filter((c) => prefixes.some((p) => c.startsWith(p)));
  if (ours.length === 0) return [];
  const isOurs = new Set(ours);
  const jumps = lines
    .filter((l) => l.startsWith('-A '))
    .filter((l) => !isOurs.has(l.split(' ')[1]!))
    .filter((l) => {
      const target = /(?:^| )-[jg] (\S+)/.exec(l)?.[1];
      return target !== undefined && isOurs.has(target);
    })
    .map((l) => splitRule(l.replace(/^-A /, '-D ')));
  // Flush every chain first (they jump to each other), then delete them.
  return [...jumps, ...ours.map((c) => ['-F', c]), ...ours.map((c) => ['-X', c])];
}

/** Removes kube-router's chains (both address families) and then its ipsets. Idempotent; safe if it never ran. */
export async function cleanupKubeRouter(): Promise<string[]> {
  for (const binary of ['iptables', 'ip6tables']) {
    const listing = await run(binary, ['-t', 'filter', '-S']).catch(() => '');
    for (const args of chainCleanup(listing, kubeRouterChainPrefixes))
      await run(binary, ['-t', 'filter', ...args]).catch(() => undefined);
  }
  const sets = await ipsetNames();
  for (const name of sets.filter((n) => kubeRouterIpsetPrefixes.some((p) => n.startsWith(p))))
    await run('ipset', ['destroy', name]).catch(() => undefined);
  return (await ipsetNames()).filter((n) => kubeRouterIpsetPrefixes.some((p) => n.startsWith(p)));
}

/** Names of the host's ipsets; none when the ipset command is missing. */
export async function ipsetNames(): Promise<string[]> {
  const out = await run('ipset', ['list', '-n']).catch(() => '');
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .sort();
}
