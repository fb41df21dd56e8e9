import { describe, expect, it } from '@jest/globals';
import { md } from '../testing/fixtures.js';
import { httpRoute } from './gateway-api.js';
import { virtualService } from './istio.js';
import { routeTable } from './router.js';
import { weightsOf, type TrafficSplit } from './split.js';

const stable = { revision: 'aaaa', version: '1' };
const canary = { revision: 'bbbb', version: '2' };
const split = (canaryWeight: number, withCanary = true): TrafficSplit => ({
  stable,
  ...(withCanary ? { canary } : {}),
  canaryWeight,
  matches: [],
});

describe('weightsOf', () => {
  it('gives the stable revision the rest of the canary’s weight', () => {
    expect(weightsOf(split(20))).toEqual([
      { revision: 'aaaa', weight: 80 },
      { revision: 'bbbb', weight: 20 },
    ]);
    expect(weightsOf(split(20, false))).toEqual([{ revision: 'aaaa', weight: 100 }]);
  });

  it('leaves an idle canary out, unless asked to keep it at 0', () => {
    expect(weightsOf(split(0))).toEqual([{ revision: 'aaaa', weight: 100 }]);
    expect(weightsOf(split(0), 'keep')).toEqual([
      { revision: 'aaaa', weight: 100 },
      { revision: 'bbbb', weight: 0 },
    ]);
    expect(weightsOf(split(0, false), 'keep')).toEqual([{ revision: 'aaaa', weight: 100 }]);
  });
});

const gatewayMd = md({
  traffic: { provider: 'GatewayAPI', gatewayAPI: { parentRefs: [{ name: 'public' }] }, match: [] },
} as never);
const istioMd = md({ traffic: { provider: 'Istio', istio: {}, match: [] } } as never);

const httpRouteWeights = (s: TrafficSplit) => {
  const rules = (
    httpRoute(gatewayMd, s).spec as { rules: { backendRefs: { name: string; weight: number }[] }[] }
  ).rules;
  return rules.at(-1)!.backendRefs.map((b) => [b.name, b.weight]);
};
const virtualServiceWeights = (s: TrafficSplit) =>
  (
    virtualService(istioMd, s).spec as {
      http: { name: string; route: { destination: { host: string }; weight: number }[] }[];
    }
  ).http
    .find((h) => h.name === 'weighted')!
    .route.map((r) => [r.destination.host.split('.')[0], r.weight]);

describe('the gateways’ routes name a canary from the moment it exists', () => {
  it('HTTPRoute: the canary at weight 0 before its first step, so the gateway warms its backend', () => {
    expect(httpRouteWeights(split(0))).toEqual([
      ['churn-aaaa', 100],
      ['churn-bbbb', 0],
    ]);
    expect(httpRouteWeights(split(30))).toEqual([
      ['churn-aaaa', 70],
      ['churn-bbbb', 30],
    ]);
    expect(httpRouteWeights(split(0, false))).toEqual([['churn-aaaa', 100]]);
  });

  it('VirtualService: the same', () => {
    expect(virtualServiceWeights(split(0))).toEqual([
      ['churn-aaaa', 100],
      ['churn-bbbb', 0],
    ]);
    expect(virtualServiceWeights(split(0, false))).toEqual([['churn-aaaa', 100]]);
  });

  it('the router leaves an idle canary out: it has no warm-up to do', () => {
    expect(routeTable(md(), split(0)).backends.map((b) => b.revision)).toEqual(['aaaa']);
  });
});
