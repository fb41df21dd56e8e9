import { describe, expect, it } from '@jest/globals';
import { compareSnapshots, iptablesLines, type HostSnapshot } from './snapshot.js';

const empty: HostSnapshot = {
  paths: [],
  links: [],
  routes: [],
  iptables: [],
  mounts: [],
  netns: [],
  ipsets: [],
  sysctls: {},
};

describe('iptablesLines', () => {
  it('reads an untouched table and a freshly instantiated one (every built-in chain ACCEPT) the same', () => {
    const fresh = '-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n';
    expect(iptablesLines(fresh)).toEqual([]);
    expect(iptablesLines('')).toEqual([]);
  });

  it('keeps any other policy, rule or chain', () => {
    const changed = '-P INPUT ACCEPT\n-P FORWARD DROP\n-N KUBE-FORWARD\n-A FORWARD -j KUBE-FORWARD\n';
    expect(iptablesLines(changed)).toEqual([
      '-A FORWARD -j KUBE-FORWARD',
      '-N KUBE-FORWARD',
      '-P FORWARD DROP',
    ]);
  });
});

describe('compareSnapshots', () => {
  it('names what was left behind and what was removed', () => {
    const before = { ...empty, links: ['lo', 'eth0'], sysctls: { 'net.ipv4.ip_forward': '0' } };
    const after = { ...empty, links: ['lo', 'cni0'], sysctls: { 'net.ipv4.ip_forward': '1' } };
    expect(compareSnapshots(before, after)).toEqual([
      'links: left behind: cni0',
      'links: removed: eth0',
      'sysctl net.ipv4.ip_forward: was 0, now 1',
    ]);
    expect(compareSnapshots(before, before)).toEqual([]);
  });
});
