/**
 * `make bench-operator`: the operator against a local control plane it starts for itself.
 *   1. latency from creating one ModelDeployment to its Deployment existing (50 runs, by API and by kubectl apply);
 *   2. 500 ModelDeployments applied at once: time until every one has its Deployment and a status;
 *   3. the operator's memory after that;
 *   4. API requests per reconcile in steady state (forced resyncs over 500 objects), and writes from the audit log.
 * Prints a table and writes bench/results/operator-<time>.json. Goals (issue 5): p50 < 200 ms, 500 within 60 s,
 * < 200 MB RSS, zero writes in steady state.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { launchCluster, stopCluster } from '../../cluster/src/launcher.js';
import { installCrds, kubeConfig, kubectl, repoRoot } from '../../test/support/cluster.js';
import {
  installRbac,
  operatorKubeconfig,
  operatorUser,
  startOperator,
  writesBy,
} from '../../test/support/operator.js';

const runs = Number(process.env.BENCH_RUNS ?? 50);
const bulk = Number(process.env.BENCH_BULK ?? 500);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function md(name: string, version = '1'): object {
  return {
    apiVersion: 'modelship.dev/v1alpha1',
    kind: 'ModelDeployment',
    metadata: { name },
    spec: { model: { version, storageUri: `file:///models/${name}.onnx` } },
  };
}

/** Resolves when a Deployment labelled for `name` is ADDED (seen through a watch, not a poll). */
class DeploymentWatcher {
  private readonly seen = new Map<string, number>();
  private readonly waiters = new Map<string, (t: number) => void>();
  private abort?: AbortController;
  constructor(
    private readonly kc: k8s.KubeConfig,
    private readonly ns: string,
  ) {}
  async start(): Promise<void> {
    this.abort = await new k8s.Watch(this.kc).watch(
      `/apis/apps/v1/namespaces/${this.ns}/deployments`,
      { labelSelector: 'app.kubernetes.io/managed-by=modelship' },
      (type, obj: k8s.V1Deployment) => {
        if (type !== 'ADDED') return;
        const owner = obj.metadata!.labels!['modelship.dev/deployment']!;
        const t = performance.now();
        this.seen.set(owner, t);
        this.waiters.get(owner)?.(t);
      },
      () => undefined,
    );
  }
  wait(name: string): Promise<number> {
    const t = this.seen.get(name);
    if (t !== undefined) return Promise.resolve(t);
    return new Promise((resolve) => this.waiters.set(name, resolve));
  }
  count(): number {
    return this.seen.size;
  }
  stop(): void {
    this.abort?.abort();
  }
}

async function main(): Promise<void> {
  const cluster = await launchCluster({ ownerPid: process.pid, ephemeral: true });
  process.env.KUBECONFIG = cluster.kubeconfig;
  process.env.MODELSHIP_TEST_AUDIT_LOG = cluster.auditLog;
  const results: Record<string, unknown> = { date: new Date().toISOString(), runs, bulk };
  try {
    await installCrds();
    await installRbac();
    const config = await operatorKubeconfig();
    const operator = await startOperator({
      kubeconfig: config,
      compiled: true,
      // The same V8 setting as `make run` and the operator's deployment: a small young generation keeps RSS low.
      nodeArgs: ['--max-semi-space-size=2'],
      args: ['--no-leader-elect', '--log-level=warn', '--resync-period-ms=10000', '--concurrency=4'],
    });
    const kc = kubeConfig();
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);

    const rssOf = (m: string) =>
      Number(/^modelship_operator_process_resident_memory_bytes (\d+)/m.exec(m)?.[1] ?? NaN);
    results.operatorRssMbIdle = rssOf(await operator.metrics()) / 1024 / 1024;

    // 1. latency, one at a time
    const latency = async (ns: string, how: 'api' | 'kubectl') => {
      await core.createNamespace({ body: { metadata: { name: ns } } });
      const watcher = new DeploymentWatcher(kc, ns);
      await watcher.start();
      const samples: number[] = [];
      // One warm-up object first: the first request of a namespace pays for connections and watch start-up.
      for (let i = -1; i < runs; i++) {
        const name = `lat-${i}`;
        const t0 = performance.now();
        if (how === 'api') {
          await custom.createNamespacedCustomObject({
            group: 'modelship.dev',
            version: 'v1alpha1',
            plural: 'modeldeployments',
            namespace: ns,
            body: md(name),
          });
        } else {
          const r = await kubectl(['apply', '-n', ns, '-f', '-'], yaml.dump(md(name)));
          if (r.code !== 0) throw new Error(r.stderr);
        }
        const ms = (await watcher.wait(name)) - t0;
        if (i >= 0) samples.push(ms);
      }
      watcher.stop();
      samples.sort((a, b) => a - b);
      return {
        p50: percentile(samples, 50),
        p99: percentile(samples, 99),
        min: samples[0],
        max: samples[samples.length - 1],
      };
    };
    results.createToDeploymentApiMs = await latency('bench-lat-api', 'api');
    results.applyToDeploymentKubectlMs = await latency('bench-lat-kubectl', 'kubectl');

    // 2. many at once
    const ns = 'bench-bulk';
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const watcher = new DeploymentWatcher(kc, ns);
    await watcher.start();
    const file = join(repoRoot, 'bench/results/operator-bulk.yaml');
    mkdirSync(join(repoRoot, 'bench/results'), { recursive: true });
    writeFileSync(file, Array.from({ length: bulk }, (_, i) => yaml.dump(md(`m-${i}`))).join('---\n'));
    const t0 = performance.now();
    const applied = await kubectl(['apply', '--server-side', '-n', ns, '-f', file]);
    if (applied.code !== 0) throw new Error(applied.stderr);
    const appliedMs = performance.now() - t0;
    let allDeployments = 0;
    let allStatus = 0;
    for (;;) {
      if (!allDeployments && watcher.count() >= bulk) allDeployments = performance.now() - t0;
      if (allDeployments) {
        const list = (await custom.listNamespacedCustomObject({
          group: 'modelship.dev',
          version: 'v1alpha1',
          plural: 'modeldeployments',
          namespace: ns,
        })) as {
          items: { status?: { observedGeneration?: number; phase?: string } }[];
        };
        if (
          list.items.filter((i) => i.status?.observedGeneration !== undefined && i.status.phase).length >=
          bulk
        ) {
          allStatus = performance.now() - t0;
          break;
        }
      }
      if (performance.now() - t0 > 300_000)
        throw new Error(`not done after 300 s: ${watcher.count()} Deployments`);
      await new Promise((r) => setTimeout(r, 100));
    }
    watcher.stop();
    results.bulk500 = { kubectlApplyMs: appliedMs, allDeploymentsMs: allDeployments, allStatusMs: allStatus };

    // 3. memory, after the burst has settled
    await new Promise((r) => setTimeout(r, 5000));
    const afterBurst = await operator.metrics();
    results.operatorRssMb = rssOf(afterBurst) / 1024 / 1024;
    const gauge = (name: string) =>
      Number(new RegExp(`^${name} (\\d+)`, 'm').exec(afterBurst)?.[1] ?? NaN) / 1024 / 1024;
    results.operatorHeapTotalMb = gauge('modelship_operator_nodejs_heap_size_total_bytes');
    results.operatorExternalMb = gauge('modelship_operator_nodejs_external_memory_bytes');
    results.operatorHeapUsedMb =
      Number(/^modelship_operator_nodejs_heap_size_used_bytes (\d+)/m.exec(afterBurst)?.[1] ?? NaN) /
      1024 /
      1024;

    // 4. steady state: forced resyncs every 10 s over everything, 25 s window
    const counter = (m: string, name: string) =>
      m
        .split('\n')
        .filter((l) => l.startsWith(name))
        .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    const since = new Date().toISOString();
    const before = await operator.metrics();
    await new Promise((r) => setTimeout(r, 25_000));
    const after = await operator.metrics();
    const reconciles =
      counter(after, 'modelship_operator_reconcile_total') -
      counter(before, 'modelship_operator_reconcile_total');
    const requests =
      counter(after, 'modelship_operator_api_requests_total') -
      counter(before, 'modelship_operator_api_requests_total');
    const objects = Number(process.env.BENCH_BULK ?? 500) + 2 * runs;
    results.steadyState = {
      windowS: 25,
      reconciles,
      apiRequests: requests,
      apiRequestsPerReconcile: reconciles ? requests / reconciles : NaN,
      writesInAuditLog: writesBy(operatorUser, since).length,
      modelDeployments: objects,
    };
    results.operatorRssMbAfterSteady = rssOf(after) / 1024 / 1024;
    await operator.stop();
  } finally {
    await stopCluster(cluster.dir);
  }

  const r = results as {
    createToDeploymentApiMs: { p50: number; p99: number };
    applyToDeploymentKubectlMs: { p50: number; p99: number };
    bulk500: { allDeploymentsMs: number; allStatusMs: number };
    operatorRssMb: number;
    steadyState: { reconciles: number; apiRequestsPerReconcile: number; writesInAuditLog: number };
  };
  const rows: [string, string, string, string][] = [
    [
      'create → Deployment (API), p50 / p99',
      `${r.createToDeploymentApiMs.p50.toFixed(0)} / ${r.createToDeploymentApiMs.p99.toFixed(0)} ms`,
      'p50 < 200 ms',
      r.createToDeploymentApiMs.p50 < 200 ? 'met' : 'MISSED',
    ],
    [
      'kubectl apply → Deployment, p50 / p99',
      `${r.applyToDeploymentKubectlMs.p50.toFixed(0)} / ${r.applyToDeploymentKubectlMs.p99.toFixed(0)} ms`,
      'p50 < 200 ms',
      r.applyToDeploymentKubectlMs.p50 < 200 ? 'met' : 'MISSED',
    ],
    [
      `${bulk} at once → all Deployments`,
      `${(r.bulk500.allDeploymentsMs / 1000).toFixed(1)} s`,
      '< 60 s',
      r.bulk500.allDeploymentsMs < 60_000 ? 'met' : 'MISSED',
    ],
    [
      `${bulk} at once → all statuses`,
      `${(r.bulk500.allStatusMs / 1000).toFixed(1)} s`,
      '< 60 s',
      r.bulk500.allStatusMs < 60_000 ? 'met' : 'MISSED',
    ],
    [
      'operator RSS after the burst',
      `${r.operatorRssMb.toFixed(0)} MB`,
      '< 200 MB',
      r.operatorRssMb < 200 ? 'met' : 'MISSED',
    ],
    [
      'operator JS heap used after the burst',
      `${(results.operatorHeapUsedMb as number).toFixed(0)} MB`,
      '',
      '',
    ],
    [`steady state: reconciles in 25 s`, String(r.steadyState.reconciles), '', ''],
    [
      'steady state: API requests per reconcile',
      r.steadyState.apiRequestsPerReconcile.toFixed(3),
      '0',
      r.steadyState.apiRequestsPerReconcile === 0 ? 'met' : 'MISSED',
    ],
    [
      'steady state: writes (audit log)',
      String(r.steadyState.writesInAuditLog),
      '0',
      r.steadyState.writesInAuditLog === 0 ? 'met' : 'MISSED',
    ],
  ];
  const w = [44, 18, 14, 6];
  console.log(['measure', 'result', 'goal', ''].map((c, i) => c.padEnd(w[i]!)).join(' | '));
  console.log(w.map((n) => '-'.repeat(n)).join('-|-'));
  for (const row of rows) console.log(row.map((c, i) => c.padEnd(w[i]!)).join(' | '));
  const out = join(
    repoRoot,
    'bench/results',
    `operator-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
  );
  writeFileSync(out, JSON.stringify(results, null, 2));
  console.log(`\nwrote ${out}`);
}

await main();
