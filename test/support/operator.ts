/**
 * Running the real operator process against the test cluster, under its own RBAC (a ServiceAccount token
 * for the rules in operator/src/rbac.ts), and playing the kubelet for its pods where tests need it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { freePort, httpGet } from '../../cluster/src/process.js';
import { clusterRbac, namespacedRbac, operatorName } from '../../operator/src/rbac.js';
import { eventually, kubeConfig, kubectlOk, repoRoot } from './cluster.js';

export const operatorNamespace = 'modelship-system';
export const operatorUser = `system:serviceaccount:${operatorNamespace}:${operatorName}`;

async function ensureNamespace(name: string): Promise<void> {
  await kubectlOk(
    ['apply', '-f', '-'],
    yaml.dump({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }),
  );
}

/** Applies the operator's RBAC (cluster-wide, or Roles in `watched` namespaces) exactly as rendered for users. */
export async function installRbac(mode: { watched?: string[] } = {}): Promise<void> {
  await ensureNamespace(operatorNamespace);
  const docs = mode.watched
    ? namespacedRbac(operatorNamespace, mode.watched)
    : clusterRbac(operatorNamespace);
  await kubectlOk(['apply', '-f', '-'], docs.map((d) => yaml.dump(d)).join('---\n'));
}

/** A kubeconfig that authenticates as the operator's ServiceAccount (a short-lived bound token). */
export async function operatorKubeconfig(): Promise<string> {
  const kc = kubeConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const token = await core.createNamespacedServiceAccountToken({
    name: operatorName,
    namespace: operatorNamespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const cluster = kc.getCurrentCluster()!;
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'test',
        cluster: {
          server: cluster.server,
          'certificate-authority-data': readFileSync(caFile(kc)).toString('base64'),
        },
      },
    ],
    users: [{ name: operatorName, user: { token: token.status!.token } }],
    contexts: [{ name: 'test', context: { cluster: 'test', user: operatorName } }],
    'current-context': 'test',
  };
  const path = join(mkdtempSync(join(tmpdir(), 'modelship-operator-')), 'kubeconfig');
  writeFileSync(path, yaml.dump(config), { mode: 0o600 });
  return path;
}

function caFile(kc: k8s.KubeConfig): string {
  const cluster = kc.getCurrentCluster()!;
  if (cluster.caFile) return cluster.caFile;
  const path = join(mkdtempSync(join(tmpdir(), 'modelship-ca-')), 'ca.crt');
  writeFileSync(path, Buffer.from(cluster.caData!, 'base64'));
  return path;
}

export interface OperatorProcess {
  child: ChildProcess;
  metricsPort: number;
  healthPort: number;
  logs: () => string;
  /** Parsed JSON log lines. */
  logLines: () => Record<string, unknown>[];
  metrics: () => Promise<string>;
  /** SIGTERM and wait for the exit code. */
  stop: () => Promise<number | null>;
  /** SIGKILL: a crash, no clean-up. */
  kill: () => Promise<void>;
  exited: Promise<number | null>;
}

export interface StartOptions {
  kubeconfig: string;
  args?: string[];
  /** Wait until /readyz answers 200 (caches synced). @default true */
  waitReady?: boolean;
  /** Run the compiled JavaScript in dist/ (as the image does) instead of the sources through tsx. */
  compiled?: boolean;
  /** Extra node flags, e.g. V8 heap settings. */
  nodeArgs?: string[];
}

/** Starts `modelship-operator` from source (as `make run` does) and waits until its caches are synced. */
export async function startOperator(o: StartOptions): Promise<OperatorProcess> {
  const metricsPort = await freePort();
  const healthPort = await freePort();
  const entry = o.compiled
    ? [join(repoRoot, 'dist/operator/src/main.js')]
    : ['--import', 'tsx', join(repoRoot, 'operator/src/main.ts')];
  const args = [
    ...(o.nodeArgs ?? []),
    ...entry,
    `--kubeconfig=${o.kubeconfig}`,
    '--bind-address=127.0.0.1',
    `--metrics-port=${metricsPort}`,
    `--health-port=${healthPort}`,
    ...(o.args ?? []),
  ];
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KUBECONFIG: '' },
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const proc: OperatorProcess = {
    child,
    metricsPort,
    healthPort,
    logs: () => output,
    logLines: () =>
      output
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    metrics: async () => (await httpGet(`http://127.0.0.1:${metricsPort}/metrics`)).body,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    exited,
  };
  if (o.waitReady ?? true) {
    await eventually(async () => {
      if (child.exitCode !== null)
        throw new Error(`operator exited with ${child.exitCode}:\n${output.slice(-3000)}`);
      return (await httpGet(`http://127.0.0.1:${healthPort}/readyz`)).status === 200;
    }, 30_000);
  }
  return proc;
}

/** Audit log lines of write requests made by `user` since `since` (ISO time). Dry-runs included. */
export function writesBy(
  user: string,
  since: string,
  filter: (e: AuditEvent) => boolean = () => true,
): AuditEvent[] {
  const path = process.env.MODELSHIP_TEST_AUDIT_LOG;
  if (!path) throw new Error('MODELSHIP_TEST_AUDIT_LOG is not set');
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditEvent)
    .filter((e) => e.user.username === user && e.requestReceivedTimestamp >= since && filter(e));
}

export interface AuditEvent {
  verb: string;
  requestURI: string;
  user: { username: string };
  objectRef?: { resource?: string; namespace?: string; name?: string; subresource?: string };
  responseStatus?: { code?: number };
  requestReceivedTimestamp: string;
}

// ---- playing the kubelet --------------------------------------------------------------------------

async function podsOf(namespace: string, selector: string): Promise<k8s.V1Pod[]> {
  const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  return (await core.listNamespacedPod({ namespace, labelSelector: selector })).items.filter(
    (p) => !p.metadata?.deletionTimestamp,
  );
}

async function patchPodStatus(pod: k8s.V1Pod, status: object): Promise<void> {
  const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  await core.patchNamespacedPodStatus(
    { name: pod.metadata!.name!, namespace: pod.metadata!.namespace!, body: { status } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
}

/** Marks every pod matching `selector` Running and Ready, as a kubelet would after the probes pass. */
export async function markPodsReady(namespace: string, selector: string, expected?: number): Promise<number> {
  const pods = await eventually(async () => {
    const p = await podsOf(namespace, selector);
    return expected === undefined ? p.length > 0 && p : p.length === expected && p;
  }, 30_000);
  const now = new Date().toISOString();
  for (const pod of pods) {
    await patchPodStatus(pod, {
      phase: 'Running',
      podIP: '10.244.0.10',
      startTime: now,
      conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({
        type,
        status: 'True',
        lastTransitionTime: now,
      })),
      containerStatuses: [
        {
          name: 'server',
          ready: true,
          started: true,
          restartCount: 0,
          image: 'modelship/server',
          imageID: '',
          state: { running: { startedAt: now } },
        },
      ],
    });
  }
  return pods.length;
}

/** Makes every pod matching `selector` crash-loop with `message` as its container's termination message. */
export async function markPodsCrashLooping(
  namespace: string,
  selector: string,
  message: string,
): Promise<void> {
  const pods = await eventually(async () => {
    const p = await podsOf(namespace, selector);
    return p.length > 0 && p;
  }, 30_000);
  const now = new Date().toISOString();
  for (const pod of pods) {
    await patchPodStatus(pod, {
      phase: 'Running',
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
        { type: 'Ready', status: 'False', reason: 'ContainersNotReady', lastTransitionTime: now },
      ],
      containerStatuses: [
        {
          name: 'server',
          ready: false,
          started: false,
          restartCount: 4,
          image: 'modelship/server',
          imageID: '',
          state: {
            waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container' },
          },
          lastState: {
            terminated: { exitCode: 1, reason: 'Error', message, startedAt: now, finishedAt: now },
          },
        },
      ],
    });
  }
}

/**
 * Ends every pod matching `selector` as a kubelet would when its container exits: Succeeded (exit 0) or Failed, with
 * `message` as the container's termination message (what it wrote to /dev/termination-log).
 */
export async function markPodsTerminated(
  namespace: string,
  selector: string,
  container: string,
  exitCode: number,
  message: string,
): Promise<void> {
  const pods = await eventually(async () => {
    const p = await podsOf(namespace, selector);
    return p.length > 0 && p;
  }, 60_000);
  const now = new Date().toISOString();
  for (const pod of pods) {
    await patchPodStatus(pod, {
      phase: exitCode === 0 ? 'Succeeded' : 'Failed',
      startTime: now,
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
        { type: 'Ready', status: 'False', reason: 'PodCompleted', lastTransitionTime: now },
      ],
      containerStatuses: [
        {
          name: container,
          ready: false,
          started: false,
          restartCount: 0,
          image: 'trainer',
          imageID: '',
          state: {
            terminated: {
              exitCode,
              reason: exitCode === 0 ? 'Completed' : 'Error',
              message,
              startedAt: now,
              finishedAt: now,
            },
          },
        },
      ],
    });
  }
}

export { repoRoot };
