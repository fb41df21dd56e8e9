import * as http from 'node:http';
import * as https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/**
 * An API server answer other than 2xx. `statusCode` is the HTTP status; `reason` and `message` come from the
 * returned `Status` object when there is one (e.g. reason "Expired" for a stale continue token).
 */
export class KubeApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly reason?: string,
    /** False when the answer carried no Kubernetes Status: a proxy or the HTTP layer answered, not the API. */
    readonly fromApi = true,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export interface KubeRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Content type of the body. @default 'application/json' (PATCH needs a patch type, e.g. 'application/apply-patch+yaml') */
  contentType?: string;
  /** Path below the server URL, e.g. "/api/v1/namespaces/default/configmaps". */
  path: string;
  /** Query parameters; undefined values are left out. */
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Fails the request when its connection has been idle this long (no bytes either way). @default 60_000 */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * One JSON request to the API server with the KubeConfig's current cluster, credentials and TLS settings
 * (refreshed per request, so rotating tokens keep working). Resolves with the parsed JSON body of a 2xx
 * answer; rejects with a `KubeApiError` for any other status, or with the network error.
 *
 * NOTE: answers are plain JSON as the API server sent them (timestamps are strings), unlike client-node's
 * typed clients, which turn them into classes with Date fields. Watch events are plain JSON too, so an
 * informer built on this sees one consistent shape.
 */
export async function kubeRequest(kc: KubeConfig, req: KubeRequest): Promise<unknown> {
  try {
    return await kubeRequestOnce(kc, req);
  } catch (err) {
    // A 400 without a Status body comes from the HTTP layer (Go's net/http answers a request it could not parse
    // and closes the connection): the API never saw the request, so sending it again, on a new connection, is
    // safe even for a create. Seen rarely on reused keep-alive connections under load.
    if (!(err instanceof KubeApiError) || err.statusCode !== 400 || err.fromApi) throw err;
    return kubeRequestOnce(kc, req);
  }
}

async function kubeRequestOnce(kc: KubeConfig, req: KubeRequest): Promise<unknown> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/$/, '') + req.path);
  for (const [key, value] of Object.entries(req.query ?? {})) {
    if (value !== undefined) url.searchParams.set(key, String(value));
  }
  const options: https.RequestOptions = { method: req.method ?? 'GET' };
  await kc.applyToHTTPSOptions(options);
  options.agent = keepAliveAgent(kc, options.agent);
  const body = req.body === undefined ? undefined : JSON.stringify(req.body);
  options.headers = {
    ...(options.headers ?? {}),
    Accept: 'application/json',
    ...(body === undefined ? {} : { 'Content-Type': req.contentType ?? 'application/json' }),
  };
  options.signal = req.signal;
  options.timeout = req.timeoutMs ?? 60_000;
  const send = url.protocol === 'http:' ? http.request : https.request;

  return new Promise((resolve, reject) => {
    const request = send(url, options, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = response.statusCode ?? 0;
        let parsed: unknown;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          parsed = undefined;
        }
        if (status >= 200 && status < 300) {
          if (parsed === undefined && text) reject(new Error(`unparseable JSON from ${req.path}`));
          else resolve(parsed);
          return;
        }
        const st = (parsed ?? {}) as { kind?: string; message?: string; reason?: string };
        if (st.kind === 'Status') reject(new KubeApiError(status, st.message ?? `HTTP ${status}`, st.reason));
        else {
          const answer = text.slice(0, 200) || `HTTP ${status}`;
          reject(new KubeApiError(status, `${options.method} ${req.path}: ${answer}`, undefined, false));
        }
      });
    });
    request.on('timeout', () => request.destroy(new Error(`request to ${req.path} timed out`)));
    request.on('error', reject);
    request.end(body);
  });
}

const agents = new WeakMap<KubeConfig, { key: string; agent: https.Agent }>();

/**
 * One keep-alive agent per KubeConfig and TLS material: client-node builds a new agent for every request, so each
 * one would pay a TCP and TLS handshake (measured: 31 ms against 8 ms per GET; docs/decisions/0001). A proxy agent
 * is left as it is; new TLS material (a rotated certificate) gets a new agent.
 */
function keepAliveAgent(kc: KubeConfig, fresh: unknown): https.RequestOptions['agent'] {
  if (!(fresh instanceof https.Agent)) return fresh as https.RequestOptions['agent'];
  const o = fresh.options;
  const key = [o.ca, o.cert, o.key, o.pfx, o.passphrase, o.rejectUnauthorized, o.servername]
    .map(String)
    .join('\0');
  const cached = agents.get(kc);
  if (cached?.key === key) return cached.agent;
  cached?.agent.destroy();
  const agent = new https.Agent({ ...o, keepAlive: true });
  agents.set(kc, { key, agent });
  return agent;
}

/** The HTTP status carried by an error from kubeRequest, client-node's Watch or its typed clients; else undefined. */
export function httpStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { statusCode?: unknown; code?: unknown };
  if (typeof e.statusCode === 'number') return e.statusCode;
  // client-node's ApiException carries the HTTP status as a numeric `code` (Node system errors use strings).
  if (typeof e.code === 'number') return e.code;
  return undefined;
}
