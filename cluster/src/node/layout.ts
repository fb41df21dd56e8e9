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
