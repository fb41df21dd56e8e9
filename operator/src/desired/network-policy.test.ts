import { describe, expect, it } from '@jest/globals';
import type { ModelDeploymentSpec } from '../api/v1alpha1/schema.js';
import { md } from '../testing/fixtures.js';
import { desiredNetworkPolicies, providerNamespaces, type NetworkPolicy } from './network-policy.js';

const input = { router: true, operatorNamespace: 'modelship-system' };
const ns = (name: string) => ({
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': name } },
});
const operatorPods = {
  ...ns('modelship-system'),
  podSelector: {
    matchLabels: { 'app.kubernetes.io/part-of': 'modelship', 'app.kubernetes.io/component': 'operator' },
  },
};
const routerPods = {
  podSelector: {
    matchLabels: { 'modelship.dev/deployment': 'churn', 'app.kubernetes.io/component': 'router' },
  },
};
const servingPods = {
  podSelector: {
    matchLabels: { 'modelship.dev/deployment': 'churn', 'app.kubernetes.io/component': 'model-server' },
  },
};

/** The peers of the rule on `port`. */
const from = (p: NetworkPolicy, port: number) =>
  p.spec.ingress.find((r) => r.ports.some((x) => x.port === port))!.from;

describe('the NetworkPolicies of a ModelDeployment', () => {
  it('by default: one for the serving pods and one for the router, owned by the ModelDeployment', () => {
    const [serving, router] = desiredNetworkPolicies(md(), input);
    expect(serving).toMatchObject({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: {
        name: 'churn',
        namespace: 'ml',
        labels: expect.objectContaining({ 'app.kubernetes.io/managed-by': 'modelship' }),
        ownerReferences: [
          expect.objectContaining({ kind: 'ModelDeployment', uid: 'uid-1', controller: true }),
        ],
      },
      spec: { podSelector: servingPods.podSelector, policyTypes: ['Ingress'] },
    });
    expect(router).toMatchObject({
      metadata: { name: 'churn-router', namespace: 'ml' },
      spec: { podSelector: routerPods.podSelector, policyTypes: ['Ingress'] },
    });
  });

  it('admits inference from the router, the own pods and the own namespace; metrics from monitoring and the operator', () => {
    const [serving, router] = desiredNetworkPolicies(md(), input);
    // Exactly two rules each: the inference port and the metrics port, nothing else.
    expect(serving!.spec.ingress.map((r) => r.ports)).toEqual([
      [{ protocol: 'TCP', port: 8080 }],
      [{ protocol: 'TCP', port: 9090 }],
    ]);
    expect(from(serving!, 8080)).toEqual([routerPods, servingPods, { podSelector: {} }]);
    expect(from(serving!, 9090)).toEqual([ns('monitoring'), operatorPods]);
    expect(from(router!, 8080)).toEqual([{ podSelector: {} }]);
    expect(from(router!, 9090)).toEqual([ns('monitoring'), operatorPods]);
  });

  it('replaces the default callers and scrapers with the listed ones (the operator always scrapes)', () => {
    const team = {
      namespaceSelector: { matchLabels: { team: 'risk' } },
      podSelector: { matchLabels: { app: 'x' } },
    };
    const prom = { namespaceSelector: { matchLabels: { obs: 'true' } } };
    const spec = { networkPolicy: { from: [team], metricsFrom: [prom] } } as Partial<ModelDeploymentSpec>;
    const m = md(spec);
    const [serving, router] = desiredNetworkPolicies(m, input);
    expect(from(serving!, 8080)).toEqual([routerPods, servingPods, team]);
    expect(from(router!, 8080)).toEqual([team]);
    expect(from(serving!, 9090)).toEqual([prom, operatorPods]);
    // The desired object is a copy: applying it never changes the spec.
    from(serving!, 8080)[2]!.namespaceSelector!.matchLabels!.team = 'changed';
    expect(m.spec.networkPolicy!.from![0]!.namespaceSelector!.matchLabels!.team).toBe('risk');
  });

  it('an empty list admits no one but the router and the own pods', () => {
    const [serving, router] = desiredNetworkPolicies(
      md({ networkPolicy: { from: [], metricsFrom: [] } }),
      input,
    );
    expect(from(serving!, 8080)).toEqual([routerPods, servingPods]);
    expect(from(router!, 8080)).toEqual([]);
    expect(from(serving!, 9090)).toEqual([operatorPods]);
  });

  it('has no router policy without the router', () => {
    expect(desiredNetworkPolicies(md(), { ...input, router: false }).map((p) => p.metadata!.name)).toEqual([
      'churn',
    ]);
  });

  it('is none when disabled', () => {
    expect(desiredNetworkPolicies(md({ networkPolicy: { enabled: false } }), input)).toEqual([]);
  });

  it("admits the Gateways' namespaces for GatewayAPI", () => {
    const m = md({
      traffic: {
        provider: 'GatewayAPI',
        gatewayAPI: { parentRefs: [{ name: 'public', namespace: 'gateways' }, { name: 'local' }] },
      },
    });
    expect(providerNamespaces(m)).toEqual(['gateways', 'ml']);
    const [serving] = desiredNetworkPolicies(m, { ...input, router: false });
    expect(from(serving!, 8080)).toEqual([
      routerPods,
      servingPods,
      ns('gateways'),
      ns('ml'),
      { podSelector: {} },
    ]);
  });

  it("admits the Istio gateways' namespaces, not for mesh (callers' own sidecars)", () => {
    const m = md({
      traffic: { provider: 'Istio', istio: { gateways: ['istio-system/ingress', 'mesh', 'local-gw'] } },
    });
    expect(providerNamespaces(m)).toEqual(['istio-system', 'ml']);
    expect(providerNamespaces(md({ traffic: { provider: 'Istio', istio: { gateways: ['mesh'] } } }))).toEqual(
      [],
    );
  });

  it('admits no provider namespace for the router or the Service', () => {
    expect(providerNamespaces(md())).toEqual([]);
    expect(providerNamespaces(md({ traffic: { provider: 'Router' } }))).toEqual([]);
  });
});
