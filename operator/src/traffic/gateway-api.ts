/**
 * Provider GatewayAPI: an HTTPRoute `<name>` attached to the user's Gateways, with weighted backendRefs to the
 * per-revision Services, and a rule before it that sends requests carrying a canary header to the canary alone.
 * Only the fields the operator owns are written (server-side apply), so other fields on the route stay. Pure.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ModelDeployment } from '../api/v1alpha1/schema.js';
import { commonLabels, revisionObjectName } from '../desired/names.js';
import { ownedMeta } from '../desired/owner.js';
import { servicePort } from '../desired/service.js';
import { weightsOf, type TrafficSplit } from './split.js';

export const httpRouteKind = {
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  plural: 'httproutes',
};

export function httpRoute(md: ModelDeployment, split: TrafficSplit): KubernetesObject & { spec: object } {
  const g = md.spec.traffic?.gatewayAPI;
  const backend = (revision: string, weight: number) => ({
    kind: 'Service',
    name: revisionObjectName(md, revision),
    port: servicePort,
    weight,
  });
  const rules: object[] = [];
  if (split.canary)
    for (const m of split.matches)
      rules.push({
        matches: [{ headers: [{ type: 'Exact', name: m.header, value: m.value }] }],
        backendRefs: [backend(split.canary.revision, 1)],
      });
  rules.push({ backendRefs: weightsOf(split, 'keep').map((w) => backend(w.revision, w.weight)) });
  return {
    apiVersion: httpRouteKind.apiVersion,
    kind: httpRouteKind.kind,
    metadata: ownedMeta(md, md.metadata.name!, commonLabels(md)),
    spec: {
      parentRefs: (g?.parentRefs ?? []).map((p) => ({
        group: 'gateway.networking.k8s.io',
        kind: 'Gateway',
        name: p.name,
        ...(p.namespace ? { namespace: p.namespace } : {}),
        ...(p.sectionName ? { sectionName: p.sectionName } : {}),
      })),
      ...(g?.hostnames?.length ? { hostnames: g.hostnames } : {}),
      rules,
    },
  };
}
