/**
 * What spec.auth, spec.tls, spec.modelCard and spec.model's verification fields add to a serving pod: the server's
 * variables, the Secret and ConfigMap volumes they point at, and how the pod is probed and scraped. Secrets are only
 * referenced by name and mounted: their contents never pass through the operator or the pod template, so a rotated
 * key or certificate changes nothing here (the server reloads the files in place) and starts no rollout. Pure.
 */
import type { V1Deployment, V1EnvVar, V1Pod, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import * as serverEnv from '../../../server-image/src/env.js';
import { parseDuration } from '../api/v1alpha1/duration.js';
import type { ModelDeployment } from '../api/v1alpha1/schema.js';
import { canonicalJson } from '../util/canonical-json.js';
import { labelKeys } from './names.js';

export const securityPaths = {
  apiKeys: '/etc/modelship/auth/api-keys',
  tls: '/etc/modelship/tls',
  caBundle: '/etc/modelship/ca',
} as const;

/** The file name the CA bundle is mounted under, whatever its ConfigMap key. */
export const caBundleFile = 'ca.crt';

/** Owner and group may read; nobody else, and nobody writes (the kubelet owns the files; fsGroup is the server's). */
export const secretFileMode = 0o440;

/**
 * On the pod template when the metrics port serves TLS: the Secret whose ca.crt the operator verifies the scrape
 * against. An annotation, as the operator's pod cache keeps only metadata and status (reconcile/observe.ts).
 */
export const metricsTlsSecretAnnotation = 'modelship.dev/metrics-tls-secret';

/** The name the serving certificate must carry: the ModelDeployment's stable Service, `<name>.<namespace>.svc`. */
export const tlsServerName = (name: string, namespace: string): string => `${name}.${namespace}.svc`;

export const servesTls = (md: ModelDeployment): boolean => md.spec.tls !== undefined;
export const metricsTls = (md: ModelDeployment): boolean => md.spec.tls?.metrics === true;

export type SecurityEnvName =
  | typeof serverEnv.AUTH_API_KEYS_DIR
  | typeof serverEnv.AUTH_OIDC_ISSUER
  | typeof serverEnv.AUTH_OIDC_AUDIENCES
  | typeof serverEnv.AUTH_OIDC_JWKS_URI
  | typeof serverEnv.AUTH_OIDC_REQUIRED_CLAIMS
  | typeof serverEnv.AUTH_OIDC_CLOCK_SKEW_SECONDS
  | typeof serverEnv.TLS_DIR
  | typeof serverEnv.METRICS_TLS
  | typeof serverEnv.REQUIRE_DIGEST
  | typeof serverEnv.MODEL_PUBLIC_KEY
  | typeof serverEnv.MODEL_SIGNATURE
  | typeof serverEnv.MODEL_SIGNATURE_URI
  | typeof serverEnv.MODEL_CARD;

/** The serving runtime's security variables; each unset when its field is. */
export function securityEnvironment(md: ModelDeployment): Record<SecurityEnvName, string | undefined> {
  const { auth, tls, model, modelCard } = md.spec;
  const oidc = auth?.oidc;
  const claims = oidc?.requiredClaims;
  return {
    [serverEnv.AUTH_API_KEYS_DIR]: auth?.apiKeys && securityPaths.apiKeys,
    [serverEnv.AUTH_OIDC_ISSUER]: oidc?.issuer,
    [serverEnv.AUTH_OIDC_AUDIENCES]: oidc?.audiences.join(','),
    [serverEnv.AUTH_OIDC_JWKS_URI]: oidc?.jwksUri,
    [serverEnv.AUTH_OIDC_REQUIRED_CLAIMS]:
      claims && Object.keys(claims).length ? canonicalJson(claims) : undefined,
    // Whole seconds, rounded up: a skew of 500ms still tolerates half a second.
    [serverEnv.AUTH_OIDC_CLOCK_SKEW_SECONDS]:
      oidc && String(Math.ceil(parseDuration(oidc.clockSkew ?? '60s') / 1000)),
    [serverEnv.TLS_DIR]: tls && securityPaths.tls,
    [serverEnv.METRICS_TLS]: tls?.metrics ? 'true' : undefined,
    [serverEnv.REQUIRE_DIGEST]: model.requireDigest ? 'true' : undefined,
    [serverEnv.MODEL_PUBLIC_KEY]: model.signature?.publicKey,
    [serverEnv.MODEL_SIGNATURE]: model.signature?.signature,
    [serverEnv.MODEL_SIGNATURE_URI]: model.signature?.signatureUri,
    // Sorted keys: the same card always makes the same pod template.
    [serverEnv.MODEL_CARD]: modelCard && canonicalJson(modelCard),
  };
}

/** Variables outside the server's own: Node's extra trust store for https:// downloads (spec.model.caBundle). */
export function nodeEnvironment(md: ModelDeployment): V1EnvVar[] {
  return md.spec.model.caBundle
    ? [{ name: 'NODE_EXTRA_CA_CERTS', value: `${securityPaths.caBundle}/${caBundleFile}` }]
    : [];
}

/** The read-only volumes behind those variables. */
export function securityVolumes(md: ModelDeployment): { volumes: V1Volume[]; mounts: V1VolumeMount[] } {
  const volumes: V1Volume[] = [];
  const mounts: V1VolumeMount[] = [];
  const apiKeys = md.spec.auth?.apiKeys;
  if (apiKeys) {
    volumes.push({
      name: 'auth-api-keys',
      secret: { secretName: apiKeys.secretRef.name, defaultMode: secretFileMode },
    });
    mounts.push({ name: 'auth-api-keys', mountPath: securityPaths.apiKeys, readOnly: true });
  }
  const tls = md.spec.tls;
  if (tls) {
    volumes.push({ name: 'tls', secret: { secretName: tls.secretRef.name, defaultMode: secretFileMode } });
    mounts.push({ name: 'tls', mountPath: securityPaths.tls, readOnly: true });
  }
  const ca = caBundleVolume(md);
  return { volumes: [...volumes, ...ca.volumes], mounts: [...mounts, ...ca.mounts] };
}

/** spec.model.caBundle's ConfigMap, mounted where NODE_EXTRA_CA_CERTS points (serving pods and validation Jobs). */
export function caBundleVolume(md: ModelDeployment): { volumes: V1Volume[]; mounts: V1VolumeMount[] } {
  const ca = md.spec.model.caBundle;
  if (!ca) return { volumes: [], mounts: [] };
  return {
    volumes: [
      {
        name: 'ca-bundle',
        configMap: {
          name: ca.configMapRef.name,
          items: [{ key: ca.configMapRef.key ?? 'ca.crt', path: caBundleFile }],
          defaultMode: 0o444,
        },
      },
    ],
    mounts: [{ name: 'ca-bundle', mountPath: securityPaths.caBundle, readOnly: true }],
  };
}

/** Annotations of the serving pod template: how Prometheus and the operator reach the metrics port. */
export function metricsAnnotations(md: ModelDeployment): Record<string, string> {
  if (!metricsTls(md)) return {};
  return {
    'prometheus.io/scheme': 'https',
    [metricsTlsSecretAnnotation]: md.spec.tls!.secretRef.name,
  };
}

/** How the operator verifies a pod's metrics over TLS: the Secret holding ca.crt, and the name to verify. */
export interface MetricsTls {
  namespace: string;
  secretName: string;
  serverName: string;
}

/** Where a pod's metrics are, and how to verify them when they are served over TLS (from its annotation). */
export function podMetricsEndpoint(pod: V1Pod, port: number): { url: string; tls?: MetricsTls } {
  const secretName = pod.metadata?.annotations?.[metricsTlsSecretAnnotation];
  const namespace = pod.metadata?.namespace;
  const owner = pod.metadata?.labels?.[labelKeys.deployment];
  if (!secretName || !namespace || !owner) return { url: `http://${pod.status!.podIP}:${port}/metrics` };
  return {
    url: `https://${pod.status!.podIP}:${port}/metrics`,
    tls: { namespace, secretName, serverName: tlsServerName(owner, namespace) },
  };
}

/** Whether a revision's Deployment serves TLS (its pods have MODELSHIP_TLS_DIR): the truth for revisions of older specs. */
export function deploymentServesTls(d: V1Deployment): boolean {
  return (d.spec?.template.spec?.containers ?? []).some((c) =>
    (c.env ?? []).some((e) => e.name === serverEnv.TLS_DIR),
  );
}
