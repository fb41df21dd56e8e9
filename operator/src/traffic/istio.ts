/**
 * Provider Istio: a VirtualService `<name>` with weighted routes to the per-revision Services, and a route before
 * it that sends requests carrying a canary header to the canary alone. Pure.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ModelDeployment } from '../api/v1alpha1/schema.js';
import { commonLabels, revisionObjectName } from '../desired/names.js';
import { ownedMeta } from '../desired/owner.js';
import { servicePort } from '../desired/service.js';
import { weightsOf, type TrafficSplit } from './split.js';

export const virtualServiceKind = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  plural: 'virtualservices',
};

export function virtualService(
  md: ModelDeployment,
  split: TrafficSplit,
): KubernetesObject & { spec: object } {
  const i = md.spec.traffic?.istio;
  const ns = md.metadata.namespace!;
  const destination = (revision: string) => ({
    host: `${revisionObjectName(md, revision)}.${ns}.svc.cluster.local`,
    port: { number: servicePort },
  });
  const http: object[] = [];
  if (split.canary)
    split.matches.forEach((m, n) =>
      http.push({
        name: `canary-header-${n}`,
        match: [{ headers: { [m.header.toLowerCase()]: { exact: m.value } } }],
        route: [{ destination: destination(split.canary!.revision), weight: 100 }],
      }),
    );
  http.push({
    name: 'weighted',
    route: weightsOf(split, 'keep').map((w) => ({ destination: destination(w.revision), weight: w.weight })),
  });
  return {
    apiVersion: virtualServiceKind.apiVersion,
    kind: virtualServiceKind.kind,
    metadata: ownedMeta(md, md.metadata.name!, commonLabels(md)),
    spec: {
      hosts: i?.hosts?.length ? i.hosts : [`${md.metadata.name}.${ns}.svc.cluster.local`],
      ...(i?.gateways?.length ? { gateways: i.gateways } : {}),
      http,
    },
  };
}
