/**
 * What the work queue buys: the events of N real Deployments being created (and then updated by the
 * kube-controller-manager's deployment controller), and of the ReplicaSets it makes for them (mapped to their
 * Deployment's key, as the operator maps owned objects to their ModelDeployment), feed two consumers at once:
 *   workqueue  the project's WorkQueue (operator/src/kube/workqueue.ts), 4 workers
 *   direct     the handler called from each informer event, as a client-node informer's on('change') would
 * The handler stands in for a reconcile: it takes BENCH_RECONCILE_MS (default 20 ms).
 *
 *   npx tsx bench/kube/workqueue.ts     (BENCH_N=200 Deployments by default)
 */
import * as k8s from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { Informer } from '../../operator/src/kube/informer.js';
import { objectKey } from '../../operator/src/kube/object-cache.js';
import { WorkQueue } from '../../operator/src/kube/workqueue.js';
import { silentLogger } from '../../operator/src/telemetry/logger.js';
import {
  applyDeployments,
  benchCluster,
  createNamespace,
  kubeConfig,
  printTable,
  saveResult,
  sleep,
} from './support.js';

const n = Number(process.env.BENCH_N ?? 200);
const reconcileMs = Number(process.env.BENCH_RECONCILE_MS ?? 20);

class Consumer {
  runs = 0;
  maxSameKeyInFlight = 0;
  maxInFlight = 0;
  private readonly inFlight = new Map<string, number>();
  private total = 0;
  lastRunEndedAt = 0;

  async reconcile(key: string): Promise<void> {
    this.runs++;
    const same = (this.inFlight.get(key) ?? 0) + 1;
    this.inFlight.set(key, same);
    this.total++;
    this.maxSameKeyInFlight = Math.max(this.maxSameKeyInFlight, same);
    this.maxInFlight = Math.max(this.maxInFlight, this.total);
    await sleep(reconcileMs);
    this.inFlight.set(key, this.inFlight.get(key)! - 1);
    this.total--;
    this.lastRunEndedAt = performance.now();
  }
}

async function main(): Promise<void> {
  const cluster = await benchCluster();
  const result: Record<string, unknown> = { deployments: n, reconcileMs };
  try {
    const kc = kubeConfig();
    const ns = await createNamespace(kc, 'queue');
    const informer = new Informer<k8s.V1Deployment>({
      name: 'deployments',
      kubeConfig: kc,
      resource: { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments' },
      namespaces: [ns],
      logger: silentLogger(),
      registry: new Registry(),
    });
    const replicaSets = new Informer<k8s.V1ReplicaSet>({
      name: 'replicasets',
      kubeConfig: kc,
      resource: { apiVersion: 'apps/v1', kind: 'ReplicaSet', plural: 'replicasets' },
      namespaces: [ns],
      logger: silentLogger(),
      registry: new Registry(),
    });
    await informer.start();
    await replicaSets.start();
    const queued = new Consumer();
    const direct = new Consumer();
    const queue = new WorkQueue({ name: 'bench', logger: silentLogger(), registry: new Registry() });
    queue.start((key) => queued.reconcile(key), 4);
    let events = 0;
    const keys = new Set<string>();
    const eventTimes = new Map<string, number[]>();
    const onEvent = (obj: k8s.V1Deployment) => {
      events++;
      const key = objectKey(obj);
      keys.add(key);
      eventTimes.set(key, [...(eventTimes.get(key) ?? []), performance.now()]);
      queue.add(key);
      void direct.reconcile(key);
    };
    informer.on('add', onEvent);
    informer.on('update', onEvent);
    informer.on('delete', onEvent);
    // As the operator maps its owned objects to their owner's key, ReplicaSet events count for their Deployment.
    const toOwner = (rs: k8s.V1ReplicaSet) =>
      onEvent({ metadata: { namespace: ns, name: rs.metadata?.ownerReferences?.[0]?.name } });
    replicaSets.on('add', toOwner);
    replicaSets.on('update', toOwner);
    replicaSets.on('delete', toOwner);
    const t0 = performance.now();
    await applyDeployments(kc, ns, n);
    // Wait for the controller manager to finish with them: no event for 5 s.
    let seen = -1;
    while (seen !== events) {
      seen = events;
      await sleep(5000);
    }
    await queue.shutDown({ timeoutMs: 30_000 });
    await informer.stop();
    await replicaSets.stop();
    result.events = events;
    const all = [...eventTimes.values()].flat().sort((a, b) => a - b);
    const gaps = [...eventTimes.values()].flatMap((ts) => ts.slice(1).map((t, i) => t - ts[i]!));
    gaps.sort((a, b) => a - b);
    result.eventsSpanMs = Math.round(all[all.length - 1]! - all[0]!);
    result.gapBetweenEventsOfOneKeyMs = {
      p10: Math.round(gaps[Math.floor(gaps.length * 0.1)] ?? 0),
      p50: Math.round(gaps[Math.floor(gaps.length * 0.5)] ?? 0),
      p90: Math.round(gaps[Math.floor(gaps.length * 0.9)] ?? 0),
    };
    result.keys = keys.size;
    for (const [name, c] of [
      ['workqueue (4 workers)', queued],
      ['direct (one run per event)', direct],
    ] as const) {
      result[name] = {
        reconciles: c.runs,
        maxConcurrentRunsOfOneKey: c.maxSameKeyInFlight,
        maxConcurrentRuns: c.maxInFlight,
        lastRunEndedAfterMs: Math.round(c.lastRunEndedAt - t0),
      };
    }
    await kc.makeApiClient(k8s.CoreV1Api).deleteNamespace({ name: ns });
  } finally {
    await cluster.stop();
  }
  const row = (name: string) => {
    const r = result[name] as Record<string, number>;
    return [name, r.reconciles!, r.maxConcurrentRunsOfOneKey!, r.maxConcurrentRuns!];
  };
  console.log(
    `${result.events} events for ${result.keys} keys over ${result.eventsSpanMs} ms; gap between events of one key ${JSON.stringify(result.gapBetweenEventsOfOneKeyMs)}`,
  );
  printTable(
    ['consumer', 'reconciles', 'max concurrent runs of one key', 'max concurrent runs'],
    [row('workqueue (4 workers)'), row('direct (one run per event)')],
  );
  await saveResult(`workqueue-${reconcileMs}ms`, result);
  process.exit(0);
}

await main();
