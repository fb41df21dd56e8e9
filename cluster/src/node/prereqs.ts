/**
 * What a real node needs from the host, checked before anything starts, each failure with the fix.
 * Missing Debian packages are installed when running as root with apt; nothing else is changed here.
 */
import { existsSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { createServer } from 'node:net';
import { run } from '../exec.js';
import { linkExists } from './host.js';
import { nodeNetwork, nodePortVariables, type NodePorts } from './layout.js';

/** Debian packages by the command (or file) that shows they are installed. */
export const requiredPackages: Record<string, string> = {
  containerd: 'containerd',
  runc: 'runc',
  '/usr/lib/cni/bridge': 'containernetworking-plugins',
  iptables: 'iptables',
  conntrack: 'conntrack',
  socat: 'socat',
  buildah: 'buildah',
  umoci: 'umoci',
  skopeo: 'skopeo',
  debootstrap: 'debootstrap',
  '/bin/busybox': 'busybox-static',
  gcc: 'gcc',
  // kube-router, the NetworkPolicy engine, keeps the policies' peers in ipsets.
  ipset: 'ipset',
};

export class PrerequisiteError extends Error {
  override name = 'PrerequisiteError';
}

async function has(commandOrPath: string): Promise<boolean> {
  if (commandOrPath.startsWith('/')) return existsSync(commandOrPath);
  return run('sh', ['-c', `command -v ${commandOrPath}`]).then(
    () => true,
    () => false,
  );
}

export async function missingPackages(): Promise<string[]> {
  const missing: string[] = [];
  for (const [probe, pkg] of Object.entries(requiredPackages)) if (!(await has(probe))) missing.push(pkg);
  return [...new Set(missing)];
}

/** Installs missing packages with apt as root; throws with the list when that is not possible. */
export async function ensurePackages(log: (line: string) => void): Promise<void> {
  const missing = await missingPackages();
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0 || !(await has('apt-get'))) {
    throw new PrerequisiteError(
      `missing Debian packages: ${missing.join(' ')}. Install them (apt-get install -y ${missing.join(' ')}) and run this again.`,
    );
  }
  log(`installing ${missing.join(' ')} with apt-get`);
  try {
    await run('apt-get', ['update', '-qq']);
    await run('env', [
      'DEBIAN_FRONTEND=noninteractive',
      'apt-get',
      'install',
      '-y',
      '-qq',
      '--no-install-recommends',
      ...missing,
    ]);
  } catch (err) {
    throw new PrerequisiteError(
      `could not install ${missing.join(' ')} with apt-get: ${(err as Error).message.slice(0, 500)}`,
    );
  }
  const still = await missingPackages();
  if (still.length) throw new PrerequisiteError(`still missing after apt-get install: ${still.join(' ')}`);
}

function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

export function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new PrerequisiteError(
      'a local node needs root: it runs containerd and kubelet, mounts volumes and changes iptables. Run as root (e.g. sudo make cluster-up), or start the API only with MODELSHIP_CLUSTER_MODE=controlplane make cluster-up; the control-plane-only tier (make test-integration) needs no root.',
    );
  }
}

/** Everything but packages: root, cgroups, bridge netfilter, hostname, free ports, no other node. */
export async function checkHost(ports: NodePorts): Promise<void> {
  requireRoot();
  if (!existsSync('/sys/fs/cgroup/memory') && !existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    throw new PrerequisiteError(
      'no cgroup filesystem at /sys/fs/cgroup (neither v1 memory controller nor v2): kubelet cannot run pods here.',
    );
  }
  if (!existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables')) {
    throw new PrerequisiteError(
      'bridge netfilter is not available (/proc/sys/net/bridge is missing): load br_netfilter (modprobe br_netfilter).',
    );
  }
  const name = hostname();
  const address = await lookup(name, { family: 4 }).catch(() => undefined);
  if (address?.address !== '127.0.0.1') {
    throw new PrerequisiteError(
      `the hostname ${name} must resolve to 127.0.0.1 (the API server reaches the kubelet by node name; kubelet refuses a loopback node IP): add "127.0.0.1 ${name}" to /etc/hosts.`,
    );
  }
  if (await linkExists(nodeNetwork.bridge)) {
    throw new PrerequisiteError(
      `a network bridge ${nodeNetwork.bridge} exists already: another local node may be running. Stop it (make cluster-down) first.`,
    );
  }
  await checkPortsFree(ports);
}

/** Refuses ports another process listens on, naming each one, its role and the variable that moves it. */
export async function checkPortsFree(ports: NodePorts): Promise<void> {
  const busy: string[] = [];
  for (const [role, port] of Object.entries(ports) as [keyof NodePorts, number][]) {
    if (!(await portFree(port, '0.0.0.0')) || !(await portFree(port, '127.0.0.1')))
      busy.push(`${port} (${role}; move it with ${nodePortVariables[role]})`);
  }
  if (busy.length) {
    throw new PrerequisiteError(
      `ports in use: ${busy.join(', ')}. Stop what uses them, or set the variables named to free ports.`,
    );
  }
}
