/**
 * Memory and sync time of a cache of N real Deployments (the operator's own desired Deployments, applied with
 * server-side apply, so they carry managedFields as in production), held by:
 *   project        the project's Informer (operator/src/kube/informer.ts), no transform
 *   project-strip  the same with stripManagedFields, as the operator configures it
 *   cn-typed       client-node 1.4's makeInformer with the typed list call (AppsV1Api.listNamespacedDeployment)
 *   cn-plain       client-node 1.4's makeInformer with a plain-JSON list function (kubeRequest)
 * Each variant runs in its own `node --expose-gc` process; heap is read after forced GCs and a baseline process
 * (same imports, no cache) is subtracted.
 *
 *   npx tsx bench/kube/informer-memory.ts            (BENCH_SIZES=500,2000 by default)
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { kubeRequest } from '../../operator/src/kube/http.js';
import { Informer, stripManagedFields } from '../../operator/src/kube/informer.js';
import { silentLogger } from '../../operator/src/telemetry/logger.js';
import {
  benchCluster,
  createNamespace,
  applyDeployments,
  kubeConfig,
  memoryAfterGc,
  printTable,
  saveResult,
  sleep,
} from './support.js';

const variants = ['baseline', 'project', 'project-strip', 'cn-typed', 'cn-plain'] as const;
type Variant = (typeof variants)[number];

interface ChildResult {
  variant: Variant;
  objects: number;
  syncMs: number;
  heapUsedMb: number;
  rssMb: number;
  externalMb: number;
  /** typeof metadata.creationTimestamp of a cached object: 'string' (API JSON) or 'object' (a Date). */
  timestampType: string;
  /** Whether a cached object is a class instance (V1Deployment) rather than a plain object. */
  classInstance: boolean;
}

async function child(variant: Variant, namespace: string, expected: number): Promise<void> {
  const kc = kubeConfig();
  const path = `/apis/apps/v1/namespaces/${namespace}/deployments`;
  let list: () => readonly k8s.V1Deployment[] = () => [];
  let stop: () => Promise<void> = async () => undefined;
  const t0 = performance.now();
  if (variant === 'project' || variant === 'project-strip') {
    const informer = new Informer<k8s.V1Deployment>({
      name: 'deployments',
      kubeConfig: kc,
      resource: { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments' },
      namespaces: [namespace],
      logger: silentLogger(),
      registry: new Registry(),
      transform: variant === 'project-strip' ? stripManagedFields : undefined,
    });
    await informer.start();
    list = () => informer.list();
    stop = () => informer.stop();
  } else if (variant === 'cn-typed' || variant === 'cn-plain') {
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const listFn =
      variant === 'cn-typed'
        ? () => apps.listNamespacedDeployment({ namespace })
        : async () => (await kubeRequest(kc, { path })) as k8s.V1DeploymentList;
    const informer = k8s.makeInformer<k8s.V1Deployment>(kc, path, listFn);
    await informer.start();
    list = () => informer.list();
    stop = () => informer.stop();
  }
  const syncMs = performance.now() - t0;
  await sleep(2000); // let watch start-up settle
  const mem = await memoryAfterGc();
  const objects = list();
  const first = objects[0];
  const result: ChildResult = {
    variant,
    objects: objects.length,
    syncMs: Math.round(syncMs),
    ...mem,
    timestampType: first ? typeof first.metadata?.creationTimestamp : '-',
    classInstance: first ? first.constructor !== Object : false,
  };
  if (variant !== 'baseline' && objects.length !== expected)
    throw new Error(`${variant}: ${objects.length} objects, expected ${expected}`);
  await stop();
  console.log(JSON.stringify(result));
  process.exit(0);
}

async function main(): Promise<void> {
  const sizes = (process.env.BENCH_SIZES ?? '500,2000').split(',').map(Number);
  const cluster = await benchCluster();
  const rows: (string | number)[][] = [];
  const results: Record<string, unknown>[] = [];
  try {
    const kc = kubeConfig();
    for (const n of sizes) {
      const ns = await createNamespace(kc, `mem${n}`);
      const t0 = performance.now();
      await applyDeployments(kc, ns, n);
      console.error(`created ${n} Deployments in ${Math.round(performance.now() - t0)} ms`);
      await sleep(5000); // the deployment controller writes status and ReplicaSets: let it settle
      const raw = (await kubeRequest(kc, { path: `/apis/apps/v1/namespaces/${ns}/deployments` })) as {
        items: k8s.V1Deployment[];
      };
      const jsonBytes = JSON.stringify(raw.items).length;
      const strippedBytes = JSON.stringify(raw.items.map(stripManagedFields)).length;
      const byVariant: Record<string, ChildResult> = {};
      for (const variant of variants) {
        const r = spawnSync(
          process.execPath,
          ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), 'child', variant, ns, String(n)],
          { env: process.env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
        );
        if (r.status !== 0) throw new Error(`${variant} failed:\n${r.stderr}`);
        byVariant[variant] = JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
      }
      const base = byVariant.baseline!;
      for (const variant of variants.slice(1)) {
        const v = byVariant[variant]!;
        const heap = v.heapUsedMb - base.heapUsedMb;
        const rss = v.rssMb - base.rssMb;
        rows.push([
          n,
          variant,
          v.syncMs,
          heap.toFixed(1),
          Math.round((heap * 1024 * 1024) / n),
          rss.toFixed(1),
          v.timestampType,
          String(v.classInstance),
        ]);
      }
      results.push({
        objects: n,
        jsonBytesPerObject: Math.round(jsonBytes / n),
        jsonBytesPerObjectWithoutManagedFields: Math.round(strippedBytes / n),
        variants: byVariant,
      });
      console.error(
        `JSON per object: ${Math.round(jsonBytes / n)} B, without managedFields ${Math.round(strippedBytes / n)} B`,
      );
      await kc.makeApiClient(k8s.CoreV1Api).deleteNamespace({ name: ns });
    }
  } finally {
    await cluster.stop();
  }
  printTable(
    [
      'N',
      'variant',
      'sync ms',
      'heap MB (minus baseline)',
      'heap B/object',
      'RSS MB (minus baseline)',
      'timestamps',
      'class instances',
    ],
    rows,
  );
  await saveResult('informer-memory', { results });
}

if (process.argv[2] === 'child') {
  await child(process.argv[3] as Variant, process.argv[4]!, Number(process.argv[5]));
} else {
  await main();
}
