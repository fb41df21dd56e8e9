/** The pod template of a revision: the serving container, its probes, security and volumes. Pure. */
import type {
  V1Container,
  V1EnvVar,
  V1Pod,
  V1PodTemplateSpec,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import * as serverEnv from '../../../server-image/src/env.js';
import type { ModelDeployment, OperatorEnvName } from '../api/v1alpha1/schema.js';
import { parseDuration } from '../api/v1alpha1/duration.js';
import { revisionLabels, servedModelName } from './names.js';
import {
  metricsAnnotations,
  nodeEnvironment,
  podMetricsEndpoint,
  securityEnvironment,
  securityVolumes,
  servesTls,
  type MetricsTls,
} from './security.js';
import { peersPort, peersServiceName } from './service.js';

export const ports = { http: 8080, metrics: 9090 } as const;

/**
 * Where a pod's Prometheus metrics are (the serving pods' and the router's metrics port), and the Secret and name to
 * verify them against when the pod serves them over TLS (spec.tls.metrics).
 */
export const podMetricsUrl = (pod: V1Pod): { url: string; tls?: MetricsTls } =>
  podMetricsEndpoint(pod, ports.metrics);
export const paths = { cache: '/var/cache/modelship', tmp: '/tmp', pvcRoot: '/mnt/pvc' } as const;
/** The serving image's non-root user (server-image/Dockerfile). */
export const serverUid = 65532;

/** Seconds a terminating pod keeps serving before SIGTERM, so endpoint removal reaches every kube-proxy first. */
export const preStopDelaySeconds = 5;
/** Upper bound of the server's graceful drain after SIGTERM (MODELSHIP_DRAIN_TIMEOUT_MS). */
export const drainSeconds = 20;

export interface PvcSource {
  claim: string;
  /** Path inside the claim. */
  path: string;
}

/** `pvc://claim/path/in/claim` → its parts; undefined for other schemes. */
export function parsePvcUri(uri: string): PvcSource | undefined {
  const m = /^pvc:\/\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/(.+)$/.exec(uri);
  return m ? { claim: m[1]!, path: m[3]! } : undefined;
}

/**
 * The operator's variables (exactly those of `operatorEnv`: the type makes this a complete list), then the
 * user's. The API server refuses a spec.runtime.env that names one of ours, so no name appears twice.
 */
function serverEnvironment(md: ModelDeployment, revision: string): V1EnvVar[] {
  const { model, runtime = {} } = md.spec;
  const batching = runtime.batching ?? {};
  const threads = runtime.threads ?? {};
  const env: Record<OperatorEnvName, string | number | undefined> = {
    [serverEnv.MODEL_NAME]: servedModelName(md),
    [serverEnv.MODEL_VERSION]: model.version,
    [serverEnv.MODEL_URI]: model.storageUri,
    [serverEnv.MODEL_SHA256]: model.sha256,
    [serverEnv.PORT]: ports.http,
    [serverEnv.METRICS_PORT]: ports.metrics,
    [serverEnv.MAX_BATCH_SIZE]: batching.maxBatchSize,
    [serverEnv.MAX_QUEUE_DELAY_MS]: batching.maxQueueDelayMs,
    [serverEnv.MAX_QUEUE_SIZE]: batching.maxQueueSize,
    [serverEnv.INTRA_OP_THREADS]: threads.intraOp,
    [serverEnv.INTER_OP_THREADS]: threads.interOp,
    [serverEnv.CACHE_DIR]: paths.cache,
    [serverEnv.PVC_ROOT]: paths.pvcRoot,
    [serverEnv.DRAIN_TIMEOUT_MS]: drainSeconds * 1000,
    [serverEnv.REVISION]: revision,
    ...monitoringEnvironment(md),
    ...securityEnvironment(md),
  };
  const ours: V1EnvVar[] = Object.entries(env)
    .filter(([, v]) => v !== undefined)
    .map(([name, v]) => ({ name, value: String(v) }));
  return [...ours, ...nodeEnvironment(md), ...(runtime.env ?? [])];
}

/** Where the drift baseline is: spec.monitoring.drift.baseline, else baseline.json beside the model. */
export function baselineUri(md: ModelDeployment): string | undefined {
  const drift = md.spec.monitoring?.drift;
  if (!drift) return undefined;
  return drift.baseline ?? md.spec.model.storageUri.replace(/[^/]*$/, 'baseline.json');
}

type MonitoringEnvName =
  | typeof serverEnv.BASELINE_URI
  | typeof serverEnv.DRIFT_WINDOW_MS
  | typeof serverEnv.FEEDBACK_OUTPUT
  | typeof serverEnv.FEEDBACK_STORE_SIZE
  | typeof serverEnv.FEEDBACK_MAX_AGE_MS
  | typeof serverEnv.FEEDBACK_WINDOW_MS
  | typeof serverEnv.FEEDBACK_PEERS
  | typeof serverEnv.PAYLOAD_LOG
  | typeof serverEnv.PAYLOAD_LOG_URL
  | typeof serverEnv.PAYLOAD_LOG_SAMPLE
  | typeof serverEnv.PAYLOAD_LOG_REDACT
  | typeof serverEnv.PAYLOAD_LOG_MAX_BYTES;

/** spec.monitoring and spec.logging as the serving runtime's variables; unset when they are not set. */
function monitoringEnvironment(md: ModelDeployment): Record<MonitoringEnvName, string | number | undefined> {
  const { drift, feedback } = md.spec.monitoring ?? {};
  const payloads = md.spec.logging?.payloads;
  const ms = (d: string | undefined) => (d === undefined ? undefined : parseDuration(d));
  return {
    [serverEnv.BASELINE_URI]: baselineUri(md),
    [serverEnv.DRIFT_WINDOW_MS]: drift && ms(drift.window),
    [serverEnv.FEEDBACK_OUTPUT]: feedback?.output,
    [serverEnv.FEEDBACK_STORE_SIZE]: feedback?.storeSize,
    [serverEnv.FEEDBACK_MAX_AGE_MS]: feedback && ms(feedback.maxAge),
    [serverEnv.FEEDBACK_WINDOW_MS]: feedback && ms(feedback.window),
    // The headless `<name>-pods` Service (desired/service.ts): every serving pod, this one included; over https
    // when the pods serve TLS (their inference port then speaks nothing else).
    [serverEnv.FEEDBACK_PEERS]:
      feedback &&
      `${servesTls(md) ? 'https' : 'http'}://${peersServiceName(md)}.${md.metadata.namespace}.svc.cluster.local:${peersPort}`,
    [serverEnv.PAYLOAD_LOG]: payloads && (payloads.sink ?? 'stdout'),
    [serverEnv.PAYLOAD_LOG_URL]: payloads?.url,
    [serverEnv.PAYLOAD_LOG_SAMPLE]: payloads?.sample,
    [serverEnv.PAYLOAD_LOG_REDACT]: payloads?.redact?.length ? payloads.redact.join(',') : undefined,
    [serverEnv.PAYLOAD_LOG_MAX_BYTES]: payloads?.maxBytes,
  };
}

function volumes(md: ModelDeployment): { volumes: V1Volume[]; mounts: V1VolumeMount[] } {
  // The root filesystem is read-only: the server writes downloads to the cache and scratch files to /tmp.
  const volumes: V1Volume[] = [
    { name: 'model-cache', emptyDir: {} },
    { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
  ];
  const mounts: V1VolumeMount[] = [
    { name: 'model-cache', mountPath: paths.cache },
    { name: 'tmp', mountPath: paths.tmp },
  ];
  const pvc = parsePvcUri(md.spec.model.storageUri);
  if (pvc) {
    volumes.push({ name: 'model-pvc', persistentVolumeClaim: { claimName: pvc.claim, readOnly: true } });
    mounts.push({ name: 'model-pvc', mountPath: `${paths.pvcRoot}/${pvc.claim}`, readOnly: true });
  }
  // A baseline or a signature on another claim than the model's is mounted too (once per claim).
  const claims = new Set(pvc ? [pvc.claim] : []);
  const others = [
    ['baseline-pvc', baselineUri(md)],
    ['signature-pvc', md.spec.model.signature?.signatureUri],
  ] as const;
  for (const [name, uri] of others) {
    const other = parsePvcUri(uri ?? '');
    if (!other || claims.has(other.claim)) continue;
    claims.add(other.claim);
    volumes.push({ name, persistentVolumeClaim: { claimName: other.claim, readOnly: true } });
    mounts.push({ name, mountPath: `${paths.pvcRoot}/${other.claim}`, readOnly: true });
  }
  const secured = securityVolumes(md);
  return { volumes: [...volumes, ...secured.volumes], mounts: [...mounts, ...secured.mounts] };
}

/** The name of the serving container in every revision's pods. */
export const serverContainerName = 'server';

export function serverContainer(
  md: ModelDeployment,
  revision: string,
  image: string,
  mounts: V1VolumeMount[],
): V1Container {
  // With TLS the kubelet probes over HTTPS; it does not verify the certificate (nor needs credentials: health is open).
  const scheme = servesTls(md) ? 'HTTPS' : undefined;
  const probe = (path: string) => ({ httpGet: { path, port: 'http', scheme } });
  return {
    name: serverContainerName,
    image,
    imagePullPolicy: 'IfNotPresent',
    args: ['serve'],
    env: serverEnvironment(md, revision),
    ports: [
      { name: 'http', containerPort: ports.http, protocol: 'TCP' },
      { name: 'metrics', containerPort: ports.metrics, protocol: 'TCP' },
    ],
    // Slow model loads (large downloads) are covered by the startup probe: up to 10 minutes.
    startupProbe: {
      ...probe('/v2/health/ready'),
      periodSeconds: 2,
      failureThreshold: 300,
      timeoutSeconds: 2,
    },
    readinessProbe: {
      ...probe('/v2/health/ready'),
      periodSeconds: 2,
      failureThreshold: 2,
      timeoutSeconds: 2,
    },
    livenessProbe: { ...probe('/v2/health/live'), periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 5 },
    lifecycle: { preStop: { sleep: { seconds: preStopDelaySeconds } } },
    resources: md.spec.runtime?.resources,
    // A crash shows its last log lines in the pod status, which the operator copies into its conditions.
    terminationMessagePolicy: 'FallbackToLogsOnError',
    volumeMounts: mounts,
    securityContext: {
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    },
  };
}

export function podTemplate(md: ModelDeployment, revision: string, image: string): V1PodTemplateSpec {
  const runtime = md.spec.runtime ?? {};
  const { volumes: vols, mounts } = volumes(md);
  return {
    metadata: {
      labels: revisionLabels(md, revision),
      annotations: {
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(ports.metrics),
        'prometheus.io/path': '/metrics',
        ...metricsAnnotations(md),
      },
    },
    spec: {
      containers: [serverContainer(md, revision, image, mounts)],
      volumes: vols,
      serviceAccountName: runtime.serviceAccountName,
      // The server never talks to the Kubernetes API.
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: preStopDelaySeconds + drainSeconds + 5,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: serverUid,
        runAsGroup: serverUid,
        fsGroup: serverUid,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      nodeSelector: runtime.nodeSelector,
      tolerations: runtime.tolerations,
      affinity: runtime.affinity,
    },
  };
}
