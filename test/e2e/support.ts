/**
 * Helpers for end-to-end tests on the local node: model files on the host, the in-cluster model stores
 * (a hostPath PersistentVolume, an HTTP file server, an S3-compatible store), inference over real HTTP, and a
 * load generator that counts every failed request.
 */
import { afterEach } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { request as httpRequest, Agent } from 'node:http';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { serverContainerName } from '../../operator/src/desired/pod.js';
import { eventually, kubeConfig, kubectl, kubectlOk } from '../support/cluster.js';

export const kc = kubeConfig();
export const core = kc.makeApiClient(k8s.CoreV1Api);
export const custom = kc.makeApiClient(k8s.CustomObjectsApi);

export function modelsDir(): string {
  const dir = process.env.MODELSHIP_E2E_MODELS;
  if (!dir)
    throw new Error('MODELSHIP_E2E_MODELS is not set: end-to-end tests run under the e2e global setup');
  return dir;
}

/** Writes a model file where the node's hostPath volumes (PV, file server) can read it. */
export function writeModel(file: string, bytes: Uint8Array): string {
  const path = join(modelsDir(), file);
  writeFileSync(path, bytes, { mode: 0o644 });
  return path;
}

export async function applyYaml(ns: string, docs: object[]): Promise<void> {
  await kubectlOk(['apply', '-n', ns, '-f', '-'], docs.map((d) => yaml.dump(d)).join('---\n'));
}

/** A hostPath PersistentVolume over the models folder, and a claim bound to it. */
export async function modelClaim(ns: string, claim: string): Promise<void> {
  const pv = `${ns}-${claim}`;
  await kubectlOk(
    ['apply', '-f', '-'],
    yaml.dump({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: pv },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadOnlyMany'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: 'e2e-models',
        hostPath: { path: modelsDir(), type: 'Directory' },
        claimRef: { namespace: ns, name: claim },
      },
    }),
  );
  await applyYaml(ns, [
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: claim },
      spec: {
        accessModes: ['ReadOnlyMany'],
        storageClassName: 'e2e-models',
        volumeName: pv,
        resources: { requests: { storage: '1Gi' } },
      },
    },
  ]);
  await eventually(
    async () =>
      (await core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: claim })).status?.phase ===
      'Bound',
    60_000,
  );
}

const locked = { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } };
const lockedContainer = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
};

/**
 * An HTTP file server (the fileserver image) serving the models folder as `http://models.<ns>/<file>`. The folder comes
 * through a claim of its own: a hostPath volume in the pod would be refused in a `restricted` namespace.
 */
export async function fileServer(ns: string): Promise<void> {
  await modelClaim(ns, 'models-http');
  await applyYaml(ns, [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'models' },
      spec: {
        selector: { matchLabels: { app: 'models' } },
        template: {
          metadata: { labels: { app: 'models' } },
          spec: {
            securityContext: locked,
            containers: [
              {
                name: 'http',
                image: 'modelship.local/fileserver:1',
                imagePullPolicy: 'IfNotPresent',
                ports: [{ containerPort: 8080 }],
                readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
                securityContext: lockedContainer,
                volumeMounts: [{ name: 'models', mountPath: '/srv', readOnly: true }],
              },
            ],
            volumes: [
              { name: 'models', persistentVolumeClaim: { claimName: 'models-http', readOnly: true } },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'models' },
      spec: { selector: { app: 'models' }, ports: [{ port: 80, targetPort: 8080 }] },
    },
  ]);
  await kubectlOk(['rollout', 'status', '-n', ns, 'deployment/models', '--timeout=120s']);
}

/** The S3-compatible store (gofakes3, in memory) as `http://s3.<ns>:9000`, with a `models` bucket. */
export async function s3Store(ns: string): Promise<string> {
  await applyYaml(ns, [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 's3' },
      spec: {
        selector: { matchLabels: { app: 's3' } },
        template: {
          metadata: { labels: { app: 's3' } },
          spec: {
            securityContext: locked,
            containers: [
              {
                name: 's3',
                image: 'modelship.local/s3:1',
                imagePullPolicy: 'IfNotPresent',
                ports: [{ containerPort: 9000 }],
                readinessProbe: { tcpSocket: { port: 9000 }, periodSeconds: 1 },
                securityContext: lockedContainer,
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's3' },
      spec: { selector: { app: 's3' }, ports: [{ port: 9000, targetPort: 9000 }] },
    },
  ]);
  await kubectlOk(['rollout', 'status', '-n', ns, 'deployment/s3', '--timeout=120s']);
  return `http://${await clusterIp(ns, 's3')}:9000`;
}

export async function clusterIp(ns: string, service: string): Promise<string> {
  return (await core.readNamespacedService({ namespace: ns, name: service })).spec!.clusterIP!;
}

export interface InferResponse {
  model_name: string;
  model_version?: string;
  outputs: { name: string; shape: number[]; datatype: string; data: number[] }[];
}

/** The iris-like models' input: `rows` rows of 4 features. */
export function irisRequest(rows: number[][]): object {
  return { inputs: [{ name: 'features', shape: [rows.length, 4], datatype: 'FP32', data: rows.flat() }] };
}

export interface HttpResult {
  status: number;
  body: string;
}

/** One POST over plain node:http (no retries), optionally on a keep-alive agent. */
export function post(
  url: string,
  body: object,
  agent?: Agent,
  timeoutMs = 10_000,
  headers: Record<string, string> = {},
): Promise<HttpResult> {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: 'POST',
        agent: agent ?? false,
        timeout: timeoutMs,
        headers: { 'Content-Type': 'application/json', 'Content-Length': payload.length, ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(payload);
  });
}

export async function infer(url: string, body: object): Promise<InferResponse> {
  const r = await post(url, body);
  if (r.status !== 200) throw new Error(`inference failed with ${r.status}: ${r.body}`);
  return JSON.parse(r.body) as InferResponse;
}

export interface LoadReport {
  ok: number;
  failed: number;
  errors: string[];
  /** Successful responses by model_version. */
  versions: Record<string, number>;
  /** Wall-clock time (Date.now()) of the first failure, if any. */
  firstFailureAt?: number;
}

/** Load generators not stopped yet: a test that fails before its own `stop()` must not leave its loops running. */
const runningLoads = new Set<() => Promise<LoadReport>>();

// Every e2e test file imports this module: after each test, stop what it left running, or Jest would wait for
// the loops (and their sockets) forever after the last test.
afterEach(async () => {
  await Promise.all([...runningLoads].map((stop) => stop()));
});

/**
 * Sends requests continuously from `concurrency` loops until stopped. With `keepAlive`, each loop reuses its
 * connection as a real client would; otherwise every request opens a new one. Every non-200 answer and every
 * transport error counts as a failure. `headers` go with every request (a Host for a gateway's route).
 */
export function loadGenerator(
  url: string,
  body: object,
  concurrency: number,
  keepAlive: boolean,
  headers: Record<string, string> = {},
) {
  const report: LoadReport = { ok: 0, failed: 0, errors: [], versions: {} };
  const t0 = performance.now();
  const at = () => `at +${((performance.now() - t0) / 1000).toFixed(2)} s`;
  let running = true;
  const agent = keepAlive ? new Agent({ keepAlive: true, maxSockets: concurrency }) : undefined;
  const fail = (why: string) => {
    report.failed++;
    report.firstFailureAt ??= Date.now();
    if (report.errors.length < 20) report.errors.push(`${at()}: ${why}`);
  };
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) {
      try {
        const r = await post(url, body, agent, 10_000, headers);
        if (r.status === 200) {
          report.ok++;
          const v = (JSON.parse(r.body) as InferResponse).model_version ?? '?';
          report.versions[v] = (report.versions[v] ?? 0) + 1;
        } else fail(`${r.status}: ${r.body.slice(0, 200)}`);
      } catch (err) {
        fail((err as Error).message);
      }
    }
  });
  const stop = async (): Promise<LoadReport> => {
    running = false;
    runningLoads.delete(stop);
    await Promise.all(loops);
    agent?.destroy();
    return report;
  };
  runningLoads.add(stop);
  return { report, stop };
}

export async function waitForPhase(
  ns: string,
  name: string,
  phase: string,
  timeoutMs = 120_000,
): Promise<Record<string, unknown>> {
  return eventually(
    async () => {
      const md = (await custom.getNamespacedCustomObject({
        group: 'modelship.dev',
        version: 'v1alpha1',
        plural: 'modeldeployments',
        namespace: ns,
        name,
      })) as {
        status?: { phase?: string };
      };
      return md.status?.phase === phase && (md as Record<string, unknown>);
    },
    timeoutMs,
    250,
  );
}

/** Connects to argv[1]:argv[2] (the server image's node): exit 0 once connected, 1 otherwise. */
const connectScript =
  "const s=require('net').connect(Number(process.argv[2]),process.argv[1]);s.setTimeout(2000);" +
  "s.on('connect',()=>process.exit(0));s.on('timeout',()=>process.exit(1));s.on('error',()=>process.exit(1));";
/** Resolves argv[1] (all addresses): exit 0 when they are exactly argv[2] (comma-separated, any order). */
const resolveScript =
  "require('dns').lookup(process.argv[1],{all:true},(e,a)=>process.exit(!e&&" +
  "a.map(x=>x.address).sort().join()===process.argv[2].split(',').sort().join()?0:1));";

/** Runs `node -e script args...` in a serving pod's server container, as the pod itself; its exit code. */
async function inServer(ns: string, pod: string, script: string, ...args: string[]): Promise<number> {
  const r = await kubectl([
    'exec',
    '-n',
    ns,
    pod,
    '-c',
    serverContainerName,
    '--',
    'node',
    '-e',
    script,
    ...args,
  ]);
  return r.code;
}

/**
 * Resolves once every one of the serving `pods` finds all of them under the name `peers` (their headless Service)
 * and opens a TCP connection to every other's `port`, from inside the pod. A pod turns Ready before the node's
 * NetworkPolicy engine (kube-router's firewall) has synced it, as a Service's endpoint does before kube-proxy's: a
 * pod calling another at once (a replica forwarding feedback to its peers) may be refused for that moment. Tried as
 * the pods themselves would, so it says nothing about which rule admits them.
 */
export async function podsReachEachOther(
  ns: string,
  pods: { name: string; ip: string }[],
  peers: string,
  port: number,
  timeoutMs = 120_000,
): Promise<void> {
  const ips = pods.map((p) => p.ip).join(',');
  for (const from of pods) {
    await eventually(
      async () => (await inServer(ns, from.name, resolveScript, peers, ips)) === 0,
      timeoutMs,
      500,
    ).catch((err: Error) => {
      throw new Error(`pod ${from.name} does not find ${ips} under ${peers}: ${err.message}`);
    });
    for (const to of pods.filter((p) => p !== from))
      await eventually(
        async () => (await inServer(ns, from.name, connectScript, to.ip, String(port))) === 0,
        timeoutMs,
        500,
      ).catch((err: Error) => {
        throw new Error(`pod ${from.name} cannot reach ${to.name} (${to.ip}:${port}): ${err.message}`);
      });
  }
}
