/**
 * What a node changes on the host, and how it is put back: sysctls, iptables rules and chains, network links,
 * mounts and leftover processes. Every function is idempotent, so teardown can run after a crash too.
 */
import { existsSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { run } from '../exec.js';
import { nodeNetwork, type NodeLayout } from './layout.js';

/** sysctls the node's components change (kubelet, kube-proxy, the bridge plugin, br_netfilter use). */
export const touchedSysctls = [
  'net.ipv4.ip_forward',
  'vm.overcommit_memory',
  'kernel.panic',
  'kernel.panic_on_oops',
  'net.ipv4.conf.all.route_localnet',
  'net.bridge.bridge-nf-call-iptables',
  'net.bridge.bridge-nf-call-ip6tables',
];

const sysctlPath = (name: string) => `/proc/sys/${name.replaceAll('.', '/')}`;

export interface HostState {
  sysctls: Record<string, string>;
  defaultInterface?: string;
  /** Which of `createdPaths` existed before the node started (those that did not are removed if empty). */
  existingPaths?: string[];
}

/**
 * Folders components create outside the state folder: containerd 1.6 always keeps shim sockets and runc state
 * under /run/containerd whatever its config says, and kubelet links container logs from /var/log/containers.
 */
export const createdPaths = [
  '/run/containerd/s',
  '/run/containerd/runc/k8s.io',
  '/run/containerd/runc',
  '/run/containerd',
  '/var/log/containers',
];

/** Records the host's values before anything changes them (once: a second call keeps the first record). */
export function saveHostState(l: NodeLayout, defaultInterface: string | undefined): HostState {
  if (existsSync(l.hostState)) return JSON.parse(readFileSync(l.hostState, 'utf8')) as HostState;
  const sysctls: Record<string, string> = {};
  for (const name of touchedSysctls) {
    if (existsSync(sysctlPath(name))) sysctls[name] = readFileSync(sysctlPath(name), 'utf8').trim();
  }
  const state = { sysctls, defaultInterface, existingPaths: createdPaths.filter((p) => existsSync(p)) };
  writeFileSync(l.hostState, JSON.stringify(state, null, 2));
  return state;
}

export function restoreSysctls(state: HostState): string[] {
  const failed: string[] = [];
  for (const [name, value] of Object.entries(state.sysctls)) {
    try {
      if (readFileSync(sysctlPath(name), 'utf8').trim() !== value) writeFileSync(sysctlPath(name), value);
    } catch {
      failed.push(name);
    }
  }
  return failed;
}

/** Removes the folders of `createdPaths` that did not exist before, deepest first, and only while empty. */
export function removeCreatedPaths(state: HostState): string[] {
  const left: string[] = [];
  for (const p of createdPaths) {
    if (state.existingPaths?.includes(p) || !existsSync(p)) continue;
    try {
      if (readdirSync(p).length === 0) rmdirSync(p);
      else left.push(p);
    } catch {
      left.push(p);
    }
  }
  return left;
}

export function setSysctl(name: string, value: string): void {
  writeFileSync(sysctlPath(name), value);
}

export async function defaultRouteInterface(): Promise<string | undefined> {
  const out = await run('ip', ['-o', 'route', 'show', 'default']).catch(() => '');
  return /\bdev (\S+)/.exec(out)?.[1];
}

// ---- iptables: our rules carry a comment, so teardown removes exactly them ----------------------------

export const ruleComment = 'modelship-local-node';

export interface Rule {
  binary: 'iptables' | 'ip6tables';
  table: string;
  chain: string;
  spec: string[];
}

/**
 * The safety net (real-node.md, section 4): pods cannot send anything out of the machine, and nothing from
 * outside reaches the apiserver, which listens on all addresses so that pods can reach it on the bridge.
 */
export function safetyRules(defaultInterface: string | undefined, apiserverPort: number): Rule[] {
  const c = ['-m', 'comment', '--comment', ruleComment];
  const podsLeaving = ['-s', nodeNetwork.podCidr, '!', '-o', nodeNetwork.bridge, ...c, '-j', 'DROP'];
  const rules: Rule[] = [
    { binary: 'iptables', table: 'filter', chain: 'FORWARD', spec: podsLeaving },
    // The same in mangle, which every forwarded packet passes before filter: kube-router (the NetworkPolicy engine)
    // keeps its own jump first in filter's FORWARD, and that chain ACCEPTs pod traffic its policies allow.
    { binary: 'iptables', table: 'mangle', chain: 'FORWARD', spec: podsLeaving },
    {
      binary: 'iptables',
      table: 'filter',
      chain: 'INPUT',
      spec: [
        '-p',
        'tcp',
        '--dport',
        String(apiserverPort),
        '!',
        '-s',
        nodeNetwork.podCidr,
        '-m',
        'addrtype',
        '!',
        '--src-type',
        'LOCAL',
        ...c,
        '-j',
        'DROP',
      ],
    },
    {
      binary: 'ip6tables',
      table: 'filter',
      chain: 'INPUT',
      spec: ['-p', 'tcp', '--dport', String(apiserverPort), '!', '-i', 'lo', ...c, '-j', 'DROP'],
    },
  ];
  if (defaultInterface) {
    rules.push({
      binary: 'iptables',
      table: 'mangle',
      chain: 'POSTROUTING',
      spec: ['-s', nodeNetwork.podCidr, '-o', defaultInterface, ...c, '-j', 'DROP'],
    });
  }
  return rules;
}

export async function insertRule(r: Rule): Promise<void> {
  const exists = await run(r.binary, ['-t', r.table, '-C', r.chain, ...r.spec]).then(
    () => true,
    () => false,
  );
  if (!exists) await run(r.binary, ['-t', r.table, '-I', r.chain, ...r.spec]);
}

/** Deletes every rule carrying our comment, in every table, for both address families. */
export async function deleteOurRules(): Promise<void> {
  for (const binary of ['iptables', 'ip6tables']) {
    for (const table of ['filter', 'mangle', 'nat']) {
      const rules = (await run(binary, ['-t', table, '-S']).catch(() => ''))
        .split('\n')
        .filter((l) => l.includes(ruleComment) && l.startsWith('-A '));
      for (const rule of rules) {
        const args = splitRule(rule.replace(/^-A /, '-D '));
        await run(binary, ['-t', table, ...args]).catch(() => undefined);
      }
    }
  }
}

/** Splits an `iptables -S` line into arguments, honouring double quotes. */
export function splitRule(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"([^"]*)"|(\S+)/g)) out.push(m[1] ?? m[2]!);
  return out;
}

/** Chains kubelet creates and `kube-proxy --cleanup` leaves behind. */
export const kubeletChains = ['KUBE-FIREWALL', 'KUBE-KUBELET-CANARY', 'KUBE-IPTABLES-HINT'];

export async function deleteChains(chains: string[]): Promise<void> {
  for (const binary of ['iptables', 'ip6tables']) {
    for (const table of ['filter', 'mangle', 'nat']) {
      const existing = (await run(binary, ['-t', table, '-S']).catch(() => '')).split('\n');
      for (const chain of chains) {
        if (!existing.includes(`-N ${chain}`)) continue;
        // References first, then the chain itself.
        for (const rule of existing.filter((l) => l.startsWith('-A ') && l.includes(`-j ${chain}`))) {
          await run(binary, ['-t', table, ...splitRule(rule.replace(/^-A /, '-D '))]).catch(() => undefined);
        }
        await run(binary, ['-t', table, '-F', chain]).catch(() => undefined);
        await run(binary, ['-t', table, '-X', chain]).catch(() => undefined);
      }
    }
  }
}

// ---- links --------------------------------------------------------------------------------------------

export async function linkExists(name: string): Promise<boolean> {
  return run('ip', ['link', 'show', name]).then(
    () => true,
    () => false,
  );
}

export async function createServiceSink(): Promise<void> {
  if (!(await linkExists(nodeNetwork.serviceSink)))
    await run('ip', ['link', 'add', nodeNetwork.serviceSink, 'type', 'bridge']);
  await run('ip', ['link', 'set', nodeNetwork.serviceSink, 'up']);
  await run('ip', ['route', 'replace', nodeNetwork.serviceCidr, 'dev', nodeNetwork.serviceSink]);
}

export async function deleteLinks(): Promise<void> {
  for (const name of [nodeNetwork.bridge, nodeNetwork.serviceSink]) {
    if (await linkExists(name)) await run('ip', ['link', 'delete', name]).catch(() => undefined);
  }
}

// ---- mounts and processes ------------------------------------------------------------------------------

/** Mount points under any of `prefixes`, deepest first. */
export function mountsUnder(prefixes: string[]): string[] {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p)
    .map((p) => p.replace(/\\040/g, ' '));
  return [
    ...new Set(points.filter((p) => prefixes.some((prefix) => p === prefix || p.startsWith(`${prefix}/`)))),
  ].sort((a, b) => b.length - a.length);
}

export async function unmountAll(prefixes: string[]): Promise<string[]> {
  const left: string[] = [];
  for (let round = 0; round < 3; round++) {
    const points = mountsUnder(prefixes);
    if (points.length === 0) return [];
    for (const p of points) await run('umount', ['-l', p]).catch(() => undefined);
  }
  left.push(...mountsUnder(prefixes));
  return left;
}

/** PIDs whose command line contains `needle` (e.g. a containerd shim started for our socket). */
export function pidsWithCmdline(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmdline.includes(needle)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}
