import { describe, expect, it } from '@jest/globals';
import { chainCleanup, kubeRouterArgs, kubeRouterChainPrefixes } from './policy-engine.js';

describe("kube-router's flags", () => {
  it('run the firewall only, with nothing listening', () => {
    const args = kubeRouterArgs({ kubeconfig: '/k', node: 'vm', serviceCidr: '10.96.0.0/16' });
    expect(args).toEqual(
      expect.arrayContaining([
        '--kubeconfig=/k',
        '--hostname-override=vm',
        '--run-firewall=true',
        '--run-router=false',
        '--run-service-proxy=false',
        '--enable-cni=false',
        '--health-port=0',
        '--metrics-port=0',
        '--service-cluster-ip-range=10.96.0.0/16',
      ]),
    );
  });
});

describe('removing kube-router’s chains', () => {
  // An `iptables -S` listing as kube-router leaves it, beside kube-proxy's and our own rules.
  const listing = [
    '-P INPUT ACCEPT',
    '-P FORWARD ACCEPT',
    '-N KUBE-FORWARD',
    '-N KUBE-NWPLCY-DEFAULT',
    '-N KUBE-NWPLCY-ABC',
    '-N KUBE-POD-FW-XYZ',
    '-N KUBE-ROUTER-FORWARD',
    '-N KUBE-ROUTER-INPUT',
    '-A INPUT -m comment --comment "kube-router netpol - 4IA2OSFRMVNDXBVV" -j KUBE-ROUTER-INPUT',
    '-A FORWARD -m comment --comment "kube-router netpol - TEMCG2JMHZYE7H7T" -j KUBE-ROUTER-FORWARD',
    '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
    '-A FORWARD -s 10.244.0.0/16 ! -o cni0 -m comment --comment modelship-local-node -j DROP',
    '-A KUBE-ROUTER-FORWARD -d 10.244.0.5/32 -j KUBE-POD-FW-XYZ',
    '-A KUBE-POD-FW-XYZ -d 10.244.0.5/32 -j KUBE-NWPLCY-ABC',
    '-A KUBE-NWPLCY-ABC -m set --match-set KUBE-SRC-1 src -j ACCEPT',
  ].join('\n');

  it('deletes the jumps into them from other chains, then flushes and deletes each one', () => {
    expect(chainCleanup(listing, kubeRouterChainPrefixes)).toEqual([
      [
        '-D',
        'INPUT',
        '-m',
        'comment',
        '--comment',
        'kube-router netpol - 4IA2OSFRMVNDXBVV',
        '-j',
        'KUBE-ROUTER-INPUT',
      ],
      [
        '-D',
        'FORWARD',
        '-m',
        'comment',
        '--comment',
        'kube-router netpol - TEMCG2JMHZYE7H7T',
        '-j',
        'KUBE-ROUTER-FORWARD',
      ],
      ['-F', 'KUBE-NWPLCY-DEFAULT'],
      ['-F', 'KUBE-NWPLCY-ABC'],
      ['-F', 'KUBE-POD-FW-XYZ'],
      ['-F', 'KUBE-ROUTER-FORWARD'],
      ['-F', 'KUBE-ROUTER-INPUT'],
      ['-X', 'KUBE-NWPLCY-DEFAULT'],
      ['-X', 'KUBE-NWPLCY-ABC'],
      ['-X', 'KUBE-POD-FW-XYZ'],
      ['-X', 'KUBE-ROUTER-FORWARD'],
      ['-X', 'KUBE-ROUTER-INPUT'],
    ]);
  });

  it("leaves kube-proxy's chains and our rules alone, and does nothing when kube-router never ran", () => {
    const steps = chainCleanup(listing, kubeRouterChainPrefixes).flat().join(' ');
    expect(steps).not.toMatch(/KUBE-FORWARD|modelship-local-node/);
    expect(chainCleanup('-P INPUT ACCEPT\n-N KUBE-FORWARD', kubeRouterChainPrefixes)).toEqual([]);
  });
});
