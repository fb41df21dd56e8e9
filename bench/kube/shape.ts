/**
 * Requests and object shape: kubeRequest (plain JSON, fixed paths) vs client-node 1.4's typed APIs
 * (AppsV1Api) and KubernetesObjectApi (discovery, then typed). Counted by a TLS proxy in front of a real
 * API server. Also: what typed deserialisation does to an object (classes, Date fields, dropped fields), what a
 * client-node informer fed by a typed list holds after watch events, the query of the watches client-node's
 * informer and the project's Informer open, and the time to list N Deployments.
 *
 *   npx tsx bench/kube/shape.ts        (BENCH_LIST_N=1000 Deployments by default)
 */
import * as https from 'node:https';
import * as k8s from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { kubeRequest } from '../../operator/src/kube/http.js';
import { Informer } from '../../operator/src/kube/informer.js';
import { silentLogger } from '../../operator/src/telemetry/logger.js';
import {
  applyDeployments,
  benchCluster,
  CountingProxy,
  createNamespace,
  kubeConfig,
  printTable,
  saveResult,
  timeUntil,
  viaProxy,
} from './support.js';

const listN = Number(process.env.BENCH_LIST_N ?? 1000);

/** Every key path in `o` ("spec.template.spec.containers[].image"), arrays collapsed. */
function keyPaths(o: unknown, prefix = '', out = new Set<string>()): Set<string> {
  if (Array.isArray(o)) {
    for (const v of o) keyPaths(v, `${prefix}[]`, out);
  } else if (o !== null && typeof o === 'object' && !(o instanceof Date)) {
    for (const [k, v] of Object.entries(o)) {
      if (v === undefined) continue;
      const p = prefix ? `${prefix}.${k}` : k;
      out.add(p);
      // Label, annotation and fieldsV1 keys are data, not schema.
      if (!/(labels|annotations|matchLabels|selector|fieldsV1)$/.test(k)) keyPaths(v, p, out);
    }
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const cluster = await benchCluster();
  const proxy = await CountingProxy.start(cluster.dir, cluster.server);
  const result: Record<string, unknown> = {};
  const requestRows: (string | number)[][] = [];
  try {
    const admin = kubeConfig();
    const ns = await createNamespace(admin, 'shape');
    await applyDeployments(admin, ns, listN);
    const kc = viaProxy(proxy.port);
    const name = 'm-0-r1';
    const path = `/apis/apps/v1/namespaces/${ns}/deployments/${name}`;
    const ref = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { namespace: ns, name } };
    const svcRef = { apiVersion: 'v1', kind: 'Service', metadata: { namespace: ns, name: 'kubernetes' } };

    // 1. Requests for 10 reads of one Deployment (and, for KubernetesObjectApi, 10 of another kind).
    const count = async (label: string, fn: () => Promise<unknown>) => {
      const mark = proxy.mark();
      const connections = proxy.connections;
      for (let i = 0; i < 10; i++) await fn();
      const c = proxy.counts(mark);
      requestRows.push([label, c.get ?? 0, c.discovery ?? 0, proxy.connections - connections]);
    };
    await count('kubeRequest GET', () => kubeRequest(kc, { path }));
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    await count('AppsV1Api.readNamespacedDeployment', () =>
      apps.readNamespacedDeployment({ name, namespace: ns }),
    );
    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    await count('KubernetesObjectApi.read, one instance (Deployment)', () => objects.read(ref));
    await count('the same instance, then a Service (another apiVersion)', () =>
      objects.read({ ...svcRef, metadata: { ...svcRef.metadata, namespace: 'default' } }),
    );
    await count('KubernetesObjectApi.makeApiClient per read', () =>
      k8s.KubernetesObjectApi.makeApiClient(kc).read(ref),
    );

    // kubeConfig.applyToHTTPSOptions builds a new https.Agent for every request, so every kubeRequest opens
    // a new TLS connection. What one shared keep-alive agent would save (median of 100 sequential GETs):
    const keepAlive = viaProxy(proxy.port);
    const applyOptions = keepAlive.applyToHTTPSOptions.bind(keepAlive);
    let agent: https.Agent | undefined;
    keepAlive.applyToHTTPSOptions = async (o) => {
      await applyOptions(o);
      agent ??= new https.Agent({ ...(o.agent as https.Agent).options, keepAlive: true });
      o.agent = agent;
    };
    const perRequest = async (config: k8s.KubeConfig) => {
      const xs: number[] = [];
      const connections = proxy.connections;
      for (let i = 0; i < 100; i++) {
        const t0 = performance.now();
        await kubeRequest(config, { path });
        xs.push(performance.now() - t0);
      }
      return { medianMs: Math.round(median(xs) * 100) / 100, connections: proxy.connections - connections };
    };
    result.getLatency = {
      newAgentPerRequest: await perRequest(kc),
      sharedKeepAliveAgent: await perRequest(keepAlive),
    };
    agent?.destroy();

    // 2. The same object, plain and typed.
    const plain = (await kubeRequest(kc, { path })) as k8s.V1Deployment;
    const typed = await apps.readNamespacedDeployment({ name, namespace: ns });
    const plainPaths = keyPaths(plain);
    const typedPaths = keyPaths(JSON.parse(JSON.stringify(typed)));
    result.typedVsPlain = {
      typedClass: typed.constructor.name,
      plainClass: plain.constructor.name,
      creationTimestamp: {
        plain: plain.metadata?.creationTimestamp,
        typed: String(typed.metadata?.creationTimestamp),
        typedAsJson: JSON.stringify(typed.metadata?.creationTimestamp),
      },
      managedFieldsTimeType: typeof typed.metadata?.managedFields?.[0]?.time,
      jsonIdentical: JSON.stringify(plain) === JSON.stringify(typed),
      keyPathsOnlyInPlain: [...plainPaths].filter((p) => !typedPaths.has(p)),
      keyPathsOnlyInTyped: [...typedPaths].filter((p) => !plainPaths.has(p)),
    };

    // 3. A client-node informer fed by the typed list: what it holds after some watch events.
    const listPath = `/apis/apps/v1/namespaces/${ns}/deployments`;
    const informer = k8s.makeInformer<k8s.V1Deployment>(kc, listPath, () =>
      apps.listNamespacedDeployment({ namespace: ns }),
    );
    const updates: string[] = [];
    informer.on('update', (obj) => updates.push(typeof obj.metadata?.creationTimestamp));
    const watchMark = proxy.mark();
    await informer.start();
    await timeUntil(
      () => proxy.requests.slice(watchMark).some((r) => r.query.get('watch') === 'true'),
      10_000,
    );
    const watchQuery = (from: number) =>
      proxy.requests
        .slice(from)
        .filter((r) => r.query.get('watch') === 'true')
        .map((r) => r.query.toString())[0];
    result.watchQuery = { clientNode: watchQuery(watchMark) };
    for (let i = 0; i < 10; i++)
      await admin
        .makeApiClient(k8s.AppsV1Api)
        .patchNamespacedDeployment(
          { name: `m-${i}-r1`, namespace: ns, body: { metadata: { annotations: { touched: 'yes' } } } },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        );
    await timeUntil(
      () => informer.list().filter((d) => d.metadata?.annotations?.touched === 'yes').length === 10,
      30_000,
    );
    const byType: Record<string, number> = {};
    for (const d of informer.list()) {
      const t = d.metadata?.creationTimestamp instanceof Date ? 'Date' : typeof d.metadata?.creationTimestamp;
      byType[t] = (byType[t] ?? 0) + 1;
    }
    await informer.stop();
    const projectMark = proxy.mark();
    const project = new Informer<k8s.V1Deployment>({
      name: 'deployments',
      kubeConfig: kc,
      resource: { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments' },
      namespaces: [ns],
      logger: silentLogger(),
      registry: new Registry(),
    });
    await project.start();
    await timeUntil(() => watchQuery(projectMark) !== undefined, 10_000);
    (result.watchQuery as Record<string, unknown>).project = watchQuery(projectMark);
    await project.stop();
    result.clientNodeInformerAfter10Updates = { creationTimestampTypes: byType };

    // 4. Listing every Deployment: plain vs typed, wall time and this process's CPU time (median of 7, after
    // one warm-up each). CPU time is what the client spends parsing and deserialising; it depends much less
    // on how busy the API server and the machine are.
    const time = async (fn: () => Promise<unknown>) => {
      await fn();
      const wall: number[] = [];
      const cpu: number[] = [];
      for (let i = 0; i < 7; i++) {
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        await fn();
        const c = process.cpuUsage(c0);
        wall.push(performance.now() - t0);
        cpu.push((c.user + c.system) / 1000);
      }
      return { wallMs: Math.round(median(wall)), clientCpuMs: Math.round(median(cpu)) };
    };
    result.list = {
      objects: listN,
      kubeRequest: await time(() => kubeRequest(admin, { path: listPath })),
      typed: await time(() => admin.makeApiClient(k8s.AppsV1Api).listNamespacedDeployment({ namespace: ns })),
    };
    await admin.makeApiClient(k8s.CoreV1Api).deleteNamespace({ name: ns });
  } finally {
    await proxy.close();
    await cluster.stop();
  }
  printTable(['10 reads with', 'GET requests', 'discovery requests', 'TLS connections'], requestRows);
  console.log(JSON.stringify(result, null, 2));
  await saveResult('shape', { requestsFor10Reads: requestRows, ...result });
  process.exit(0);
}

await main();
