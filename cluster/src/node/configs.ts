/** The node components' configuration files, rendered from the layout. Pure. */
import yaml from 'js-yaml';
import { nodeNetwork, type NodeLayout, type NodePorts } from './layout.js';

export const pauseImage = 'registry.k8s.io/pause:3.10';

export function containerdConfig(l: NodeLayout): string {
  // restrict_oom_score_adj: root on these machines lacks CAP_SYS_RESOURCE, so runc must not lower oom_score_adj.
  return `version = 2
root = "${l.containerdRoot}"
state = "${l.containerdState}"
[grpc]
  address = "${l.containerdSocket}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${pauseImage}"
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${l.cniConfDir}"
`;
}

/** A bridge network; ipMasq off so that pod traffic is never NATed out of the machine. */
export function cniConfig(l: NodeLayout): string {
  return JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: 'modelship',
      plugins: [
        {
          type: 'bridge',
          bridge: nodeNetwork.bridge,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            dataDir: l.cniDataDir,
            ranges: [[{ subnet: nodeNetwork.podSubnet, gateway: nodeNetwork.gateway }]],
            routes: [{ dst: '0.0.0.0/0' }],
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  );
}

export function kubeletConfig(l: NodeLayout, p: NodePorts): string {
  return yaml.dump({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    containerRuntimeEndpoint: `unix://${l.containerdSocket}`,
    cgroupDriver: 'cgroupfs',
    failCgroupV1: false,
    failSwapOn: false,
    // The apiserver reaches the kubelet by hostname, which resolves to 127.0.0.1 (logs, exec, port-forward).
    address: '127.0.0.1',
    port: p.kubelet,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: p.kubeletHealthz,
    // Local-only node: anonymous, always-allow, bound to loopback.
    authentication: { anonymous: { enabled: true }, webhook: { enabled: false } },
    authorization: { mode: 'AlwaysAllow' },
    clusterDNS: [nodeNetwork.dnsServiceIp],
    clusterDomain: nodeNetwork.clusterDomain,
    // Pods never query the machine's resolver: names outside the cluster do not resolve.
    resolvConf: l.resolvConf,
    podLogsDir: l.podLogs,
    cgroupsPerQOS: true,
    enforceNodeAllocatable: ['pods'],
    evictionHard: {
      'memory.available': '100Mi',
      'nodefs.available': '2%',
      'imagefs.available': '2%',
      'nodefs.inodesFree': '2%',
    },
    // Locally imported images must never be garbage-collected: there is no registry to pull them back from.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    oomScoreAdj: 0,
    serializeImagePulls: false,
    maxPods: 110,
    podCIDR: nodeNetwork.podSubnet,
  });
}

export function kubeProxyConfig(kubeconfig: string, hostname: string, p: NodePorts): string {
  return yaml.dump({
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig },
    mode: 'iptables',
    clusterCIDR: nodeNetwork.podCidr,
    hostnameOverride: hostname,
    bindAddress: '127.0.0.1',
    healthzBindAddress: `127.0.0.1:${p.proxyHealthz}`,
    metricsBindAddress: `127.0.0.1:${p.proxyMetrics}`,
    nodePortAddresses: ['127.0.0.1/32'],
    // Leave conntrack sysctls alone (a no-op here, and nothing to restore).
    conntrack: { maxPerCore: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
    oomScoreAdj: 0,
    // Endpoint changes reach iptables at once: a rollout's traffic switch is not delayed by a sync period.
    iptables: { minSyncPeriod: '0s', syncPeriod: '30s' },
  });
}

export function schedulerConfig(kubeconfig: string): string {
  return yaml.dump({
    apiVersion: 'kubescheduler.config.k8s.io/v1',
    kind: 'KubeSchedulerConfiguration',
    clientConnection: { kubeconfig },
    leaderElection: { leaderElect: false },
  });
}
