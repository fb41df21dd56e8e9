/**
 * Brings up the node part of a local cluster on top of a running control plane: containerd with the locally
 * built images, kube-scheduler, kubelet and kube-proxy, the bridge network with its safety rules, kube-router's
 * NetworkPolicy firewall, and CoreDNS.
 * Components are returned for the supervisor to own; host changes are undone by teardown.ts.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import type { Binaries } from '../binaries.js';
import { run } from '../exec.js';
import { kubectl } from '../kubectl.js';
import { freePort, httpGet, startComponent, waitFor, type Component, type TlsOptions } from '../process.js';
import { cniConfig, containerdConfig, kubeletConfig, kubeProxyConfig, schedulerConfig } from './configs.js';
import { corednsManifests } from './coredns.js';
import {
  createServiceSink,
  defaultRouteInterface,
  insertRule,
  safetyRules,
  saveHostState,
  setSysctl,
} from './host.js';
import { importArchive } from './images.js';
import { kubeRouterArgs, kubeRouterPath, kubeRouterReady } from './policy-engine.js';
import { nodeLayout, nodeNetwork, type NodePorts } from './layout.js';
import { deployModelStore } from './model-store.js';

export interface NodeImage {
  ref: string;
  archive: string;
}

export interface NodeOptions {
  dir: string;
  binaries: Binaries;
  kubeconfig: string;
  server: string;
  tls: TlsOptions;
  ports: NodePorts;
  images: NodeImage[];
  /** The CoreDNS image reference (one of `images`). */
  corednsImage: string;
  /** The file server image reference, for the local model store. */
  fileserverImage: string;
  log: (line: string) => void;
  timeoutMs?: number;
}

export async function startNode(o: NodeOptions, components: Component[]): Promise<void> {
  const l = nodeLayout(o.dir);
  const timeoutMs = o.timeoutMs ?? 90_000;
  const logs = join(o.dir, 'logs');
  for (const d of [
    l.root,
    l.containerdRoot,
    l.containerdState,
    l.cniConfDir,
    l.cniDataDir,
    l.kubeletRoot,
    l.podLogs,
    logs,
  ]) {
    mkdirSync(d, { recursive: true });
  }

  // 1. Host network, recorded first so that teardown can restore it whatever happens next.
  const iface = await defaultRouteInterface();
  saveHostState(l, iface);
  await createServiceSink();
  for (const rule of safetyRules(iface, o.ports.apiserver)) await insertRule(rule);
  setSysctl('net.bridge.bridge-nf-call-iptables', '1');
  setSysctl('net.ipv4.ip_forward', '1');
  writeFileSync(l.resolvConf, 'nameserver 127.0.0.1\n');
  // containerd watches the directory and once read a half-written file: write aside, then rename.
  const cni = join(l.cniConfDir, '10-modelship.conflist');
  writeFileSync(`${cni}.tmp`, cniConfig(l));
  renameSync(`${cni}.tmp`, cni);

  // 2. containerd, and the images (no registry: every image is imported from a local archive).
  writeFileSync(l.containerdConfig, containerdConfig(l));
  const containerd = startComponent(
    'containerd',
    'containerd',
    ['--config', l.containerdConfig],
    join(logs, 'containerd.log'),
  );
  components.push(containerd);
  const ctr = (...args: string[]) => run('ctr', ['--address', l.containerdSocket, ...args]);
  await waitFor('containerd', async () => (await ctr('version').then(() => true)) as boolean, {
    timeoutMs,
    component: containerd,
  });
  for (const image of o.images) {
    o.log(`importing ${image.ref}`);
    await importArchive(o.dir, image);
  }

  // 3. kube-scheduler
  writeFileSync(l.schedulerConfig, schedulerConfig(o.kubeconfig));
  const schedulerPort = await freePort();
  const scheduler = startComponent(
    'kube-scheduler',
    o.binaries.kubeScheduler,
    [
      `--config=${l.schedulerConfig}`,
      `--authentication-kubeconfig=${o.kubeconfig}`,
      `--authorization-kubeconfig=${o.kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${schedulerPort}`,
    ],
    join(logs, 'kube-scheduler.log'),
  );
  components.push(scheduler);
  await waitFor(
    'kube-scheduler /healthz',
    async () =>
      (await httpGet(`https://127.0.0.1:${schedulerPort}/healthz`, { insecure: true })).status === 200,
    {
      timeoutMs,
      component: scheduler,
    },
  );

  // 4. kubelet, until the Node is Ready.
  writeFileSync(l.kubeletConfig, kubeletConfig(l, o.ports));
  const kubelet = startComponent(
    'kubelet',
    o.binaries.kubelet,
    [`--config=${l.kubeletConfig}`, `--kubeconfig=${o.kubeconfig}`, `--root-dir=${l.kubeletRoot}`, '--v=1'],
    join(logs, 'kubelet.log'),
  );
  components.push(kubelet);
  const node = hostname();
  await waitFor(
    `node ${node} to be Ready`,
    async () => {
      const r = await httpGet(`${o.server}/api/v1/nodes/${node}`, o.tls);
      if (r.status !== 200) return false;
      const conditions =
        (JSON.parse(r.body) as { status?: { conditions?: { type: string; status: string }[] } }).status
          ?.conditions ?? [];
      return conditions.some((c) => c.type === 'Ready' && c.status === 'True');
    },
    { timeoutMs, component: kubelet },
  );

  // 5. kube-proxy (iptables mode)
  writeFileSync(l.kubeProxyConfig, kubeProxyConfig(o.kubeconfig, node, o.ports));
  const proxy = startComponent(
    'kube-proxy',
    o.binaries.kubeProxy,
    [`--config=${l.kubeProxyConfig}`, '--v=1'],
    join(logs, 'kube-proxy.log'),
  );
  components.push(proxy);
  await waitFor(
    'kube-proxy /healthz',
    async () => (await httpGet(`http://127.0.0.1:${o.ports.proxyHealthz}/healthz`)).status === 200,
    {
      timeoutMs,
      component: proxy,
    },
  );

  // 6. kube-router's firewall: NetworkPolicies enforced on the bridge (node/policy-engine.ts).
  const policies = startComponent(
    'kube-router',
    kubeRouterPath(),
    kubeRouterArgs({ kubeconfig: o.kubeconfig, node, serviceCidr: nodeNetwork.serviceCidr }),
    join(logs, 'kube-router.log'),
  );
  components.push(policies);
  await waitFor('kube-router to install its firewall chains', kubeRouterReady, {
    timeoutMs,
    component: policies,
  });

  // 7. CoreDNS
  const manifests = corednsManifests(o.corednsImage)
    .map((m) => yaml.dump(m))
    .join('---\n');
  const applied = await kubectl(['apply', '--server-side', '-f', '-'], {
    kubeconfig: o.kubeconfig,
    input: manifests,
  });
  if (applied.code !== 0) throw new Error(`could not deploy CoreDNS: ${applied.stderr}`);
  const ready = await kubectl(
    [
      '-n',
      'kube-system',
      'rollout',
      'status',
      'deployment/coredns',
      `--timeout=${Math.round(timeoutMs / 1000)}s`,
    ],
    {
      kubeconfig: o.kubeconfig,
      timeoutMs: timeoutMs + 5000,
    },
  );
  if (ready.code !== 0) {
    const pods = await kubectl(['-n', 'kube-system', 'describe', 'pods', '-l', 'k8s-app=kube-dns'], {
      kubeconfig: o.kubeconfig,
    });
    throw new Error(`CoreDNS did not become ready: ${ready.stderr}\n${pods.stdout.slice(-3000)}`);
  }

  // 8. The local model store (sample models on a PVC and over HTTP), for examples/ and the demo.
  await deployModelStore(o.dir, o.kubeconfig, o.fileserverImage);
}

/** The images a node imports, read from the file the launcher wrote. */
export interface NodeImages {
  images: NodeImage[];
  coredns: string;
  fileserver: string;
}

export function readNodeImages(dir: string): NodeImages {
  return JSON.parse(readFileSync(join(dir, 'images.json'), 'utf8')) as NodeImages;
}
