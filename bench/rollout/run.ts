/**
 * `make bench-rollout`: how fast a bad canary is off traffic, and what the router costs.
 *
 * 1. Router overhead (no cluster): a real model server, then the same server behind a real router (`route
 *    --routes-file`), with the Go load generator of bench/server, JSON one-row requests to the tabular model, at 1, 8
 *    and 64 connections. The server runs on CPU 0; the router, when there is one, and the load generator share CPU 1
 *    (a router pod has cores of its own in a cluster; here the load generator pays for the router's).
 * 2. Time from fault to 0 % weight (a local cluster with a real node, started and stopped here): a ModelDeployment
 *    serving the iris model under constant load from 4 clients gets a new version whose model fails on real inputs,
 *    rolled out as a canary. Measured per run: from the first failed request the clients saw to the operator's
 *    rollback decision (status.rejected.at) and to the last failed request (the router has the new table), and the
 *    failed requests. Default settings (interval 5 s, window 30 s, minSamples 20, failureLimit 0), then tuned ones.
 *    Flagger's and Argo Rollouts' windows are computed from their documented defaults, for comparison.
 * Prints a table and writes bench/results/rollout-<time>.json. BENCH_PARTS=overhead or rollback runs one part;
 * BENCH_SECONDS (default 5) per overhead point;
 * BENCH_ROLLBACK_RUNS (default 3) runs per setting.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { launchCluster } from '../../cluster/src/launcher.js';
import { buildLoadgen, onCpu, pinned, runLoadgen } from '../support/loadgen.js';
import { benchTabularModel, faultyIrisModel, irisModel } from '../../test/fixtures/onnx/models.js';
import type { ModelDeployment } from '../../operator/src/api/v1alpha1/schema.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const RUNS = Number(process.env.BENCH_ROLLBACK_RUNS ?? 3);
const work = mkdtempSync(join(tmpdir(), 'modelship-bench-rollout-'));
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

// ---- 1. router overhead -------------------------------------------------------------------------------------------

async function spawnReady(
  cpu: number,
  args: string[],
  env: Record<string, string>,
  url: string,
): Promise<ChildProcess> {
  const [cmd, full] = onCpu(cpu, process.execPath, [
    '--import',
    'tsx',
    join(ROOT, 'server-image/src/cli.ts'),
    ...args,
  ]);
  const child = spawn(cmd, full, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.add(child);
  for (let i = 0; i < 600; i++) {
    if (
      await fetch(url).then(
        (r) => r.status === 200,
        () => false,
      )
    )
      return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${args[0]} never became ready`);
}

async function load(loadgen: string, url: string, body: string, connections: number, pid: number) {
  const r = await runLoadgen({ loadgen, url, body, connections, seconds: SECONDS, pid });
  return {
    rps: r.requestsPerSecond,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    errors: r.errors,
    /** CPU microseconds per request of the process measured (the server, or the router), and of the load generator. */
    cpuUsPerRequest: (r.serverCpuSeconds * 1e6) / r.requests,
    loadgenCpuUsPerRequest: (r.loadgenCpuSeconds * 1e6) / r.requests,
  };
}

async function routerOverhead() {
  const loadgen = buildLoadgen(work);
  const model = join(work, 'tabular.onnx');
  writeFileSync(model, benchTabularModel());
  const body = join(work, 'body.json');
  writeFileSync(
    body,
    JSON.stringify({
      inputs: [
        {
          name: 'features',
          shape: [1, 30],
          datatype: 'FP32',
          data: Array.from({ length: 30 }, (_, i) => Math.sin(i)),
        },
      ],
    }),
  );
  const [serverPort, routerPort] = [18081, 18082];
  const server = await spawnReady(
    0,
    ['serve'],
    {
      MODELSHIP_MODEL_NAME: 'tabular',
      MODELSHIP_MODEL_URI: model,
      MODELSHIP_HOST: '127.0.0.1',
      MODELSHIP_PORT: String(serverPort),
      MODELSHIP_METRICS_PORT: '0',
      MODELSHIP_INTRA_OP_THREADS: '1',
      MODELSHIP_MAX_BATCH_SIZE: '64',
      MODELSHIP_LOG_LEVEL: 'warn',
    },
    `http://127.0.0.1:${serverPort}/v2/health/ready`,
  );
  const routes = join(work, 'routes.json');
  writeFileSync(
    routes,
    JSON.stringify({
      backends: [{ revision: 'r1', url: `http://127.0.0.1:${serverPort}`, weight: 100 }],
      matches: [],
    }),
  );
  const router = await spawnReady(
    1,
    [
      'route',
      '--routes-file',
      routes,
      '--host',
      '127.0.0.1',
      '--port',
      String(routerPort),
      '--metrics-port',
      '0',
      '--log-level',
      'warn',
    ],
    {},
    `http://127.0.0.1:${routerPort}/healthz/ready`,
  );
  const points = [];
  for (const c of [1, 8, 64]) {
    const direct = await load(
      loadgen,
      `http://127.0.0.1:${serverPort}/v2/models/tabular/infer`,
      body,
      c,
      server.pid!,
    );
    const routed = await load(
      loadgen,
      `http://127.0.0.1:${routerPort}/v2/models/tabular/infer`,
      body,
      c,
      router.pid!,
    );
    points.push({
      connections: c,
      direct,
      routed,
      throughputRatio: routed.rps / direct.rps,
      addedP50Ms: routed.p50Ms - direct.p50Ms,
    });
  }
  for (const c of [router, server]) c.kill('SIGTERM');
  return points;
}

// ---- 2. time from fault to 0 % weight ---------------------------------------------------------------------------

interface RollbackRun {
  setting: string;
  run: number;
  /** From the first failed request the clients saw to the operator's rollback decision; null: none failed. */
  toDecisionS: number | null;
  /** From the first failed request to the last one (the router has the new table); null: none failed. */
  toLastFailureS: number | null;
  failed: number;
  total: number;
  reason: string;
  /** The canary's requests as the router counted them, by status class (ok, error, refused...). */
  canaryAtRouter: Record<string, number>;
}

interface Setting {
  name: string;
  analysis: object;
}

const settings: Setting[] = [
  { name: 'default', analysis: {} },
  { name: 'tuned', analysis: { interval: '1s', window: '5s', minSamples: 10 } },
].filter((s) => !process.env.BENCH_SETTINGS || process.env.BENCH_SETTINGS.split(',').includes(s.name));

function post(url: string, agent: Agent): Promise<number> {
  return answer(url, agent).then((a) => a.status);
}

/** The status of one inference request, and the revision the router names (none: the router did not answer). */
function answer(url: string, agent: Agent): Promise<{ status: number; revision?: string }> {
  return new Promise((resolve) => {
    const req = request(
      url,
      { method: 'POST', agent, timeout: 10_000, headers: { 'Content-Type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            revision: res.headers['x-modelship-revision'] as string | undefined,
          }),
        );
      },
    );
    req.on('error', () => resolve({ status: 0 }));
    req.on('timeout', () => req.destroy());
    req.end(
      JSON.stringify({
        inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }],
      }),
    );
  });
}

async function rollbackTimes() {
  const { kubectlOk, installCrds, kubeConfig } = await import('../../test/support/cluster.js');
  const { installRbac, operatorKubeconfig, startOperator } = await import('../../test/support/operator.js');
  const cluster = await launchCluster({ mode: 'node', ownerPid: process.pid, ephemeral: true });
  process.env.KUBECONFIG = cluster.kubeconfig;
  const models = join(cluster.dir, 'models');
  mkdirSync(models, { recursive: true, mode: 0o755 });
  execFileSync('chmod', ['755', cluster.dir, models]);
  writeFileSync(join(models, 'v1.onnx'), irisModel(), { mode: 0o644 });
  writeFileSync(join(models, 'faulty.onnx'), faultyIrisModel(), { mode: 0o644 });
  await installCrds();
  await installRbac();
  const operator = await startOperator({
    kubeconfig: await operatorKubeconfig(),
    args: ['--no-leader-elect', '--log-level=warn'],
  });
  const k8s = await import('@kubernetes/client-node');
  const custom = kubeConfig().makeApiClient(k8s.CustomObjectsApi);
  const apply = (ns: string, docs: object[]) =>
    kubectlOk(['apply', '-n', ns, '-f', '-'], docs.map((d) => yaml.dump(d)).join('---\n'));
  const results: RollbackRun[] = [];
  /** What the router pods counted per backend revision and status class (through the API server's pod proxy). */
  const routerCounts = async (ns: string): Promise<Record<string, Record<string, number>>> => {
    const pods = (
      await kubectlOk(['get', 'pods', '-n', ns, '-l', 'app.kubernetes.io/component=router', '-o', 'name'])
    )
      .split('\n')
      .filter(Boolean);
    const counts: Record<string, Record<string, number>> = {};
    for (const pod of pods) {
      const text = await kubectlOk([
        'get',
        '--raw',
        `/api/v1/namespaces/${ns}/${pod.replace('pod/', 'pods/')}:9090/proxy/metrics`,
      ]);
      for (const m of text.matchAll(
        /^modelship_router_requests_total\{revision="([^"]+)",code="([^"]+)"\} (\S+)$/gm,
      )) {
        const byCode = (counts[m[1]!] ??= {});
        byCode[m[2]!] = (byCode[m[2]!] ?? 0) + Number(m[3]);
      }
    }
    return counts;
  };
  let n = 0;
  for (const s of settings)
    for (let r = 0; r < RUNS; r++) {
      const ns = `bench-rollback-${n++}`;
      await kubectlOk(['create', 'namespace', ns]);
      await apply(ns, [
        {
          apiVersion: 'v1',
          kind: 'PersistentVolume',
          metadata: { name: `${ns}-models` },
          spec: {
            capacity: { storage: '1Gi' },
            accessModes: ['ReadOnlyMany'],
            persistentVolumeReclaimPolicy: 'Retain',
            storageClassName: 'bench',
            hostPath: { path: models, type: 'Directory' },
            claimRef: { namespace: ns, name: 'models' },
          },
        },
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: 'models' },
          spec: {
            accessModes: ['ReadOnlyMany'],
            storageClassName: 'bench',
            volumeName: `${ns}-models`,
            resources: { requests: { storage: '1Gi' } },
          },
        },
      ]);
      const md = (version: string, file: string) => ({
        apiVersion: 'modelship.dev/v1alpha1',
        kind: 'ModelDeployment',
        metadata: { name: 'iris' },
        spec: {
          model: { version, storageUri: `pvc://models/${file}` },
          runtime: { replicas: 1 },
          rollout: { strategy: 'Canary' },
          analysis: s.analysis,
        },
      });
      const get = async () =>
        (await custom.getNamespacedCustomObject({
          group: 'modelship.dev',
          version: 'v1alpha1',
          plural: 'modeldeployments',
          namespace: ns,
          name: 'iris',
        })) as ModelDeployment;
      await apply(ns, [md('1', 'v1.onnx')]);
      const ip = await waitFor(async () => {
        const m = await get();
        if (m.status?.phase !== 'Ready') return undefined;
        const svc = JSON.parse(await kubectlOk(['get', 'svc', 'iris', '-n', ns, '-o', 'json'])) as {
          spec: { clusterIP: string; selector: Record<string, string> };
        };
        return svc.spec.selector['app.kubernetes.io/component'] === 'router' ? svc.spec.clusterIP : undefined;
      });
      const url = `http://${ip}/v2/models/iris/infer`;
      // Until the Service's ClusterIP leads to the router on the node (kube-proxy follows the selector moments
      // later): a connection opened before would stay on the revision's pod for up to
      // --max-requests-per-connection requests, past the router's weights.
      await waitFor(async () => {
        const a = await answer(url, new Agent());
        return a.status === 200 && a.revision ? true : undefined;
      });
      // Constant load from 4 clients, each failure stamped.
      const agent = new Agent({ keepAlive: true, maxSockets: 4 });
      let running = true;
      let total = 0;
      const failures: number[] = [];
      const loops = Array.from({ length: 4 }, async () => {
        while (running) {
          const status = await post(url, agent);
          total++;
          if (status !== 200) failures.push(Date.now());
        }
      });
      await new Promise((res) => setTimeout(res, 3000));
      await apply(ns, [md('2', 'faulty.onnx')]);
      const rolledBack = await waitFor(async () => {
        const m = await get();
        return m.status?.phase === 'RolledBack' ? m : undefined;
      }, 300_000);
      await new Promise((res) => setTimeout(res, 5000));
      running = false;
      await Promise.all(loops);
      agent.destroy();
      const first = failures[0];
      const canary = rolledBack.status!.rejected!.revision;
      results.push({
        setting: s.name,
        run: r + 1,
        // No failed request at all: the canary got no traffic (its noData policy rolled it back); kept apart.
        toDecisionS:
          first === undefined ? null : (Date.parse(rolledBack.status!.rejected!.at) - first) / 1000,
        toLastFailureS: first === undefined ? null : (failures.at(-1)! - first) / 1000,
        failed: failures.length,
        total,
        reason: rolledBack.status!.rejected!.reason,
        canaryAtRouter:
          (await routerCounts(ns).catch(() => ({}) as Record<string, Record<string, number>>))[canary] ?? {},
      });
      process.stderr.write(`rollback ${s.name} #${r + 1}: ${JSON.stringify(results.at(-1))}\n`);
      if (process.env.BENCH_DEBUG && first === undefined) {
        for (const args of [
          ['get', 'md', 'iris', '-n', ns, '-o', 'yaml'],
          ['get', 'cm', 'iris-router', '-n', ns, '-o', 'yaml'],
          ['get', 'pods,endpoints,svc', '-n', ns, '-o', 'wide'],
          ['logs', '-n', ns, '-l', 'app.kubernetes.io/component=router', '--tail=40', '--prefix'],
        ])
          process.stderr.write(
            `$ kubectl ${args.join(' ')}\n${await kubectlOk(args).catch((e: Error) => e.message)}\n`,
          );
        const pods = (
          await kubectlOk(['get', 'pods', '-n', ns, '-l', 'app.kubernetes.io/component=router', '-o', 'name'])
        )
          .split('\n')
          .filter(Boolean);
        for (const pod of pods)
          process.stderr.write(
            `${pod} metrics:\n${await kubectlOk(['get', '--raw', `/api/v1/namespaces/${ns}/${pod.replace('pod/', 'pods/')}:9090/proxy/metrics`]).catch((e: Error) => e.message)}\n`,
          );
      }
      await kubectlOk(['delete', 'namespace', ns, '--wait=false']);
    }
  await operator.stop();
  return results;
}

async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs = 240_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}

// ---- report -------------------------------------------------------------------------------------------------------

// BENCH_PARTS=overhead (no cluster needed) or rollback runs one part; both by default.
const parts = (process.env.BENCH_PARTS ?? 'overhead,rollback').split(',');
const overhead = parts.includes('overhead') ? await routerOverhead() : [];
const rollbacks = parts.includes('rollback') ? await rollbackTimes() : [];
const table = (rows: string[][]) => {
  const w = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) =>
      r
        .map((x, c) => x.padEnd(w[c]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
};
const goals: { goal: string; met: boolean; value: string }[] = [];
if (overhead.length > 0) {
  console.log('\nRouter overhead (tabular model, JSON, one row per request)');
  console.log(
    table([
      [
        'conns',
        'direct req/s',
        'routed req/s',
        'ratio',
        'direct p50',
        'routed p50',
        '+p50 ms',
        'direct p99',
        'routed p99',
        'server CPU µs/req',
        'router CPU µs/req',
        'errors',
      ],
      ...overhead.map((p) => [
        String(p.connections),
        p.direct.rps.toFixed(0),
        p.routed.rps.toFixed(0),
        p.throughputRatio.toFixed(2),
        p.direct.p50Ms.toFixed(2),
        p.routed.p50Ms.toFixed(2),
        p.addedP50Ms.toFixed(2),
        p.direct.p99Ms.toFixed(2),
        p.routed.p99Ms.toFixed(2),
        p.direct.cpuUsPerRequest.toFixed(0),
        p.routed.cpuUsPerRequest.toFixed(0),
        String(p.direct.errors + p.routed.errors),
      ]),
    ]),
  );
  const busiest = overhead.at(-1)!;
  const cpuRatio = busiest.routed.cpuUsPerRequest / busiest.direct.cpuUsPerRequest;
  console.log(
    `At ${busiest.connections} connections the router spends ${cpuRatio.toFixed(1)}× the server's CPU per request. ` +
      `On this machine it shares a core with the load generator; in a cluster its pods need about ${cpuRatio.toFixed(1)}× ` +
      `the model pods' CPU for the router not to be what limits throughput with this model.`,
  );
  goals.push(
    {
      goal: 'router: p50 at most +0.3 ms at 1 connection',
      met: overhead[0]!.addedP50Ms <= 0.3,
      value: `${overhead[0]!.addedP50Ms.toFixed(2)} ms`,
    },
    {
      goal: `router: at least 90 % of direct throughput at ${busiest.connections} connections (same 2 cores)`,
      met: busiest.throughputRatio >= 0.9,
      value: busiest.throughputRatio.toFixed(2),
    },
  );
}
if (rollbacks.length > 0) {
  console.log('\nTime from the first failed request to the rollback (iris canary at 10 %, 4 clients)');
  const judged = (name: string) => rollbacks.filter((r) => r.setting === name && r.toDecisionS !== null);
  console.log(
    table([
      [
        'setting',
        'runs',
        'to decision s (median, max)',
        'to last failure s (median, max)',
        'failed requests (median)',
        'of requests (median)',
        'runs without traffic to the canary',
      ],
      ...settings.map((s) => {
        const rs = judged(s.name);
        const all = rollbacks.filter((r) => r.setting === s.name);
        const decision = rs.map((r) => r.toDecisionS!);
        const last = rs.map((r) => r.toLastFailureS!);
        return [
          s.name,
          String(rs.length),
          `${median(decision).toFixed(1)}, ${Math.max(...decision).toFixed(1)}`,
          `${median(last).toFixed(1)}, ${Math.max(...last).toFixed(1)}`,
          String(median(rs.map((r) => r.failed))),
          String(median(rs.map((r) => r.total))),
          String(all.length - rs.length),
        ];
      }),
    ]),
  );
  for (const r of rollbacks.filter((x) => x.toDecisionS === null))
    console.log(
      `  ${r.setting} #${r.run}: no request failed; the router counted for the canary ${JSON.stringify(r.canaryAtRouter)}; ${r.reason}`,
    );
  console.log(
    '\nFor comparison, the detection windows of the anchors with their documented defaults (computed, not run):',
  );
  console.log(
    '  Flagger: analysis.interval 1m × threshold 5 failed checks => rollback after about 5 minutes',
  );
  console.log(
    '  Argo Rollouts: an AnalysisRun measures every interval (5m in the documented examples); failureLimit 0 fails on the first failed measurement => up to 5 minutes',
  );
  const defaults = judged('default').map((r) => r.toLastFailureS!);
  const defaultRuns = rollbacks.filter((r) => r.setting === 'default').length;
  goals.push({
    goal: 'default settings: off traffic within 15 s of the first failure (every run judged on failures)',
    met: defaults.length > 0 && defaults.length === defaultRuns && Math.max(...defaults) <= 15,
    value: `${Math.max(...defaults).toFixed(1)} s at most, ${defaults.length} of ${defaultRuns} runs`,
  });
}
console.log('\nGoals:');
for (const g of goals) console.log(`  ${g.met ? 'MET    ' : 'NOT MET'}  ${g.goal}: ${g.value}`);
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
const out = join(ROOT, 'bench/results', `rollout-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(out, JSON.stringify({ pinned, overhead, rollbacks, goals }, null, 2));
console.log(`\nwritten: ${out}`);
process.exit(0);
