/**
 * What a cache does when the connection to the API server breaks: the project's Informer vs client-node 1.4's
 * makeInformer (as is, and with the restart-on-error workaround), side by side, both reaching a real API server through a TCP proxy that the script breaks.
 * After each fault a ConfigMap is created directly (not through the proxy); the table says how long each cache
 * took to show it, or "never" within the deadline.
 *
 * Faults: cut (every connection reset once), outage (connections refused for 5 s), freeze (the open
 * connection stays up but silent, new ones work), unreachable-at-start (refused for the first 5 s).
 * The project's Informer runs with watchTimeoutSeconds 20, no jitter, stall grace 5 s (production: 300–600 s
 * and 30 s), so that the freeze is detected within the run.
 *
 *   npx tsx bench/kube/watch-faults.ts
 */
import * as k8s from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { Informer } from '../../operator/src/kube/informer.js';
import { silentLogger } from '../../operator/src/telemetry/logger.js';
import {
  benchCluster,
  createNamespace,
  FreezableProxy,
  kubeConfig,
  ms,
  printTable,
  saveResult,
  sleep,
  timeUntil,
  viaProxy,
} from './support.js';

type Fault = 'cut' | 'outage-5s' | 'freeze' | 'unreachable-at-start';
const faults = (process.env.BENCH_FAULTS ?? 'cut,outage-5s,unreachable-at-start,freeze').split(
  ',',
) as Fault[];
const deadlineMs = Number(process.env.BENCH_DEADLINE_MS ?? 60_000);

interface Outcome {
  fault: Fault;
  projectSeesChangeMs?: number;
  clientNodeSeesChangeMs?: number;
  clientNodeRestartingSeesChangeMs?: number;
  clientNodeRestarts: number;
  projectRestarts: string;
  clientNodeErrors: string[];
  clientNodeConnects: number;
}

async function scenario(server: string, admin: k8s.KubeConfig, ns: string, fault: Fault): Promise<Outcome> {
  const proxy = await FreezableProxy.start(server);
  const kc = viaProxy(proxy.port);
  const registry = new Registry();
  const project = new Informer<k8s.V1ConfigMap>({
    name: 'configmaps',
    kubeConfig: kc,
    resource: { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps' },
    namespaces: [ns],
    logger: silentLogger(),
    registry,
    watchTimeoutSeconds: 20,
    watchTimeoutJitter: 0,
    watchStallGraceMs: 5000,
  });
  const path = `/api/v1/namespaces/${ns}/configmaps`;
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const cn = k8s.makeInformer<k8s.V1ConfigMap>(kc, path, () =>
    core.listNamespacedConfigMap({ namespace: ns }),
  );
  const cnErrors: string[] = [];
  let cnConnects = 0;
  cn.on('error', (err: unknown) => cnErrors.push(String((err as Error)?.message ?? err).slice(0, 80)));
  cn.on('connect', () => cnConnects++);

  // The workaround client-node's documentation suggests: start the informer again after an error.
  const cnRestarting = k8s.makeInformer<k8s.V1ConfigMap>(kc, path, () =>
    core.listNamespacedConfigMap({ namespace: ns }),
  );
  let restarting = true;
  let cnRestarts = 0;
  cnRestarting.on('error', () => {
    // Without this flag, the abort that stop() causes would start it again.
    if (restarting) setTimeout(() => restarting && (cnRestarts++, void cnRestarting.start()), 1000);
  });

  if (fault === 'unreachable-at-start') await proxy.refuse();
  const projectStarted = project.start();
  void cn.start().catch((err: unknown) => cnErrors.push(`start: ${String(err)}`));
  void cnRestarting.start();
  if (fault === 'unreachable-at-start') {
    await sleep(5000);
    await proxy.accept();
  } else {
    await projectStarted;
    await timeUntil(() => cn.list().length > 0, 10_000);
    await sleep(1000);
    if (fault === 'cut') proxy.cut();
    if (fault === 'freeze') proxy.freeze();
    if (fault === 'outage-5s') {
      await proxy.refuse();
      await sleep(5000);
      await proxy.accept();
    }
  }
  const probe = `probe-${fault}`;
  await admin
    .makeApiClient(k8s.CoreV1Api)
    .createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: probe }, data: { a: '1' } } });
  const [p, c, cr] = await Promise.all([
    timeUntil(() => project.get(ns, probe) !== undefined, deadlineMs),
    timeUntil(() => cn.get(probe, ns) !== undefined, deadlineMs),
    timeUntil(() => cnRestarting.get(probe, ns) !== undefined, deadlineMs),
  ]);
  const restarts = (await registry.getSingleMetric('modelship_operator_watch_restarts_total')!.get()).values
    .filter((v) => v.value > 0)
    .map((v) => `${v.labels.reason}×${v.value}`)
    .join(', ');
  const cnErrorsBeforeStop = [...cnErrors];
  await project.stop();
  await cn.stop();
  restarting = false;
  await cnRestarting.stop();
  // Stopping a client-node informer whose watch is still open reports the abort as an error.
  for (const e of cnErrors.slice(cnErrorsBeforeStop.length)) cnErrorsBeforeStop.push(`on stop(): ${e}`);
  await proxy.close();
  return {
    fault,
    projectSeesChangeMs: p,
    clientNodeSeesChangeMs: c,
    clientNodeRestartingSeesChangeMs: cr,
    clientNodeRestarts: cnRestarts,
    projectRestarts: restarts || '-',
    clientNodeErrors: cnErrorsBeforeStop,
    clientNodeConnects: cnConnects,
  };
}

async function main(): Promise<void> {
  const cluster = await benchCluster();
  const outcomes: Outcome[] = [];
  try {
    const admin = kubeConfig();
    const ns = await createNamespace(admin, 'faults');
    const core = admin.makeApiClient(k8s.CoreV1Api);
    for (let i = 0; i < 20; i++)
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: `cm-${i}` } } });
    for (const fault of faults) {
      const o = await scenario(cluster.server, admin, ns, fault);
      console.error(JSON.stringify(o));
      outcomes.push(o);
    }
    await core.deleteNamespace({ name: ns });
  } finally {
    await cluster.stop();
  }
  printTable(
    [
      'fault',
      'project Informer sees the change',
      'its restarts',
      'client-node informer sees the change',
      'client-node error callbacks',
      'client-node + start() again 1 s after an error',
    ],
    outcomes.map((o) => [
      o.fault,
      ms(o.projectSeesChangeMs),
      o.projectRestarts,
      ms(o.clientNodeSeesChangeMs),
      o.clientNodeErrors.join('; ') || '-',
      `${ms(o.clientNodeRestartingSeesChangeMs)} (${o.clientNodeRestarts} restarts)`,
    ]),
  );
  await saveResult('watch-faults', { deadlineMs, outcomes });
  process.exit(0);
}

await main();
