import { join } from 'node:path';

/** Everything a local node keeps, under one folder of the cluster's state directory. */
export interface NodeLayout {
  root: string;
  containerdRoot: string;
  containerdState: string;
  containerdSocket: string;
  containerdConfig: string;
  cniConfDir: string;
  cniDataDir: string;
  kubeletRoot: string;
  kubeletConfig: string;
  podLogs: string;
  resolvConf: string;
  kubeProxyConfig: string;
  schedulerConfig: string;
  hostState: string;
  images: string;
}

export function nodeLayout(dir: string): NodeLayout {
  const root = join(dir, 'node');
  return {
    root,
    containerdRoot: join(root, 'containerd'),
    containerdState: join(root, 'run', 'containerd'),
    containerdSocket: join(root, 'run', 'containerd', 'containerd.sock'),
    containerdConfig: join(root, 'containerd.toml'),
    cniConfDir: join(root, 'cni', 'net.d'),
    cniDataDir: join(root, 'cni', 'networks'),
    kubeletRoot: join(root, 'kubelet'),
    kubeletConfig: join(root, 'kubelet.yaml'),
    podLogs: join(root, 'pod-logs'),
    resolvConf: join(root, 'resolv.conf'),
    kubeProxyConfig: join(root, 'kube-proxy.yaml'),
    schedulerConfig: join(root, 'kube-scheduler.yaml'),
    hostState: join(root, 'host-state.json'),
    images: join(root, 'images'),
  };
}

/** The node's fixed network: pods, the bridge gateway (where pods reach the apiserver), Services and DNS. */
export const nodeNetwork = {
  bridge: 'cni0',
  /** A port-less bridge that swallows Service traffic no rule matched (this kernel has no dummy driver). */
  serviceSink: 'ms-svc0',
  podCidr: '10.244.0.0/16',
  podSubnet: '10.244.0.0/24',
  gateway: '10.244.0.1',
  serviceCidr: '10.96.0.0/16',
  dnsServiceIp: '10.96.0.10',
  clusterDomain: 'cluster.local',
} as const;

/** Host ports the node needs; configurable where users may clash with something else. */
export interface NodePorts {
  apiserver: number;
  kubelet: number;
  kubeletHealthz: number;
  proxyHealthz: number;
  proxyMetrics: number;
}

export const defaultNodePorts: NodePorts = {
  apiserver: 6443,
  kubelet: 10250,
  kubeletHealthz: 10248,
  proxyHealthz: 10256,
  proxyMetrics: 10249,
};

/** The environment variable that moves each of them, for machines where a default port is taken. */
export const nodePortVariables: Record<keyof NodePorts, string> = {
  apiserver: 'MODELSHIP_APISERVER_PORT',
  kubelet: 'MODELSHIP_KUBELET_PORT',
  kubeletHealthz: 'MODELSHIP_KUBELET_HEALTHZ_PORT',
  proxyHealthz: 'MODELSHIP_PROXY_HEALTHZ_PORT',
  proxyMetrics: 'MODELSHIP_PROXY_METRICS_PORT',
};

/** The ports set in `env`, validated; the others stay unset (defaults apply). */
export function nodePortsFromEnv(env: NodeJS.ProcessEnv): Partial<NodePorts> {
  const ports: Partial<NodePorts> = {};
  for (const [key, variable] of Object.entries(nodePortVariables) as [keyof NodePorts, string][]) {
    const value = env[variable];
    if (value === undefined || value === '') continue;
    const port = Number(value);
    if (!/^\d+$/.test(value) || port < 1 || port > 65535)
      throw new Error(`${variable} must be a port number (1-65535), not "${value}"`);
    ports[key] = port;
  }
  return ports;
}

/** The defaults with `overrides` applied; refuses two roles on one port. */
export function resolveNodePorts(overrides: Partial<NodePorts> = {}): NodePorts {
  const ports = { ...defaultNodePorts, ...overrides };
  const byPort = new Map<number, string>();
  for (const [key, port] of Object.entries(ports) as [keyof NodePorts, number][]) {
    const other = byPort.get(port);
    if (other)
      throw new Error(
        `${nodePortVariables[key]} and ${other} cannot both be ${port}: each port serves one role`,
      );
    byPort.set(port, nodePortVariables[key]);
  }
  return ports;
}
