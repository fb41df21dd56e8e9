/**
 * Requests per apply and per steady-state reconcile, counted by a TLS proxy in front of a real API server
 * (discovery included), for:
 *   project       the Applier (operator/src/kube/applier.ts) over KubeClient (kubeRequest, fixed paths)
 *   cn-naive      client-node 1.4's KubernetesObjectApi.patch(…, PatchStrategy.ServerSideApply) on every reconcile
 *   cn-applier    the project's Applier, with KubeClient.apply replaced by KubernetesObjectApi.patch (typed
 *                 responses), to see whether its fingerprints survive client-node's deserialisation
 * and the Event recorder (operator/src/kube/events.ts) vs one CoreV1Api.createNamespacedEvent per occurrence.
 * Objects: the operator's real desired Deployment and revision Service for BENCH_MODELS models (default 50).
 *
 *   npx tsx bench/kube/apply-requests.ts
 */
import * as k8s from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { Applier } from '../../operator/src/kube/applier.js';
import { fieldManager, KubeClient, type ApplyOptions } from '../../operator/src/kube/client.js';
import { EventRecorder, type EventRecord } from '../../operator/src/kube/events.js';

import { kubeRequest } from '../../operator/src/kube/http.js';
import { Informer, stripManagedFields } from '../../operator/src/kube/informer.js';
import { md } from '../../operator/src/testing/fixtures.js';
import { createOperatorMetrics } from '../../operator/src/telemetry/metrics.js';
import { silentLogger } from '../../operator/src/telemetry/logger.js';
import {
  benchCluster,
  CountingProxy,
  createNamespace,
  desiredFor,
  kubeConfig,
  printTable,
  saveResult,
  sleep,
  timeUntil,
  viaProxy,
} from './support.js';

const models = Number(process.env.BENCH_MODELS ?? 50);
const steadyRounds = 5;

type Row = { phase: string; objects: number; requests: Record<string, number>; outcomes?: string };
const rows: Row[] = [];

function record(phase: string, objects: number, requests: Record<string, number>, outcomes?: string): void {
  rows.push({ phase, objects, requests, outcomes });
  console.error(phase, JSON.stringify(requests), outcomes ?? '');
}

const writtenKinds = [
  { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments' },
  { apiVersion: 'v1', kind: 'Service', plural: 'services' },
];

function newKubeClient(kc: k8s.KubeConfig): KubeClient {
  return new KubeClient(kc, writtenKinds, createOperatorMetrics(new Registry(), false).apiRequests);
}

/** KubeClient whose apply goes through client-node's KubernetesObjectApi (typed request and response). */
class ClientNodeApplyClient extends KubeClient {
  constructor(
    kc: k8s.KubeConfig,
    private readonly objects: k8s.KubernetesObjectApi,
  ) {
    super(kc, writtenKinds, createOperatorMetrics(new Registry(), false).apiRequests);
  }
  override async apply<T extends k8s.KubernetesObject>(obj: T, opts: ApplyOptions = {}): Promise<T> {
    return this.objects.patch(
      obj,
      undefined,
      opts.dryRun ? 'All' : undefined,
      fieldManager,
      true,
      k8s.PatchStrategy.ServerSideApply,
    );
  }
}

function ownedInformers(kc: k8s.KubeConfig, namespaces: string[]) {
  const common = {
    kubeConfig: kc,
    namespaces,
    logger: silentLogger(),
    registry: new Registry(),
    labelSelector: 'app.kubernetes.io/managed-by=modelship',
    transform: stripManagedFields,
  };
  return {
    deployments: new Informer<k8s.V1Deployment>({
      ...common,
      name: 'deployments',
      resource: { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments' },
    }),
    services: new Informer<k8s.V1Service>({
      ...common,
      name: 'services',
      resource: { apiVersion: 'v1', kind: 'Service', plural: 'services' },
    }),
  };
}

type Informers = ReturnType<typeof ownedInformers>;

function desiredObjects(ns: string): k8s.KubernetesObject[] {
  return Array.from({ length: models }, (_, i) => desiredFor(ns, `m-${i}`)).flatMap((d) => [
    d.deployment,
    d.service,
  ]);
}

function observed(inf: Informers, o: k8s.KubernetesObject): k8s.KubernetesObject | undefined {
  const cache = o.kind === 'Deployment' ? inf.deployments : inf.services;
  return cache.get(o.metadata!.namespace!, o.metadata!.name!);
}

/** One reconcile of every object through `applier`, with the informers' copies; requests and outcomes. */
async function round(
  applier: Applier,
  inf: Informers,
  desired: k8s.KubernetesObject[],
  proxy: CountingProxy,
) {
  const mark = proxy.mark();
  const outcomes: Record<string, number> = {};
  for (const d of desired) {
    const outcome = await applier.ensure(d, observed(inf, d), 'bench');
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  }
  return { requests: proxy.counts(mark), outcomes: JSON.stringify(outcomes) };
}

/** Waits until the informers hold every desired object and nothing changed for 3 s. */
async function settle(inf: Informers, desired: k8s.KubernetesObject[]): Promise<void> {
  await timeUntil(() => desired.every((d) => observed(inf, d)), 30_000);
  let last = '';
  for (;;) {
    const now = desired.map((d) => observed(inf, d)?.metadata?.resourceVersion).join();
    if (now === last) return;
    last = now;
    await sleep(3000);
  }
}

async function resourceVersions(admin: k8s.KubeConfig, ns: string): Promise<string> {
  const list = (await kubeRequest(admin, { path: `/apis/apps/v1/namespaces/${ns}/deployments` })) as {
    items: k8s.V1Deployment[];
  };
  return list.items.map((d) => d.metadata!.resourceVersion).join();
}

async function projectApplier(admin: k8s.KubeConfig, writes: CountingProxy, inf: Informers, ns: string) {
  const client = newKubeClient(viaProxy(writes.port));
  const desired = desiredObjects(ns);
  let applier = new Applier(client);
  let r = await round(applier, inf, desired, writes);
  record('project: create', desired.length, r.requests, r.outcomes);
  await settle(inf, desired);
  for (let i = 1; i <= steadyRounds; i++) {
    r = await round(applier, inf, desired, writes);
    record(`project: steady reconcile ${i}`, desired.length, r.requests, r.outcomes);
  }
  applier = new Applier(client);
  r = await round(applier, inf, desired, writes);
  record('project: first reconcile after a restart', desired.length, r.requests, r.outcomes);
  r = await round(applier, inf, desired, writes);
  record('project: second reconcile after a restart', desired.length, r.requests, r.outcomes);
  // Drift: someone scales 10 Deployments by hand.
  const apps = admin.makeApiClient(k8s.AppsV1Api);
  const drifted = desired.filter((d) => d.kind === 'Deployment').slice(0, 10);
  for (const d of drifted)
    await apps.patchNamespacedDeployment(
      { name: d.metadata!.name!, namespace: ns, body: { spec: { replicas: 3 } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  await timeUntil(
    () => drifted.every((d) => (observed(inf, d) as k8s.V1Deployment)?.spec?.replicas === 3),
    30_000,
  );
  r = await round(applier, inf, desired, writes);
  record(
    'project: reconcile after 10 Deployments were scaled by hand',
    desired.length,
    r.requests,
    r.outcomes,
  );
  await settle(inf, desired);
  r = await round(applier, inf, desired, writes);
  record('project: next reconcile', desired.length, r.requests, r.outcomes);
}

async function clientNode(admin: k8s.KubeConfig, writes: CountingProxy, inf: Informers, ns: string) {
  const kc = viaProxy(writes.port);
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  const desired = desiredObjects(ns);
  const ssa = (o: k8s.KubernetesObject, api = objects) =>
    api.patch(o, undefined, undefined, fieldManager, true, k8s.PatchStrategy.ServerSideApply);
  let mark = writes.mark();
  for (const d of desired) await ssa(d);
  record('cn-naive: create (one KubernetesObjectApi)', desired.length, writes.counts(mark));
  await settle(inf, desired);
  for (let i = 1; i <= 2; i++) {
    const before = await resourceVersions(admin, ns);
    mark = writes.mark();
    for (const d of desired) await ssa(d);
    const after = await resourceVersions(admin, ns);
    record(
      `cn-naive: steady reconcile ${i} (apply everything)`,
      desired.length,
      writes.counts(mark),
      before === after ? 'no resourceVersion moved' : 'resourceVersions moved',
    );
  }
  mark = writes.mark();
  for (const d of desired.slice(0, 10)) await ssa(d, k8s.KubernetesObjectApi.makeApiClient(kc));
  record('cn-naive: a new KubernetesObjectApi per apply', 10, writes.counts(mark));

  const client = new ClientNodeApplyClient(kc, objects);
  const applier = new Applier(client);
  for (let i = 1; i <= 3; i++) {
    const r = await round(applier, inf, desired, writes);
    record(`cn-applier: reconcile ${i}`, desired.length, r.requests, r.outcomes);
  }
  // Why: the same object, as the watch delivers it and as KubernetesObjectApi returns it.
  const d = desired[0] as k8s.V1Deployment;
  const typed = (await objects.read({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { namespace: ns, name: d.metadata!.name! },
  })) as k8s.V1Deployment;
  const plain = (await kubeRequest(kc, {
    path: `/apis/apps/v1/namespaces/${ns}/deployments/${d.metadata!.name}`,
  })) as k8s.V1Deployment;
  const diff = {
    typedClass: typed.constructor.name,
    typedCreationTimestamp: `${typeof typed.metadata?.creationTimestamp}: ${String(typed.metadata?.creationTimestamp instanceof Date ? typed.metadata.creationTimestamp.toISOString() : typed.metadata?.creationTimestamp)}`,
    plainCreationTimestamp: `${typeof plain.metadata?.creationTimestamp}: ${String(plain.metadata?.creationTimestamp)}`,
    typedJsonEqualsPlainJson: JSON.stringify(typed) === JSON.stringify(plain),
    typedKeysWithUndefined: countUndefined(typed),
    typedTemplateSpecKeys: Object.keys(typed.spec!.template!.spec!).length,
    plainTemplateSpecKeys: Object.keys(plain.spec!.template!.spec!).length,
  };
  console.error(JSON.stringify(diff));
  return diff;
}

function countUndefined(o: unknown): number {
  if (o === null || typeof o !== 'object') return 0;
  let n = 0;
  for (const v of Object.values(o)) n += v === undefined ? 1 : countUndefined(v);
  return n;
}

async function events(admin: k8s.KubeConfig, writes: CountingProxy, ns: string) {
  const client = newKubeClient(viaProxy(writes.port));
  const recorder = new EventRecorder(client, silentLogger());
  const model = md({}, 'ev');
  model.metadata.namespace = ns;
  model.metadata.uid = 'bench-uid';
  const e: EventRecord = { type: 'Normal', reason: 'RolloutStarted', message: 'rolling out revision r1' };
  const core = admin.makeApiClient(k8s.CoreV1Api);
  const eventsOf = async (name: string) =>
    (await core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name}` })).items;

  let mark = writes.mark();
  for (let i = 0; i < 10; i++) await recorder.record(model, e);
  let list = await eventsOf('ev');
  const recorderRow = {
    requests: writes.counts(mark),
    eventObjects: list.length,
    count: list[0]?.count,
  };
  record(
    'EventRecorder: one event 10 times',
    10,
    recorderRow.requests,
    `objects ${list.length}, count ${list[0]?.count}`,
  );
  // The API server deletes Events after --event-ttl (1 h by default): delete it as the TTL would.
  await core.deleteNamespacedEvent({ name: list[0]!.metadata!.name!, namespace: ns });
  mark = writes.mark();
  for (let i = 0; i < 3; i++) await recorder.record(model, e);
  list = await eventsOf('ev');
  const afterExpiry = { requests: writes.counts(mark), eventObjects: list.length };
  record(
    'EventRecorder: same event 3 more times after the Event expired',
    3,
    afterExpiry.requests,
    `objects ${list.length}`,
  );

  const coreProxied = viaProxy(writes.port).makeApiClient(k8s.CoreV1Api);
  mark = writes.mark();
  const now = new Date();
  for (let i = 0; i < 10; i++) {
    await coreProxied.createNamespacedEvent({
      namespace: ns,
      body: {
        metadata: { generateName: 'ev2.' },
        involvedObject: {
          apiVersion: 'modelship.dev/v1alpha1',
          kind: 'ModelDeployment',
          name: 'ev2',
          namespace: ns,
        },
        type: 'Normal',
        reason: 'RolloutStarted',
        message: 'rolling out revision r1',
        source: { component: 'modelship-operator' },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    });
  }
  list = await eventsOf('ev2');
  record(
    'CoreV1Api.createNamespacedEvent: one event 10 times',
    10,
    writes.counts(mark),
    `objects ${list.length}`,
  );
  return { recorderRow, afterExpiry };
}

async function main(): Promise<void> {
  const cluster = await benchCluster();
  let shape: unknown;
  let ev: unknown;
  const reads = await CountingProxy.start(cluster.dir, cluster.server);
  const writes = await CountingProxy.start(cluster.dir, cluster.server);
  try {
    const admin = kubeConfig();
    const nsProject = await createNamespace(admin, 'apply-project');
    const nsClientNode = await createNamespace(admin, 'apply-cn');
    const inf = ownedInformers(viaProxy(reads.port), [nsProject, nsClientNode]);
    await Promise.all([inf.deployments.start(), inf.services.start()]);
    const readsMark = reads.mark();
    const t0 = performance.now();
    await projectApplier(admin, writes, inf, nsProject);
    shape = await clientNode(admin, writes, inf, nsClientNode);
    ev = await events(admin, writes, nsProject);
    const seconds = Math.round((performance.now() - t0) / 1000);
    record(`informers (2 kinds × 2 namespaces) during the ${seconds} s above`, 0, reads.counts(readsMark));
    await inf.deployments.stop();
    await inf.services.stop();
    for (const ns of [nsProject, nsClientNode])
      await admin.makeApiClient(k8s.CoreV1Api).deleteNamespace({ name: ns });
  } finally {
    await reads.close();
    await writes.close();
    await cluster.stop();
  }
  printTable(
    ['phase', 'objects', 'requests', 'outcome'],
    rows.map((r) => [
      r.phase,
      r.objects,
      Object.entries(r.requests)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || '0',
      r.outcomes ?? '',
    ]),
  );
  console.log(JSON.stringify(shape, null, 2));
  await saveResult('apply-requests', { models, rows, typedVsPlain: shape, events: ev });
  process.exit(0);
}

await main();
