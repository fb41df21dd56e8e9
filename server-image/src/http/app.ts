/**
 * The inference port's route table (Open Inference Protocol V2 REST) on node:http. Each route reads the request,
 * calls the data plane and returns a Reply; one function writes replies, errors and the access log line.
 * node:http rather than Express: the protocol needs the raw body (binary tensors) and few routes, and the
 * framework's per-request cost is a measurable share of a small model's latency (see bench/server).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'winston';
import type { DataPlane } from '../dataplane.js';
import { parseHeaderLength } from '../protocol/v2/decode.js';
import { InferenceError, httpStatusOf, notFound } from '../protocol/v2/errors.js';
import { readBody } from './body.js';

export interface AppOptions {
  /** Largest accepted request body in bytes; larger ones get a 413. */
  maxRequestBytes: number;
  logger: Logger;
  /** True while shutting down: responses ask clients to close their connections. */
  isDraining(): boolean;
}

interface Reply {
  status: number;
  body: Buffer | string;
  contentType: string;
  headers?: Record<string, string | number>;
}

interface Context {
  req: IncomingMessage;
  params: string[];
}

interface Route {
  method: 'GET' | 'POST';
  pattern: RegExp;
  handle(ctx: Context): Reply | Promise<Reply>;
}

const MODEL = '/v2/models/([^/]+)(?:/versions/([^/]+))?';

const json = (status: number, value: unknown): Reply => ({
  status,
  body: JSON.stringify(value),
  contentType: 'application/json',
});

/** The HTTP request handler and a count of requests in progress (for draining). */
export interface InferenceApp {
  handle(req: IncomingMessage, res: ServerResponse): void;
  readonly inflight: number;
  /** performance.now() of the last request's start or end: how long the server has been quiet. */
  readonly lastActivity: number;
  /** Resolves when no request is in progress. */
  whenIdle(): Promise<void>;
}

export function createInferenceApp(dp: DataPlane, opts: AppOptions): InferenceApp {
  // Inference first: it is nearly all of the traffic, and routes are tried in order.
  const routes: Route[] = [
    { method: 'POST', pattern: new RegExp(`^${MODEL}/infer$`), handle: (ctx) => infer(ctx) },
    { method: 'GET', pattern: /^\/v2\/health\/live$/, handle: () => json(200, { live: true }) },
    {
      method: 'GET',
      pattern: /^\/v2\/health\/ready$/,
      handle: () => {
        const r = dp.serverReady();
        return r.ready ? json(200, { ready: true }) : json(503, { error: r.error });
      },
    },
    { method: 'GET', pattern: /^\/v2\/?$/, handle: () => json(200, dp.serverMetadata()) },
    { method: 'GET', pattern: /^\/v2\/models\/stats$/, handle: () => json(200, dp.modelStats()) },
    {
      method: 'GET',
      pattern: new RegExp(`^${MODEL}/ready$`),
      handle: ({ params: [m, v] }) => {
        dp.modelReady(m!, v);
        return json(200, { name: m, ready: true });
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${MODEL}/stats$`),
      handle: ({ params: [m, v] }) => json(200, dp.modelStats(m, v)),
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${MODEL}/config$`),
      handle: ({ params: [m, v] }) => json(200, dp.modelConfig(m!, v)),
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${MODEL}$`),
      handle: ({ params: [m, v] }) => json(200, dp.modelMetadata(m!, v)),
    },
  ];

  async function infer({ req, params: [m, v] }: Context): Promise<Reply> {
    const started = performance.now();
    let error: unknown;
    try {
      const body = await readBody(req, opts.maxRequestBytes);
      const headerLength = parseHeaderLength(req.headers['inference-header-content-length'], body.byteLength);
      const encoded = await dp.infer(m!, v, body, headerLength);
      return {
        status: 200,
        body: encoded.body,
        contentType: encoded.contentType,
        headers:
          encoded.headerLength === undefined
            ? undefined
            : { 'Inference-Header-Content-Length': encoded.headerLength },
      };
    } catch (err) {
      error = err;
      throw err;
    } finally {
      dp.recordInference(m!, error, (performance.now() - started) / 1000);
    }
  }

  let inflight = 0;
  let lastActivity = performance.now();
  let idleWaiters: (() => void)[] = [];

  function handle(req: IncomingMessage, res: ServerResponse): void {
    void respond(req, res);
  }

  async function respond(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    inflight++;
    lastActivity = performance.now();
    const header = req.headers['x-request-id'];
    const requestId =
      typeof header === 'string' && header.length > 0 && header.length <= 200 ? header : randomUUID();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    try {
      let reply: Reply;
      try {
        reply = await route(req, path);
      } catch (err) {
        reply = errorReply(err, opts.logger, requestId);
      }
      write(res, reply, requestId, opts.isDraining());
      opts.logger.info('request', {
        method: req.method,
        path,
        status: reply.status,
        durationMs: Math.round((performance.now() - started) * 1000) / 1000,
        requestId,
      });
    } catch (err) {
      opts.logger.error('failed to write a response', { requestId, error: String(err) });
    } finally {
      inflight--;
      lastActivity = performance.now();
      if (inflight === 0) {
        const waiters = idleWaiters;
        idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }

  function route(req: IncomingMessage, path: string): Reply | Promise<Reply> {
    let allowed: string[] = [];
    for (const r of routes) {
      const match = r.pattern.exec(path);
      if (!match) continue;
      if (r.method !== req.method) {
        allowed.push(r.method);
        continue;
      }
      const params = match.slice(1).map((p) => (p === undefined ? undefined : decodeURIComponent(p)));
      return r.handle({ req, params: params as string[] });
    }
    allowed = [...new Set(allowed)];
    if (allowed.length > 0)
      return {
        ...json(405, { error: `${req.method} is not allowed on ${path}; use ${allowed.join(', ')}` }),
        headers: { Allow: allowed.join(', ') },
      };
    throw notFound(`no such endpoint: ${req.method} ${path}`);
  }

  return {
    handle,
    get inflight() {
      return inflight;
    },
    get lastActivity() {
      return lastActivity;
    },
    whenIdle: () =>
      inflight === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve)),
  };
}

function errorReply(err: unknown, logger: Logger, requestId: string): Reply {
  if (err instanceof URIError)
    return json(400, { error: `malformed percent-encoding in the path: ${err.message}` });
  const status = httpStatusOf(err);
  if (status >= 500 && !(err instanceof InferenceError && err.kind === 'unavailable'))
    logger.error('request failed', { requestId, error: (err as Error).stack ?? String(err) });
  const reply = json(status, { error: (err as Error).message ?? String(err) });
  if (err instanceof InferenceError && err.retryAfterSeconds !== undefined)
    reply.headers = { 'Retry-After': err.retryAfterSeconds };
  // A 413 leaves the rest of the body unread: the connection cannot be reused.
  if (status === 413) reply.headers = { ...reply.headers, Connection: 'close' };
  return reply;
}

function write(res: ServerResponse, reply: Reply, requestId: string, draining: boolean): void {
  const body = typeof reply.body === 'string' ? Buffer.from(reply.body, 'utf8') : reply.body;
  const headers: Record<string, string | number> = {
    'Content-Type': reply.contentType,
    'Content-Length': body.byteLength,
    'x-request-id': requestId,
    ...reply.headers,
  };
  // While draining, clients are asked to reconnect (to another pod) after this response.
  if (draining) headers.Connection = 'close';
  res.writeHead(reply.status, headers);
  res.end(body);
}
