/**
 * The NetworkPolicies of a ModelDeployment (spec.networkPolicy, on by default). Pure.
 *
 * `<name>` selects the serving pods (every revision) and admits, and nothing else:
 *   - the inference port from the router's pods, from the ModelDeployment's own serving pods (replicas forward
 *     feedback to the pod that kept the prediction), from the traffic provider's proxies (GatewayAPI: the namespaces
 *     of the Gateways the HTTPRoute attaches to; Istio: those of the VirtualService's gateways; callers inside the
 *     mesh come from their own pods), and from spec.networkPolicy.from (default: the ModelDeployment's namespace);
 *   - the metrics port from spec.networkPolicy.metricsFrom (default: the `monitoring` namespace) and from the
 *     operator's own pods, which read the pods' metrics for canary analysis, drift and feedback.
 * `<name>-router` (provider Router) selects the router's pods: its inference port from the same callers (the `<name>`
 * Service points at the router), its metrics port from the same scrapers.
 *
 * Egress is not restricted: models, baselines and payload logs are fetched from and sent to places only the user
 * knows. Traffic from the node itself (kubelet probes) is admitted by every policy engine without a rule.
 */
import type {
  KubernetesObject,
  V1LabelSelector,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
} from '@kubernetes/client-node';
import { defaultMonitoringNamespace, type NetworkPeer } from '../api/v1alpha1/network-policy.js';
import type { ModelDeployment } from '../api/v1alpha1/schema.js';
import { routerLabels, routerName, routerSelector } from '../traffic/router.js';
import { commonLabels, labelKeys } from './names.js';
import { ownedMeta } from './owner.js';
import { ports } from './pod.js';

/** The label Kubernetes puts on every namespace, with the namespace's name. */
export const namespaceNameLabel = 'kubernetes.io/metadata.name';

/** Labels of the operator's own pods (the Helm chart's, whatever the release is called). */
export const operatorPodLabels = {
  [labelKeys.partOf]: 'modelship',
  [labelKeys.component]: 'operator',
} as const;

/**
 * A networking.k8s.io/v1 NetworkPolicy as the API server reads it. Not client-node's V1NetworkPolicy: that one names
 * an ingress rule's `from` `_from` (for its own serializer), and objects here are sent as plain JSON.
 */
export interface NetworkPolicy extends KubernetesObject {
  spec: {
    podSelector: V1LabelSelector;
    policyTypes: ('Ingress' | 'Egress')[];
    ingress: { ports: V1NetworkPolicyPort[]; from: V1NetworkPolicyPeer[] }[];
  };
}

export interface NetworkPolicyInput {
  /** The router runs in front of the revisions (provider Router): it gets a policy of its own. */
  router: boolean;
  /** Where the operator runs: its pods there may read the metrics port. */
  operatorNamespace: string;
}

/** Selects the serving pods of every revision (not the router's, nor training or validation pods). */
export function servingPodSelector(md: ModelDeployment): Record<string, string> {
  return { [labelKeys.deployment]: md.metadata.name!, [labelKeys.component]: 'model-server' };
}

const inNamespace = (ns: string): V1NetworkPolicyPeer => ({
  namespaceSelector: { matchLabels: { [namespaceNameLabel]: ns } },
});

/** spec peers as NetworkPolicy peers: the same shape, copied so that the desired object never aliases the spec. */
const peers = (list: NetworkPeer[]): V1NetworkPolicyPeer[] => structuredClone(list) as V1NetworkPolicyPeer[];

/** Who may call inference: spec.networkPolicy.from, or every pod of the ModelDeployment's namespace. */
export function inferencePeers(md: ModelDeployment): V1NetworkPolicyPeer[] {
  return peers(md.spec.networkPolicy?.from ?? [{ podSelector: {} }]);
}

/** Who may scrape metrics: spec.networkPolicy.metricsFrom (or the monitoring namespace), and the operator. */
export function metricsPeers(md: ModelDeployment, operatorNamespace: string): V1NetworkPolicyPeer[] {
  const listed = md.spec.networkPolicy?.metricsFrom ?? [
    { namespaceSelector: { matchLabels: { [namespaceNameLabel]: defaultMonitoringNamespace } } },
  ];
  return [
    ...peers(listed),
    { ...inNamespace(operatorNamespace), podSelector: { matchLabels: { ...operatorPodLabels } } },
  ];
}

/**
 * The namespaces the traffic provider's proxies forward from: GatewayAPI's Gateways (parentRefs, default the
 * ModelDeployment's namespace), Istio's gateways (`namespace/name`, or a bare name in the ModelDeployment's
 * namespace; `mesh` is the callers' own sidecars). Deduplicated and sorted, so the object is stable.
 */
export function providerNamespaces(md: ModelDeployment): string[] {
  const ns = md.metadata.namespace!;
  const t = md.spec.traffic;
  const out = new Set<string>();
  if (t?.provider === 'GatewayAPI')
    for (const p of t.gatewayAPI?.parentRefs ?? []) out.add(p.namespace ?? ns);
  if (t?.provider === 'Istio')
    for (const g of t.istio?.gateways ?? []) {
      if (g === 'mesh') continue;
      const slash = g.indexOf('/');
      out.add(slash < 0 ? ns : g.slice(0, slash));
    }
  return [...out].sort();
}

const tcp = (port: number): V1NetworkPolicyPort => ({ protocol: 'TCP', port });

function policy(
  md: ModelDeployment,
  name: string,
  labels: Record<string, string>,
  selector: Record<string, string>,
  inference: V1NetworkPolicyPeer[],
  metrics: V1NetworkPolicyPeer[],
): NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: ownedMeta(md, name, labels),
    spec: {
      podSelector: { matchLabels: selector },
      policyTypes: ['Ingress'],
      ingress: [
        { ports: [tcp(ports.http)], from: inference },
        { ports: [tcp(ports.metrics)], from: metrics },
      ],
    },
  };
}

/** The ModelDeployment's NetworkPolicies: none when spec.networkPolicy.enabled is false. */
export function desiredNetworkPolicies(md: ModelDeployment, i: NetworkPolicyInput): NetworkPolicy[] {
  if (md.spec.networkPolicy?.enabled === false) return [];
  const callers = inferencePeers(md);
  const scrapers = metricsPeers(md, i.operatorNamespace);
  const serving = policy(
    md,
    md.metadata.name!,
    commonLabels(md),
    servingPodSelector(md),
    [
      { podSelector: { matchLabels: routerSelector(md) } },
      { podSelector: { matchLabels: servingPodSelector(md) } },
      ...providerNamespaces(md).map(inNamespace),
      ...callers,
    ],
    scrapers,
  );
  if (!i.router) return [serving];
  return [serving, policy(md, routerName(md), routerLabels(md), routerSelector(md), callers, scrapers)];
}
