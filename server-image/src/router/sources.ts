/**
 * Where the router's route table comes from, kept up to date without a restart:
 * - in a cluster, its ConfigMap, watched through the Kubernetes API with the pod's ServiceAccount token (a mounted
 *   ConfigMap volume would lag by up to a minute or more: the kubelet's sync period), re-listed after a 410 and
 *   reconnected with backoff after any failure;
 * - outside one (tests, an edge box), a file, polled for changes.
 * A table that does not parse is rejected and the last good one stays in force.
 */
import { readFile, stat } from 'node:fs/promises';
import { request, type RequestOptions } from 'node:https';
import type { Clock } from '../clock.js';
import { ROUTES_KEY, parseRoutes, type RouteTable } from './routes.js';

export interface SourceEvents {
  table(t: RouteTable): void;
  rejected(reason: string): void;
  /** A connection failed or was refused; the source retries by itself. */
  trouble(reason: string): void;
}

export interface RouteSource {
  stop(): void;
}

const sleep = (clock: Clock, ms: number, stopped: () => boolean) =>
  new Promise<void>((resolve) => {
    if (stopped()) return resolve();
    clock.setTimeout(resolve, ms);
  });

/** Polls a file for a new table (by modification time and size). */
export function fileSource(path: string, events: SourceEvents, clock: Clock, pollMs = 250): RouteSource {
  let stopped = false;
  let seen = '';
  void (async () => {
    while (!stopped) {
      try {
        const s = await stat(path);
        const mark = `${s.mtimeMs}/${s.size}`;
        if (mark !== seen) {
          seen = mark;
          const text = await readFile(path, 'utf8');
          try {
            events.table(parseRoutes(text));
          } catch (err) {
            events.rejected((err as Error).message);
          }
        }
      } catch (err) {
        events.trouble(`cannot read ${path}: ${(err as Error).message}`);
      }
      await sleep(clock, pollMs, () => stopped);
    }
  })();
  return { stop: () => void (stopped = true) };
}

/** How to reach the API server from a pod. */
export interface KubeAccess {
  /** e.g. https://10.96.0.1:443 */
  server: string;
  /** Read at every connection: projected ServiceAccount tokens are rotated by the kubelet. */
  token: () => Promise<string>;
  ca?: Buffer;
}

const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The in-cluster API server and the pod's ServiceAccount credentials. */
export async function inClusterAccess(env: NodeJS.ProcessEnv = process.env): Promise<KubeAccess> {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host)
    throw new Error('not in a Kubernetes pod (KUBERNETES_SERVICE_HOST is not set): use --routes-file');
  const bracketed = host.includes(':') ? `[${host}]` : host;
  return {
    server: `https://${bracketed}:${port}`,
    token: async () => (await readFile(`${serviceAccountDir}/token`, 'utf8')).trim(),
    ca: await readFile(`${serviceAccountDir}/ca.crt`),
  };
}

interface ConfigMapObject {
  metadata?: { resourceVersion?: string };
  data?: Record<string, string>;
}

/** Watches one ConfigMap's route table through the API. */
export function configMapSource(
  access: KubeAccess,
  namespace: string,
  name: string,
  events: SourceEvents,
  clock: Clock,
): RouteSource {
  let stopped = false;
  let current: { abort(): void } | undefined;
  const base = `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`;
  const apply = (cm: ConfigMapObject) => {
    const text = cm.data?.[ROUTES_KEY];
    if (text === undefined) return events.rejected(`ConfigMap ${namespace}/${name} has no ${ROUTES_KEY}`);
    try {
      events.table(parseRoutes(text));
    } catch (err) {
      events.rejected((err as Error).message);
    }
  };
  const options = async (path: string): Promise<RequestOptions> => {
    const url = new URL(path, access.server);
    return {
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port,
      path: url.pathname + url.search,
      ca: access.ca,
      headers: { Authorization: `Bearer ${await access.token()}`, Accept: 'application/json' },
    };
  };
  const get = async (): Promise<ConfigMapObject> => {
    const o = await options(`${base}/${encodeURIComponent(name)}`);
    return new Promise((resolve, reject) => {
      const req = request(o, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(JSON.parse(body) as ConfigMapObject)
            : reject(
                new Error(
                  `GET ConfigMap ${namespace}/${name}: HTTP ${res.statusCode}: ${body.slice(0, 200)}`,
                ),
              ),
        );
      });
      req.setTimeout(10_000, () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end();
    });
  };
  /**
   * Streams watch events until the server ends the watch; resolves with the resourceVersion to go on from, or
   * undefined after a 410 (too old: list again).
   */
  const watch = async (resourceVersion: string): Promise<string | undefined> => {
    const query = new URLSearchParams({
      watch: 'true',
      fieldSelector: `metadata.name=${name}`,
      resourceVersion,
      allowWatchBookmarks: 'true',
      timeoutSeconds: '300',
    });
    const o = await options(`${base}?${query}`);
    return new Promise((resolve, reject) => {
      let rv = resourceVersion;
      const req = request(o, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return reject(new Error(`watch ConfigMap ${namespace}/${name}: HTTP ${res.statusCode}`));
        }
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let nl: number;
          while ((nl = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, nl).trim();
            buffer = buffer.slice(nl + 1);
            if (!line) continue;
            const e = JSON.parse(line) as { type: string; object: ConfigMapObject & { code?: number } };
            if (e.type === 'ERROR') {
              req.destroy();
              return resolve(e.object.code === 410 ? undefined : rv);
            }
            rv = e.object.metadata?.resourceVersion ?? rv;
            if (e.type === 'ADDED' || e.type === 'MODIFIED') apply(e.object);
            else if (e.type === 'DELETED')
              events.trouble(`ConfigMap ${namespace}/${name} was deleted; keeping the last table`);
          }
        });
        res.on('end', () => resolve(rv));
        res.on('error', reject);
      });
      // A watch that sends nothing, not even its end, well past its timeout is a dead connection.
      req.setTimeout(330_000, () => req.destroy(new Error('watch stalled')));
      req.on('error', reject);
      current = { abort: () => req.destroy() };
      req.end();
    });
  };
  void (async () => {
    let failures = 0;
    let resourceVersion: string | undefined;
    while (!stopped) {
      try {
        if (resourceVersion === undefined) {
          const cm = await get();
          apply(cm);
          resourceVersion = cm.metadata?.resourceVersion ?? '0';
        }
        resourceVersion = await watch(resourceVersion);
        failures = 0;
      } catch (err) {
        if (stopped) return;
        resourceVersion = undefined;
        events.trouble((err as Error).message);
        await sleep(clock, Math.min(30_000, 200 * 2 ** failures++), () => stopped);
      }
    }
  })();
  return {
    stop: () => {
      stopped = true;
      current?.abort();
    },
  };
}
