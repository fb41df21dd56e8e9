/**
 * spec.networkPolicy of a ModelDeployment: who may reach its pods. On by default: the operator writes a
 * NetworkPolicy per ModelDeployment (desired/network-policy.ts) that admits inference from the router, the
 * ModelDeployment's own pods, the traffic provider's proxies and the peers listed here, and the metrics port from
 * the monitoring peers; nothing else. Part of THE API definition (schema.ts embeds it); the same rules for editing
 * apply.
 */
import { Type, type Static } from '@sinclair/typebox';
import { cel } from './schema-kit.js';

/** A label selector (meta/v1 LabelSelector), the form NetworkPolicy peers use, with its own description. */
const labelSelector = (description: string) =>
  Type.Object(
    {
      matchLabels: Type.Optional(
        Type.Record(Type.String(), Type.String({ maxLength: 63 }), {
          description: 'Labels that must all match (key: value).',
          maxProperties: 32,
        }),
      ),
      matchExpressions: Type.Optional(
        Type.Array(
          Type.Object(
            {
              key: Type.String({ description: 'The label key.', minLength: 1, maxLength: 317 }),
              operator: Type.Union(
                [
                  Type.Literal('In'),
                  Type.Literal('NotIn'),
                  Type.Literal('Exists'),
                  Type.Literal('DoesNotExist'),
                ],
                { description: 'In, NotIn, Exists or DoesNotExist.' },
              ),
              values: Type.Optional(
                Type.Array(Type.String({ maxLength: 63 }), {
                  description: 'Values for In and NotIn; empty for Exists and DoesNotExist.',
                  maxItems: 64,
                }),
              ),
            },
            {
              description: 'A label requirement.',
              ...cel({
                rule: "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 : !has(self.values) || size(self.values) == 0",
                message:
                  'values are required for In and NotIn, and must be empty for Exists and DoesNotExist',
              }),
            },
          ),
          { description: 'Label requirements that must all hold.', maxItems: 16 },
        ),
      ),
    },
    { description: `${description} An empty selector ({}) selects everything.` },
  );
export const LabelSelector = labelSelector('A label selector.');
export type LabelSelector = Static<typeof LabelSelector>;

export const NetworkPeer = Type.Object(
  {
    namespaceSelector: Type.Optional(
      labelSelector(
        'Namespaces whose pods are admitted. Without it, pods of the ModelDeployment’s own namespace.',
      ),
    ),
    podSelector: Type.Optional(
      labelSelector('Pods admitted within those namespaces. Without it, every pod of those namespaces.'),
    ),
  },
  {
    description:
      'Pods admitted, as a NetworkPolicy peer: namespaceSelector and podSelector together select pods matching both.',
    ...cel({
      rule: 'has(self.namespaceSelector) || has(self.podSelector)',
      message: 'a peer needs a namespaceSelector, a podSelector or both',
    }),
  },
);
export type NetworkPeer = Static<typeof NetworkPeer>;

/** The namespace whose pods may scrape metrics by default: where Prometheus usually runs (kube-prometheus). */
export const defaultMonitoringNamespace = 'monitoring';

export const NetworkPolicySpec = Type.Object(
  {
    enabled: Type.Optional(
      Type.Boolean({
        description:
          'Write the NetworkPolicies. false: none (every pod of the cluster may call the model, as without this field in earlier releases). Default: true.',
        default: true,
      }),
    ),
    from: Type.Optional(
      Type.Array(NetworkPeer, {
        description:
          'Who may call inference (the <name> Service, the router, the revisions). Replaces the default when set; list {podSelector: {}} to keep the own namespace. The router, the ModelDeployment’s own pods and the traffic provider’s proxies (the Gateways’ namespaces for GatewayAPI) are always admitted. Default: every pod of the ModelDeployment’s namespace.',
        maxItems: 32,
      }),
    ),
    metricsFrom: Type.Optional(
      Type.Array(NetworkPeer, {
        description: `Who may scrape the metrics port. Replaces the default when set; the operator's own pods are always admitted (canary analysis and drift read the pods' metrics). Default: pods in the namespace named ${defaultMonitoringNamespace} (kubernetes.io/metadata.name: ${defaultMonitoringNamespace}).`,
        maxItems: 32,
      }),
    ),
  },
  {
    description:
      'Isolation of the serving and router pods: a NetworkPolicy per ModelDeployment (and one for its router) admitting inference and metrics only from the peers named here. Enforced only where the cluster runs a network policy engine.',
  },
);
export type NetworkPolicySpec = Static<typeof NetworkPolicySpec>;
