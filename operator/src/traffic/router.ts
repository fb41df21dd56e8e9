/**
 * Provider Router: Modelship's own router (the serving image in `route` mode) in front of the revisions. The
 * `<name>` Service selects the router's pods; the router reads its route table from the ConfigMap `<name>-router`
 * (watched through the API, so a new split applies within moments, without restarts) and forwards to the
 * per-revision Services. Pure builders of the objects.
 */
import type {
  V1ConfigMap,
  V1Deployment,
  V1PodDisruptionBudget,
  V1Role,
  V1RoleBinding,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import * as serverEnv from '../../../server-image/src/env.js';
import { ROUTES_KEY, type RouteTable } from '../../../server-image/src/router/routes.js';
import type { ModelDeployment } from '../api/v1alpha1/schema.js';
import { commonLabels, labelKeys, revisionObjectName } from '../desired/names.js';
import { ownedMeta } from '../desired/owner.js';
import { ports, serverUid } from '../desired/pod.js';
import { secretFileMode, securityPaths, servesTls, tlsServerName } from '../desired/security.js';
import { servicePort } from '../desired/service.js';
import { weightsOf, type TrafficSplit } from './split.js';

export const routerComponent = 'router';
export const routerReplicas = 2;

export function routerName(md: ModelDeployment): string {
  return `${md.metadata.name}-router`;
}

/** Labels of the router's objects and pods; no revision label, so no revision's selector ever picks them. */
export function routerLabels(md: ModelDeployment): Record<string, string> {
  return { ...commonLabels(md), [labelKeys.component]: routerComponent };
}

export function routerSelector(md: ModelDeployment): Record<string, string> {
  return { [labelKeys.deployment]: md.metadata.name!, [labelKeys.component]: routerComponent };
}

/**
 * The route table for a split: the revisions' Services by cluster DNS name, and the header matches. A revision whose
 * pods serve TLS (`tlsRevisions`: each revision as its own spec made it, so a switch to TLS rolls out like any other
 * change) is reached over https, its certificate verified for the name users call, `<name>.<namespace>.svc`.
 */
export function routeTable(
  md: ModelDeployment,
  split: TrafficSplit,
  tlsRevisions: ReadonlySet<string> = new Set(),
): RouteTable {
  const ns = md.metadata.namespace!;
  const serverName = tlsServerName(md.metadata.name!, ns);
  const target = (revision: string) => {
    const host = `${revisionObjectName(md, revision)}.${ns}.svc.cluster.local:${servicePort}`;
    return tlsRevisions.has(revision) ? { url: `https://${host}`, serverName } : { url: `http://${host}` };
  };
  const backends = weightsOf(split).map((w) => ({
    revision: w.revision,
    ...target(w.revision),
    weight: w.weight,
  }));
  const canary = split.canary;
  if (canary && !backends.some((b) => b.revision === canary.revision) && split.matches.length > 0)
    backends.push({ revision: canary.revision, ...target(canary.revision), weight: 0 });
  const matches = canary
    ? split.matches.map((m) => ({
        header: m.header.toLowerCase(),
        value: m.value,
        revision: canary.revision,
      }))
    : [];
  const shadow = split.shadow && {
    revision: split.shadow.ref.revision,
    ...target(split.shadow.ref.revision),
    tolerance: split.shadow.tolerance,
  };
  return shadow ? { backends, matches, shadow } : { backends, matches };
}

export function routerConfigMap(
  md: ModelDeployment,
  split: TrafficSplit,
  tlsRevisions: ReadonlySet<string> = new Set(),
): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: ownedMeta(md, routerName(md), routerLabels(md)),
    data: { [ROUTES_KEY]: JSON.stringify(routeTable(md, split, tlsRevisions)) },
  };
}

export function routerServiceAccount(md: ModelDeployment): V1ServiceAccount {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: ownedMeta(md, routerName(md), routerLabels(md)),
    automountServiceAccountToken: false,
  };
}

/** The router may read its own ConfigMap, and nothing else. */
export function routerRole(md: ModelDeployment): V1Role {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: ownedMeta(md, routerName(md), routerLabels(md)),
    rules: [
      {
        apiGroups: [''],
        resources: ['configmaps'],
        resourceNames: [routerName(md)],
        verbs: ['get', 'list', 'watch'],
      },
    ],
  };
}

export function routerRoleBinding(md: ModelDeployment): V1RoleBinding {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: ownedMeta(md, routerName(md), routerLabels(md)),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: routerName(md) },
    subjects: [{ kind: 'ServiceAccount', name: routerName(md), namespace: md.metadata.namespace! }],
  };
}

/**
 * With spec.tls the router terminates TLS with the Secret's certificate and verifies the revisions' (the same
 * Secret's) against its ca.crt.
 */
function routerTls(md: ModelDeployment) {
  const tls = md.spec.tls;
  if (!tls) return { env: [], volumes: [], mounts: [] };
  return {
    env: [
      { name: serverEnv.TLS_DIR, value: securityPaths.tls },
      { name: serverEnv.ROUTER_BACKEND_CA_FILE, value: `${securityPaths.tls}/ca.crt` },
    ],
    volumes: [{ name: 'tls', secret: { secretName: tls.secretRef.name, defaultMode: secretFileMode } }],
    mounts: [{ name: 'tls', mountPath: securityPaths.tls, readOnly: true }],
  };
}

export function routerDeployment(md: ModelDeployment, image: string): V1Deployment {
  const tls = routerTls(md);
  // The kubelet probes over HTTPS without verifying (health needs no credentials).
  const scheme = servesTls(md) ? 'HTTPS' : undefined;
  const probe = (path: string) => ({ httpGet: { path, port: 'http', scheme } });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: ownedMeta(md, routerName(md), routerLabels(md)),
    spec: {
      replicas: routerReplicas,
      selector: { matchLabels: routerSelector(md) },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels: routerLabels(md),
          annotations: {
            'prometheus.io/scrape': 'true',
            'prometheus.io/port': String(ports.metrics),
            'prometheus.io/path': '/metrics',
          },
        },
        spec: {
          serviceAccountName: routerName(md),
          // The token is mounted by a projected volume below: only this container gets it, read-only.
          automountServiceAccountToken: true,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 30,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: serverUid,
            runAsGroup: serverUid,
            // The TLS Secret's files are group-readable (0440): the group is the router's.
            fsGroup: md.spec.tls ? serverUid : undefined,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          volumes: tls.volumes.length ? tls.volumes : undefined,
          containers: [
            {
              name: 'router',
              image,
              imagePullPolicy: 'IfNotPresent',
              args: ['route'],
              env: [
                { name: serverEnv.ROUTER_CONFIGMAP, value: routerName(md) },
                {
                  name: serverEnv.ROUTER_NAMESPACE,
                  valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } },
                },
                { name: serverEnv.PORT, value: String(ports.http) },
                { name: serverEnv.METRICS_PORT, value: String(ports.metrics) },
                ...tls.env,
              ],
              volumeMounts: tls.mounts.length ? tls.mounts : undefined,
              ports: [
                { name: 'http', containerPort: ports.http, protocol: 'TCP' },
                { name: 'metrics', containerPort: ports.metrics, protocol: 'TCP' },
              ],
              readinessProbe: {
                ...probe('/healthz/ready'),
                periodSeconds: 2,
                failureThreshold: 2,
                timeoutSeconds: 2,
              },
              livenessProbe: {
                ...probe('/healthz/live'),
                periodSeconds: 10,
                failureThreshold: 3,
                timeoutSeconds: 5,
              },
              lifecycle: { preStop: { sleep: { seconds: 5 } } },
              resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
              securityContext: {
                runAsNonRoot: true,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
            },
          ],
        },
      },
    },
  };
}

export function routerPdb(md: ModelDeployment): V1PodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: ownedMeta(md, routerName(md), routerLabels(md)),
    spec: {
      maxUnavailable: 1,
      selector: { matchLabels: routerSelector(md) },
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
  };
}
