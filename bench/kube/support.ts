/**
 * Shared pieces of the bench/kube measurements behind docs/decisions/: a control plane (reused from
 * MODELSHIP_CLUSTER_DIR when one runs there, else an ephemeral one), a TLS proxy that counts every request a
 * client makes (discovery included), a TCP proxy that can freeze its connections, and small output helpers.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import * as https from 'node:https';
import { createConnection, createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import * as prettier from 'prettier';
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import { launchCluster, stopCluster } from '../../cluster/src/launcher.js';
import { readState } from '../../cluster/src/state.js';
import { kubeConfig, viaProxy, repoRoot } from '../../test/support/cluster.js';
import { desiredDeployment, desiredRevisionService } from '../../operator/src/desired/index.js';
import { md } from '../../operator/src/testing/fixtures.js';
import { kubeRequest } from '../../operator/src/kube/http.js';

export { kubeConfig, viaProxy, repoRoot };

export interface BenchCluster {
  dir: string;
  kubeconfig: string;
  server: string;
  stop(): Promise<void>;
}

/**
 * The control plane of `MODELSHIP_CLUSTER_DIR` when it is up (left running afterwards), else a new ephemeral
 * one owned by this process. Sets KUBECONFIG so that the test/support helpers find it.
 */
export async function benchCluster(): Promise<BenchCluster> {
  const reuse = process.env.MODELSHIP_CLUSTER_DIR;
  const state = reuse ? readState(reuse) : undefined;
  if (state?.status === 'ready' && state.kubeconfig && state.server) {
    process.env.KUBECONFIG = state.kubeconfig;
    return {
      dir: state.dir,
      kubeconfig: state.kubeconfig,
      server: state.server,
      stop: async () => undefined,
    };
  }
  const started = await launchCluster({ ownerPid: process.pid, ephemeral: true });
  process.env.KUBECONFIG = started.kubeconfig!;
  return {
    dir: started.dir,
    kubeconfig: started.kubeconfig!,
    server: started.server!,
    stop: async () => void (await stopCluster(started.dir)),
  };
}

export async function createNamespace(kc: k8s.KubeConfig, prefix: string): Promise<string> {
  const name = `${prefix}-${Math.random().toString(16).slice(2, 8)}`;
  await kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name } } });
  return name;
}

export interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  status?: number;
}

/** What a request is, for counting: discovery, list, watch, get, apply, apply-dry-run, create, ... */
export function classify(r: SeenRequest): string {
  const p = r.path;
  if (
    r.method === 'GET' &&
    (/^\/apis?\/?$/.test(p) || /^\/api\/v1\/?$/.test(p) || /^\/apis\/[^/]+(\/[^/]+)?\/?$/.test(p))
  )
    return 'discovery';
  if (r.method === 'GET' && r.query.get('watch') === 'true') return 'watch';
  if (r.method === 'GET') {
    // /api/v1/namespaces/ns/things (list) vs /api/v1/namespaces/ns/things/name (get)
    const parts = p.replace(/^\/apis?\//, '').split('/');
    const afterVersion = p.startsWith('/api/') ? parts.slice(1) : parts.slice(2);
    const rest =
      afterVersion[0] === 'namespaces' && afterVersion.length > 2 ? afterVersion.slice(2) : afterVersion;
    return rest.length <= 1 ? 'list' : 'get';
  }
  if (r.method === 'PATCH') {
    const dry = r.query.get('dryRun') ? '-dry-run' : '';
    return `patch${dry}`;
  }
  return { POST: 'create', PUT: 'update', DELETE: 'delete' }[r.method] ?? r.method;
}

/**
 * A TLS proxy in front of the API server that records every request (method, path, query, status). It serves
 * with the cluster's own apiserver certificate (valid for 127.0.0.1) and forwards with the admin client
 * certificate, so a KubeConfig from `viaProxy(proxy.port)` works unchanged. Watches stream through.
 */
export class CountingProxy {
  readonly requests: SeenRequest[] = [];
  /** TLS connections clients opened to the proxy. */
  connections = 0;
  private server?: https.Server;
  port = 0;

  private constructor(private readonly upstream: URL) {}

  static async start(clusterDir: string, upstreamServer: string): Promise<CountingProxy> {
    const proxy = new CountingProxy(new URL(upstreamServer));
    const pki = join(clusterDir, 'pki');
    const upstreamTls = {
      ca: readFileSync(join(pki, 'ca.crt')),
      cert: readFileSync(join(pki, 'admin.crt')),
      key: readFileSync(join(pki, 'admin.key')),
    };
    const agent = new https.Agent({ ...upstreamTls, keepAlive: true });
    const server = https.createServer(
      { cert: readFileSync(join(pki, 'apiserver.crt')), key: readFileSync(join(pki, 'apiserver.key')) },
      (req, res) => {
        const url = new URL(req.url ?? '/', 'https://proxy');
        const seen: SeenRequest = {
          method: req.method ?? 'GET',
          path: url.pathname,
          query: url.searchParams,
        };
        proxy.requests.push(seen);
        const headers = { ...req.headers };
        delete headers.host;
        const up = https.request(
          {
            host: proxy.upstream.hostname,
            port: proxy.upstream.port,
            method: req.method,
            path: req.url,
            headers,
            agent,
          },
          (upRes) => {
            seen.status = upRes.statusCode;
            res.writeHead(upRes.statusCode ?? 502, upRes.headers);
            upRes.pipe(res);
          },
        );
        up.on('error', () => res.destroy());
        res.on('close', () => up.destroy());
        req.pipe(up);
      },
    );
    server.on('secureConnection', () => proxy.connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy.port = (server.address() as { port: number }).port;
    proxy.server = server;
    return proxy;
  }

  /** Requests since `from` (an index into `requests`), counted by `classify`, failures by status too. */
  counts(from = 0): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.requests.slice(from)) {
      const key = classify(r) + (r.status !== undefined && r.status >= 400 ? ` (${r.status})` : '');
      out[key] = (out[key] ?? 0) + 1;
    }
    return out;
  }

  mark(): number {
    return this.requests.length;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * A TCP forwarder like operator/src/kube/testing/tcp-proxy.ts, plus `freeze()`: the open connections stay
 * up but nothing passes any more in either direction (a frozen middlebox, a lost NAT entry), while new
 * connections work (or hang too: a black hole). Also `cut()` (reset everything) and `refuse()`/`accept()`.
 */
export class FreezableProxy {
  private server?: Server;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket; frozen: boolean }>();
  private blackHole = false;
  port = 0;

  private constructor(
    private readonly host: string,
    private readonly targetPort: number,
  ) {}

  static async start(server: string): Promise<FreezableProxy> {
    const u = new URL(server);
    const proxy = new FreezableProxy(u.hostname, Number(u.port));
    await proxy.accept();
    return proxy;
  }

  async accept(): Promise<void> {
    if (this.server) return;
    const server = createTcpServer((client) => {
      const upstream = createConnection({ host: this.host, port: this.targetPort });
      const pair = { client, upstream, frozen: this.blackHole };
      this.pairs.add(pair);
      client.on('data', (d) => void (pair.frozen || upstream.write(d)));
      upstream.on('data', (d) => void (pair.frozen || client.write(d)));
      for (const s of [client, upstream]) {
        s.on('error', () => undefined);
        s.on('close', () => {
          // A frozen connection stays open on the other side: nothing, not even the close, gets through.
          if (pair.frozen) return;
          this.pairs.delete(pair);
          client.destroy();
          upstream.destroy();
        });
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  /**
   * Open connections from now on pass nothing, silently. New connections are unaffected, unless
   * `newConnectionsToo`: then they are accepted but pass nothing either (a black hole: requests hang).
   */
  freeze(newConnectionsToo = false): void {
    for (const p of this.pairs) p.frozen = true;
    this.blackHole = newConnectionsToo;
  }

  cut(): void {
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
    this.pairs.clear();
  }

  /** New connections are refused and open ones cut, until accept(). */
  async refuse(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.cut();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async close(): Promise<void> {
    await this.refuse();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 50 ms; resolves with the time it took, or undefined after `timeoutMs`. */
export async function timeUntil(check: () => boolean, timeoutMs: number): Promise<number | undefined> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (check()) return performance.now() - t0;
    await sleep(50);
  }
  return check() ? performance.now() - t0 : undefined;
}

/** Runs `fn` on up to `concurrency` items at a time. */
export async function inParallel<T>(items: T[], concurrency: number, fn: (item: T) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** Prints rows as an aligned Markdown table. */
export function printTable(header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const w = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`);
  for (const r of cells.slice(1)) console.log(line(r));
}

/** Saves a result as bench/kube/results/<name>.json (kept in git: the decision records cite them). */
export async function saveResult(name: string, result: unknown): Promise<void> {
  const dir = join(repoRoot, 'bench/kube/results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  const json = JSON.stringify({
    date: new Date().toISOString(),
    node: process.version,
    ...(result as object),
  });
  // Formatted as `make lint` expects.
  writeFileSync(
    file,
    await prettier.format(json, { ...(await prettier.resolveConfig(file)), parser: 'json' }),
  );
}

export const ms = (n: number | undefined) => (n === undefined ? 'never' : `${Math.round(n)} ms`);

/**
 * What the operator applies for model `name` in `namespace` (its real desired Deployment and revision
 * Service), without the owner reference: there is no ModelDeployment here, and the garbage collector would
 * delete objects whose owner does not exist.
 */
export function desiredFor(
  namespace: string,
  name: string,
): { deployment: V1Deployment; service: V1Service } {
  const m = md({}, name);
  m.metadata.namespace = namespace;
  const deployment = desiredDeployment(m, 'r1', 'registry.local/modelship-server:1');
  const service = desiredRevisionService(m, 'r1');
  for (const o of [deployment, service]) delete o.metadata!.ownerReferences;
  return { deployment, service };
}

/** Heap and RSS after a full garbage collection (the process must run with --expose-gc). */
export async function memoryAfterGc(): Promise<{ heapUsedMb: number; rssMb: number; externalMb: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 4; i++) {
    gc();
    await sleep(50);
  }
  const m = process.memoryUsage();
  const mb = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10;
  return { heapUsedMb: mb(m.heapUsed), rssMb: mb(m.rss), externalMb: mb(m.external) };
}

/** Applies the desired Deployments of models m-0 … m-(n-1) with server-side apply, as the operator does. */
export async function applyDeployments(kc: k8s.KubeConfig, namespace: string, n: number): Promise<void> {
  await inParallel(
    Array.from({ length: n }, (_, i) => i),
    16,
    async (i) => {
      const { deployment } = desiredFor(namespace, `m-${i}`);
      await kubeRequest(kc, {
        method: 'PATCH',
        path: `/apis/apps/v1/namespaces/${namespace}/deployments/${deployment.metadata!.name}`,
        query: { fieldManager: 'modelship-operator', force: true },
        contentType: 'application/apply-patch+yaml',
        body: deployment,
      });
    },
  );
}
