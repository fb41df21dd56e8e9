import { describe, expect, it } from '@jest/globals';
import yaml from 'js-yaml';
import { cniConfig, containerdConfig, kubeletConfig, kubeProxyConfig } from './configs.js';
import { corednsManifests, corefile } from './coredns.js';
import { safetyRules, splitRule } from './host.js';
import { defaultNodePorts, nodeLayout } from './layout.js';

const l = nodeLayout('/state');

describe('node configuration', () => {
  it('keeps every path of the node under the state folder', () => {
    for (const [key, path] of Object.entries(l))
      expect([key, path.startsWith('/state/node')]).toEqual([key, true]);
  });

  it('does not let runc lower oom_score_adj (root here lacks CAP_SYS_RESOURCE)', () => {
    expect(containerdConfig(l)).toContain('restrict_oom_score_adj = true');
    expect(containerdConfig(l)).toContain(`address = "${l.containerdSocket}"`);
  });

  it('never masquerades pod traffic, and keeps IPAM state under the state folder', () => {
    const cni = JSON.parse(cniConfig(l)) as { plugins: { ipMasq?: boolean; ipam?: { dataDir: string } }[] };
    expect(cni.plugins[0]!.ipMasq).toBe(false);
    expect(cni.plugins[0]!.ipam!.dataDir).toBe('/state/node/cni/networks');
  });

  it('points pods at the cluster DNS and the kubelet resolver at nothing outside', () => {
    const k = yaml.load(kubeletConfig(l, defaultNodePorts)) as Record<string, unknown>;
    expect(k).toMatchObject({
      clusterDNS: ['10.96.0.10'],
      resolvConf: l.resolvConf,
      oomScoreAdj: 0,
      failCgroupV1: false,
      address: '127.0.0.1',
    });
    expect(k.imageGCHighThresholdPercent).toBe(100);
  });

  it('syncs kube-proxy rules at once and leaves conntrack sysctls alone', () => {
    const p = yaml.load(kubeProxyConfig('/k', 'vm', defaultNodePorts)) as {
      iptables: { minSyncPeriod: string };
      conntrack: { maxPerCore: number };
      mode: string;
    };
    expect(p.mode).toBe('iptables');
    expect(p.iptables.minSyncPeriod).toBe('0s');
    expect(p.conntrack.maxPerCore).toBe(0);
  });

  it('resolves nothing outside the cluster (no forward in the Corefile)', () => {
    expect(corefile).not.toMatch(/forward/);
    const svc = corednsManifests('img').find((m) => (m as { kind: string }).kind === 'Service') as {
      spec: { clusterIP: string };
    };
    expect(svc.spec.clusterIP).toBe('10.96.0.10');
  });
});

describe('safety rules', () => {
  it('drop pod traffic leaving the bridge and outside access to the apiserver port', () => {
    const rules = safetyRules('eth0', 6443).map(
      (r) => `${r.binary} ${r.table} ${r.chain} ${r.spec.join(' ')}`,
    );
    expect(rules).toEqual([
      'iptables filter FORWARD -s 10.244.0.0/16 ! -o cni0 -m comment --comment modelship-local-node -j DROP',
      'iptables mangle FORWARD -s 10.244.0.0/16 ! -o cni0 -m comment --comment modelship-local-node -j DROP',
      'iptables filter INPUT -p tcp --dport 6443 ! -s 10.244.0.0/16 -m addrtype ! --src-type LOCAL -m comment --comment modelship-local-node -j DROP',
      'ip6tables filter INPUT -p tcp --dport 6443 ! -i lo -m comment --comment modelship-local-node -j DROP',
      'iptables mangle POSTROUTING -s 10.244.0.0/16 -o eth0 -m comment --comment modelship-local-node -j DROP',
    ]);
  });

  it('splits iptables -S lines with quoted comments', () => {
    expect(splitRule('-D FORWARD -s 10.244.0.0/16 -m comment --comment "a b" -j DROP')).toEqual([
      '-D',
      'FORWARD',
      '-s',
      '10.244.0.0/16',
      '-m',
      'comment',
      '--comment',
      'a b',
      '-j',
      'DROP',
    ]);
  });
});
