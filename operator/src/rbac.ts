/**
 * The operator's permissions: exactly the verbs its code uses, no wildcards. `make manifests` renders them
 * into config/rbac/ (a ClusterRole for all namespaces, a Role for single-namespace installs); the
 * integration tests run the operator under them, so a missing permission fails a test.
 */
import type { V1PolicyRule } from '@kubernetes/client-node';
import { groupOf, type ResourceKind } from './kube/resource.js';
import { kinds, optionalOwnedKinds, ownedKinds } from './resources.js';

const rule = (kind: ResourceKind, verbs: string[], subresource = ''): V1PolicyRule => ({
  apiGroups: [groupOf(kind)],
  resources: [subresource ? `${kind.plural}/${subresource}` : kind.plural],
  verbs,
});

/** Rules for the namespaces the operator watches. */
export const watchRules: V1PolicyRule[] = [
  // Informers list and watch; nothing is read any other way.
  rule(kinds.modelDeployment, ['list', 'watch']),
  rule(kinds.modelDeployment, ['patch'], 'status'),
  // Owned objects: server-side apply and delete. An apply that creates the object is also authorized
  // as `create` by the API server, hence create beside patch.
  ...[...Object.values(ownedKinds), ...Object.values(optionalOwnedKinds)].map((k) =>
    rule(k, ['list', 'watch', 'create', 'patch', 'delete']),
  ),
  // Retraining: the runs' Jobs (made by the CronJob, or at once by kubectl modelship retrain) are read; validation
  // Jobs are created and removed with their ModelVersion. ModelVersions are the operator's own records.
  rule(kinds.job, ['list', 'watch', 'create', 'patch', 'delete']),
  rule(kinds.modelVersion, ['list', 'watch', 'create', 'patch', 'delete']),
  rule(kinds.modelVersion, ['patch'], 'status'),
  // Kept revisions are scaled without touching the rest of their Deployment (as an autoscaler does).
  rule(kinds.deployment, ['patch'], 'scale'),
  // The router's Role lets it read its ConfigMap; the API server lets the operator grant only what it holds itself.
  rule(kinds.configMap, ['get']),
  // Pods are only read, to explain why a revision fails.
  rule(kinds.pod, ['list', 'watch']),
  // The ca.crt of the Secret spec.tls names, to verify pods' metrics served over TLS: get only, by the name the spec
  // gives (no list or watch: the operator never sees Secrets nobody pointed it at).
  rule(kinds.secret, ['get']),
  rule(kinds.event, ['create', 'patch']),
];

/** Rules in the operator's own namespace: the leader election Lease. */
export const leaderElectionRules: V1PolicyRule[] = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
  rule(kinds.event, ['create', 'patch']),
];

export const operatorName = 'modelship-operator';
export const defaultOperatorNamespace = 'modelship-system';

type Obj = Record<string, unknown>;
const labels = { 'app.kubernetes.io/name': operatorName, 'app.kubernetes.io/part-of': 'modelship' };
const subject = (ns: string) => [{ kind: 'ServiceAccount', name: operatorName, namespace: ns }];

function leaderElection(ns: string): Obj[] {
  const name = `${operatorName}-leader-election`;
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name, namespace: ns, labels },
      rules: leaderElectionRules,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name, namespace: ns, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: subject(ns),
    },
  ];
}

const namespace = (ns: string): Obj => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name: ns, labels },
});

const serviceAccount = (ns: string): Obj => ({
  apiVersion: 'v1',
  kind: 'ServiceAccount',
  metadata: { name: operatorName, namespace: ns, labels },
});

/** Install for all namespaces: a ClusterRole bound to the operator's ServiceAccount in `ns`. */
export function clusterRbac(ns = defaultOperatorNamespace): Obj[] {
  return [
    namespace(ns),
    serviceAccount(ns),
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: operatorName, labels },
      rules: watchRules,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: operatorName, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: operatorName },
      subjects: subject(ns),
    },
    ...leaderElection(ns),
  ];
}

/** Install for a list of namespaces (run the operator with --namespaces): a Role and RoleBinding in each. */
export function namespacedRbac(ns = defaultOperatorNamespace, watched: string[] = [ns]): Obj[] {
  return [
    namespace(ns),
    serviceAccount(ns),
    ...watched.flatMap((w) => [
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: operatorName, namespace: w, labels },
        rules: watchRules,
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: operatorName, namespace: w, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: operatorName },
        subjects: subject(ns),
      },
    ]),
    ...leaderElection(ns),
  ];
}
