/**
 * The informer against a real kube-apiserver: real ConfigMaps, real watches, real failures (a TCP proxy
 * that drops and refuses connections, a ServiceAccount without RBAC), plus client-node's Watch over a
 * scripted HTTP server for the protocol details a healthy cluster does not show on demand (410, 5xx,
 * a stream cut mid-event).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { Informer, type InformerOptions } from '../../operator/src/kube/informer.js';
import type { ResourceKind } from '../../operator/src/kube/resource.js';
import { TcpProxy } from '../../operator/src/kube/testing/tcp-proxy.js';
import { kubeTransport, type InformerTransport } from '../../operator/src/kube/transport.js';
import { silentLogger } from '../../operator/src/telemetry/logger.js';
import { createNamespace, eventually, kubeConfig, kubectlOk, viaProxy } from '../support/cluster.js';

const configmaps: ResourceKind = { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps' };
const core = () => kubeConfig().makeApiClient(k8s.CoreV1Api);
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Recorded {
  events: string[];
  restartsByReason(): Promise<Record<string, number>>;
}

/** An informer on ConfigMaps whose events (for names starting with "cm-") are recorded as strings. */
function informer(options: Partial<InformerOptions<k8s.V1ConfigMap>>): Informer<k8s.V1ConfigMap> & Recorded {
  const registry = new Registry();
  const inf = new Informer<k8s.V1ConfigMap>({
    name: 'configmaps',
    kubeConfig: kubeConfig(),
    resource: configmaps,
    logger: silentLogger(),
    registry,
    ...options,
  });
  const events: string[] = [];
  const mine = (o: k8s.V1ConfigMap) => o.metadata?.name?.startsWith('cm-');
  const name = (o: k8s.V1ConfigMap) => `${o.metadata?.namespace}/${o.metadata?.name}`;
  inf.on('add', (o) => void (mine(o) && events.push(`add ${name(o)}`)));
  inf.on(
    'update',
    (o, old) => void (mine(o) && events.push(`update ${name(o)} ${old.data?.v}->${o.data?.v}`)),
  );
  inf.on('delete', (o) => void (mine(o) && events.push(`delete ${name(o)}`)));
  cleanups.push(() => inf.stop());
  return Object.assign(inf, {
    events,
    async restartsByReason() {
      const metric = await registry.getSingleMetric('modelship_operator_watch_restarts_total')!.get();
      return Object.fromEntries(metric.values.map((v) => [String(v.labels.reason), v.value]));
    },
  });
}

async function put(
  namespace: string,
  name: string,
  v: string,
  labels?: Record<string, string>,
): Promise<void> {
  const api = core();
  try {
    const current = await api.readNamespacedConfigMap({ name, namespace });
    current.data = { v };
    if (labels) current.metadata!.labels = labels;
    await api.replaceNamespacedConfigMap({ name, namespace, body: current });
  } catch (err) {
    if ((err as { code?: number }).code !== 404) throw err;
    await api.createNamespacedConfigMap({ namespace, body: { metadata: { name, labels }, data: { v } } });
  }
}

const remove = (namespace: string, name: string) => core().deleteNamespacedConfigMap({ name, namespace });

/** Wraps a transport to count the lists and record the resourceVersion each watch starts from. */
function counted<T>(inner: InformerTransport<T>) {
  const calls = { lists: 0, watchesFrom: [] as string[] };
  const transport: InformerTransport<T> = {
    list: (req) => {
      if (!req.continueToken) calls.lists++;
      return inner.list(req);
    },
    watch: (req, onEvent, onDone) => {
      calls.watchesFrom.push(req.resourceVersion);
      return inner.watch(req, onEvent, onDone);
    },
  };
  return { transport, calls };
}

describe('Informer on a real API server', () => {
  let ns: string;
  beforeAll(async () => {
    ns = await createNamespace('informer');
  }, 30_000);

  it('lists what exists, then reports creates, updates and deletes as events and in its cache', async () => {
    await put(ns, 'cm-before', '1');
    const inf = informer({ namespaces: [ns] });
    await inf.start();
    expect(inf.hasSynced()).toBe(true);
    expect(inf.get(ns, 'cm-before')?.data).toEqual({ v: '1' });
    expect(inf.events).toEqual([`add ${ns}/cm-before`]);

    await put(ns, 'cm-new', '1');
    await eventually(async () => inf.get(ns, 'cm-new'));
    await put(ns, 'cm-new', '2');
    await eventually(async () => inf.get(ns, 'cm-new')?.data?.v === '2');
    await remove(ns, 'cm-before');
    await eventually(async () => inf.get(ns, 'cm-before') === undefined);
    expect(inf.events).toEqual([
      `add ${ns}/cm-before`,
      `add ${ns}/cm-new`,
      `update ${ns}/cm-new 1->2`,
      `delete ${ns}/cm-before`,
    ]);
    expect(
      inf
        .list(ns)
        .map((o) => o.metadata?.name)
        .filter((n) => n?.startsWith('cm-')),
    ).toEqual(['cm-new']);
  }, 30_000);

  it('caches only the namespaces and labels asked for, and follows objects into and out of the selector', async () => {
    const [a, b, c] = await Promise.all([
      createNamespace('sel-a'),
      createNamespace('sel-b'),
      createNamespace('sel-c'),
    ]);
    await put(a, 'cm-a1', '1', { pick: 'yes' });
    await put(a, 'cm-a2', '1', { pick: 'no' });
    await put(b, 'cm-b1', '1', { pick: 'yes' });
    await put(c, 'cm-c1', '1', { pick: 'yes' });
    const inf = informer({ namespaces: [a, b], labelSelector: 'pick=yes' });
    const everywhere = informer({ labelSelector: 'pick=yes' });
    await Promise.all([inf.start(), everywhere.start()]);
    const keys = (i: Informer<k8s.V1ConfigMap>) =>
      i
        .list()
        .filter((o) => [a, b, c].includes(o.metadata!.namespace!))
        .map((o) => `${o.metadata?.namespace}/${o.metadata?.name}`)
        .sort();
    expect(keys(inf)).toEqual([`${a}/cm-a1`, `${b}/cm-b1`]);
    expect(keys(everywhere)).toEqual([`${a}/cm-a1`, `${b}/cm-b1`, `${c}/cm-c1`]);

    await put(b, 'cm-b2', '1', { pick: 'yes' });
    await put(c, 'cm-c2', '1', { pick: 'yes' });
    await put(a, 'cm-a1', '2', { pick: 'no' }); // leaves the selector: a delete
    await put(a, 'cm-a2', '2', { pick: 'yes' }); // enters it: an add
    const settled = (i: Informer<k8s.V1ConfigMap>, expected: string[]) =>
      eventually(async () => keys(i).join() === expected.join(), 10_000).catch(() => {
        throw new Error(`cache holds ${keys(i).join()}, expected ${expected.join()}`);
      });
    await settled(everywhere, [`${a}/cm-a2`, `${b}/cm-b1`, `${b}/cm-b2`, `${c}/cm-c1`, `${c}/cm-c2`]);
    await settled(inf, [`${a}/cm-a2`, `${b}/cm-b1`, `${b}/cm-b2`]);
    expect(
      inf
        .list(b)
        .map((o) => o.metadata?.name)
        .sort(),
    ).toEqual(['cm-b1', 'cm-b2']);
    expect(inf.events.slice(2).sort()).toEqual([`add ${a}/cm-a2`, `add ${b}/cm-b2`, `delete ${a}/cm-a1`]);
  }, 30_000);

  it('resumes watches the server closes (timeoutSeconds) without missing or repeating an event', async () => {
    const target = await createNamespace('resume');
    const { transport, calls } = counted(kubeTransport<k8s.V1ConfigMap>(kubeConfig(), configmaps));
    const inf = informer({ namespaces: [target], transport, watchTimeoutSeconds: 1, watchTimeoutJitter: 0 });
    await inf.start();
    const names = Array.from({ length: 30 }, (_, i) => `cm-${String(i).padStart(2, '0')}`);
    for (const name of names) {
      await put(target, name, '1');
      await new Promise((r) => setTimeout(r, 120));
    }
    await eventually(async () => names.every((n) => inf.get(target, n)));
    const restarts = await inf.restartsByReason();
    expect(restarts.expired).toBeGreaterThanOrEqual(2);
    expect(Object.keys(restarts)).toEqual(['expired']);
    expect(calls.lists).toBe(1); // resumed from the last resourceVersion each time, never listed again
    expect(calls.watchesFrom.length).toBeGreaterThanOrEqual(3);
    expect(inf.events).toEqual(names.map((n) => `add ${target}/${n}`));
  }, 60_000);

  it('survives cut connections and refused connections, catching up from where it was', async () => {
    const target = await createNamespace('netfail');
    const server = new URL(kubeConfig().getCurrentCluster()!.server);
    const proxy = await TcpProxy.start(server.hostname, Number(server.port));
    cleanups.push(() => proxy.close());
    const { transport, calls } = counted(kubeTransport<k8s.V1ConfigMap>(viaProxy(proxy.port), configmaps));
    const inf = informer({ namespaces: [target], transport });
    await put(target, 'cm-x', '1');
    await inf.start();

    proxy.cut(); // the watch stream breaks mid-flight
    await put(target, 'cm-y', '1');
    await eventually(async () => inf.get(target, 'cm-y'));

    await proxy.refuse(); // and now the API server is unreachable for a while
    await put(target, 'cm-x', '2');
    await put(target, 'cm-z', '1');
    await remove(target, 'cm-y');
    await eventually(async () => ((await inf.restartsByReason()).network ?? 0) >= 3, 20_000);
    expect(inf.get(target, 'cm-z')).toBeUndefined();
    await proxy.accept();
    await eventually(async () => inf.get(target, 'cm-z') && !inf.get(target, 'cm-y'), 40_000);
    expect(inf.get(target, 'cm-x')?.data?.v).toBe('2');
    expect(calls.lists).toBe(1);
    expect(inf.events).toEqual([
      `add ${target}/cm-x`,
      `add ${target}/cm-y`,
      `update ${target}/cm-x 1->2`,
      `add ${target}/cm-z`,
      `delete ${target}/cm-y`,
    ]);
  }, 90_000);

  it('keeps retrying a 403 with backoff and syncs once RBAC allows it', async () => {
    const target = await createNamespace('rbac');
    await kubectlOk(['create', 'serviceaccount', 'reader', '-n', target]);
    const token = (await kubectlOk(['create', 'token', 'reader', '-n', target, '--duration=1h'])).trim();
    await put(target, 'cm-secret', '1');
    const inf = informer({ namespaces: [target], kubeConfig: withToken(token) });
    let synced = false;
    const started = inf.start().then(() => (synced = true));
    await eventually(async () => ((await inf.restartsByReason()).forbidden ?? 0) >= 3, 20_000);
    expect(synced).toBe(false);
    await kubectlOk([
      'create',
      'role',
      'cm-reader',
      '-n',
      target,
      '--verb=list,watch',
      '--resource=configmaps',
    ]);
    await kubectlOk([
      'create',
      'rolebinding',
      'cm-reader',
      '-n',
      target,
      '--role=cm-reader',
      `--serviceaccount=${target}:reader`,
    ]);
    await started;
    expect(inf.get(target, 'cm-secret')?.data?.v).toBe('1');
  }, 60_000);
});

function withToken(token: string): k8s.KubeConfig {
  const base = kubeConfig();
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: base.clusters,
    users: [{ name: 'reader', token }],
    contexts: [{ name: 'reader', cluster: base.getCurrentCluster()!.name, user: 'reader' }],
    currentContext: 'reader',
  });
  return kc;
}

/**
 * client-node's Watch and our list code over real HTTP, against a server that follows a script: what the
 * transport sends (bookmarks asked for, timeout, resourceVersion, pages) and how 410, 5xx and a stream cut
 * mid-event come back.
 */
describe('Informer transport over HTTP', () => {
  type Step = (req: IncomingMessage, res: ServerResponse, url: URL) => void;
  let server: Server;
  let steps: Step[];
  const requests: URL[] = [];
  const cm = (name: string, rv: string) => ({
    metadata: { namespace: 's', name, resourceVersion: rv },
    data: { v: rv },
  });
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const line = (res: ServerResponse, type: string, object: unknown) =>
    res.write(JSON.stringify({ type, object }) + '\n');

  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      requests.push(url);
      const step = steps.shift();
      if (step) step(req, res, url);
      else res.writeHead(200, { 'Content-Type': 'application/json' }); // an idle watch
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('asks for bookmarks, pages, follows bookmarks, relists on 410 and backs off on 5xx and cut streams', async () => {
    const port = (server.address() as { port: number }).port;
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'scripted', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'scripted', cluster: 'scripted', user: 'u' }],
      currentContext: 'scripted',
    });
    steps = [
      (_q, res) =>
        json(res, 200, { metadata: { resourceVersion: '10', continue: 'page2' }, items: [cm('cm-a', '5')] }),
      (_q, res) => json(res, 200, { metadata: { resourceVersion: '10' }, items: [cm('cm-b', '6')] }),
      (_q, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        line(res, 'ADDED', cm('cm-c', '11'));
        line(res, 'BOOKMARK', { metadata: { resourceVersion: '20' } });
        res.end();
      },
      (_q, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        line(res, 'ERROR', {
          kind: 'Status',
          code: 410,
          reason: 'Expired',
          message: 'too old resource version',
        });
        res.end();
      },
      (_q, res) =>
        json(res, 200, { metadata: { resourceVersion: '30' }, items: [cm('cm-a', '5'), cm('cm-c', '25')] }),
      (_q, res) => json(res, 503, { kind: 'Status', code: 503, message: 'etcd is sad' }),
      (_q, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        line(res, 'ADDED', cm('cm-d', '31'));
        res.write('{"type":"MODIFIED","object":{"metad'); // and the connection dies mid-event
        setTimeout(() => res.socket?.destroy(), 50);
      },
    ];
    const inf = informer({
      kubeConfig: kc,
      resource: configmaps,
      namespaces: ['s'],
      pageSize: 1,
      watchTimeoutSeconds: 60,
      watchTimeoutJitter: 0,
    });
    await inf.start();
    await eventually(async () => requests.length >= 8, 10_000);
    await eventually(async () => inf.get('s', 'cm-d'));
    const watches = requests.filter((u) => u.searchParams.get('watch') === 'true');
    const lists = requests.filter((u) => u.searchParams.get('watch') !== 'true');
    expect(
      lists.map((u) => [u.pathname, u.searchParams.get('limit'), u.searchParams.get('continue')]),
    ).toEqual([
      ['/api/v1/namespaces/s/configmaps', '1', null],
      ['/api/v1/namespaces/s/configmaps', '1', 'page2'],
      ['/api/v1/namespaces/s/configmaps', '1', null],
    ]);
    for (const w of watches) {
      expect(w.searchParams.get('allowWatchBookmarks')).toBe('true');
      expect(w.searchParams.get('timeoutSeconds')).toBe('60');
    }
    // From the list, then from the bookmark, then from the relist, then (5xx) again, then from cm-d's event.
    expect(watches.map((w) => w.searchParams.get('resourceVersion'))).toEqual(['10', '20', '30', '30', '31']);
    expect(inf.events).toEqual([
      'add s/cm-a',
      'add s/cm-b',
      'add s/cm-c',
      'delete s/cm-b',
      'update s/cm-c 11->25',
      'add s/cm-d',
    ]);
    expect(await inf.restartsByReason()).toEqual({ expired: 1, gone: 1, http_5xx: 1, network: 1 });
  }, 30_000);
});
