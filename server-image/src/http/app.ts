/**
 * The inference port's route table (Open Inference Protocol V2 REST) on node:http. Each route reads the request,
 * calls the data plane and returns a Reply; one function writes replies, errors and the access log line.
 * node:http rather than Express: the protocol needs the raw body (binary tensors) and few routes, and the
 * framework's per-request cost is a measurable share of a small model's latency (see bench/server).
 * The inference path is the hot one: replies that are ready at once are written at once, and inference chains a
 * few promises rather than layers of async functions (each layer costs a promise and a microtask per request).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'winston';
import type { AuthOutcome } from '../auth/reasons.js';
import type { Clock } from '../clock.js';
import type { DataPlane, InferOutcome } from '../dataplane.js';
import type { AccessLog } from '../logger.js';
import { FORWARDED_HEADER } from '../monitoring/feedback-peers.js';
import type { InferenceObserver } from '../monitoring/observer.js';
import { parseHeaderLength } from '../protocol/v2/decode.js';
import { InferenceError, httpStatusOf, notFound } from '../protocol/v2/errors.js';
import { readBody } from './body.js';

export interface AppOptions {
  /** Largest accepted request body in bytes; larger ones get a 413. */
  maxRequestBytes: number;
  logger: Logger;
  /** Writes the one access log line of each request. */
  accessLog: AccessLog;
  /** True while shutting down: responses ask clients to close their connections. */
  isDraining(): boolean;
  /** Times the requests' starts and ends for the shutdown drain. */
  clock: Clock;
  /** Told of every inference request once it is answered (drift, feedback, payload logs); none by default. */
  observer?: InferenceObserver;
  /** Answers `POST .../feedback` bodies (monitoring/feedback.ts); absent: feedback is off and the endpoint 404s. */
  feedback?: (
    body: Uint8Array,
    path: string,
    forwarded: boolean,
    /** The client's credential headers (authorization, x-api-key), for the peers a pod forwards to. */
    credentials: Record<string, string>,
  ) => { status: number; body: unknown } | Promise<{ status: number; body: unknown }>;
  /**
   * Who is calling (auth/setup.ts), asked before any route but the health checks runs; absent: the port is open.
   * Synchronous when it can be (an API key, a JWT verified before): the common case costs no promise.
   */
  authenticate?: (req: IncomingMessage) => AuthOutcome | Promise<AuthOutcome>;
}

interface Reply {
  status: number;
  /**
   * A string (written as UTF-8), or parts written one after the other: a binary inference response is its JSON
   * header and views of the output tensors, never concatenated into one copy.
   */
  body: string | readonly (string | Uint8Array)[];
  contentType: string;
  headers?: Record<string, string | number>;
}

interface Context {
  req: IncomingMessage;
  params: string[];
  requestId: string;
  /** The authenticated caller, when the port authenticates. */
  caller: string | undefined;
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

/**
 * The one answer to every refused credential, whatever the reason (the reason goes to a metric, not to the client):
 * RFC 6750's challenge, with `error="invalid_token"` when a credential was presented.
 */
const UNAUTHORIZED_BODY = JSON.stringify({ error: 'unauthorized' });
const CHALLENGE = 'Bearer realm="modelship"';
const unauthorized = (presented: boolean): Reply => ({
  status: 401,
  body: UNAUTHORIZED_BODY,
  contentType: 'application/json',
  headers: { 'WWW-Authenticate': presented ? `${CHALLENGE}, error="invalid_token"` : CHALLENGE },
});

/** The kubelet's probes carry no credentials: these stay open. */
const isHealthCheck = (method: string | undefined, path: string): boolean =>
  method === 'GET' && (path === '/v2/health/live' || path === '/v2/health/ready');

/** The HTTP request handler, and the requests in progress as an Activity for the shutdown drain (drain.ts). */
export interface InferenceApp {
  handle(req: IncomingMessage, res: ServerResponse): void;
  readonly inflight: number;
  /** No request in progress. */
  idle(): boolean;
  /** Clock time of the last request's start or end: how long the server has been quiet. */
  lastActivity(): number;
  /** Calls `listener` after every request's start and end. */
  subscribe(listener: () => void): () => void;
}

export function createInferenceApp(dp: DataPlane, opts: AppOptions): InferenceApp {
  // Inference first: it is nearly all of the traffic, and routes are tried in order.
  const routes: Route[] = [
    { method: 'POST', pattern: new RegExp(`^${MODEL}/infer$`), handle: (ctx) => infer(ctx) },
    { method: 'POST', pattern: new RegExp(`^${MODEL}/feedback$`), handle: (ctx) => feedback(ctx) },
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

  /** Body -> data plane -> reply; one promise of its own, resolved from callbacks (no promise adopts another). */
  function infer({ req, params: [m, v], requestId, caller }: Context): Promise<Reply> {
    const started = performance.now();
    const arrived = opts.observer ? Date.now() : 0;
    return new Promise<Reply>((resolve, reject) => {
      const fail = (err: unknown): void => {
        const seconds = (performance.now() - started) / 1000;
        dp.recordInference(m!, err, seconds);
        if (opts.observer) observeFailure(m!, requestId, caller, arrived, seconds, err);
        reject(err);
      };
      readBody(req, opts.maxRequestBytes, (err, body) => {
        if (err) return fail(err);
        let outcome: Promise<InferOutcome>;
        try {
          const headerLength = parseHeaderLength(
            req.headers['inference-header-content-length'],
            body!.byteLength,
          );
          outcome = dp.infer(m!, v, body!, headerLength);
        } catch (e) {
          return fail(e);
        }
        outcome.then((e) => {
          const seconds = (performance.now() - started) / 1000;
          dp.recordInference(m!, undefined, seconds);
          resolve({
            status: 200,
            body: e.binary.length === 0 ? e.json : [e.json, ...e.binary],
            contentType: e.contentType,
            headers:
              e.headerLength === undefined
                ? undefined
                : { 'Inference-Header-Content-Length': e.headerLength },
          });
          opts.observer?.observe({
            requestId,
            protocolId: e.request.id,
            model: m!,
            version: dp.versionOf(m!) ?? v ?? '',
            time: arrived,
            latencyMs: seconds * 1000,
            status: 200,
            inputs: e.request.inputs,
            outputs: e.result.outputs,
            caller,
          });
        }, fail);
      });
    });
  }

  /** Ground truth for earlier predictions: the body goes to the feedback monitor, which answers it. */
  function feedback({ req, params: [m, v] }: Context): Promise<Reply> {
    dp.checkModel(m!, v);
    const answer = opts.feedback;
    if (!answer)
      throw notFound('feedback is off on this server (--feedback-store-size is 0): no predictions are kept');
    return new Promise<Reply>((resolve, reject) => {
      readBody(req, opts.maxRequestBytes, (err, body) => {
        if (err) return reject(err);
        try {
          const forwarded = req.headers[FORWARDED_HEADER] !== undefined;
          const r = answer(body!, (req.url ?? '').replace(/\?.*$/, ''), forwarded, credentialsOf(req));
          if (r instanceof Promise) r.then((x) => resolve(json(x.status, x.body)), reject);
          else resolve(json(r.status, r.body));
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  function observeFailure(
    model: string,
    requestId: string,
    caller: string | undefined,
    arrived: number,
    seconds: number,
    err: unknown,
  ): void {
    opts.observer!.observe({
      requestId,
      model,
      version: dp.versionOf(model) ?? '',
      time: arrived,
      latencyMs: seconds * 1000,
      status: err instanceof URIError ? 400 : httpStatusOf(err),
      error: (err as Error).message ?? String(err),
      caller,
    });
  }

  let inflight = 0;
  let lastActivity = opts.clock.now();
  const listeners = new Set<() => void>();
  const notify = (): void => {
    if (listeners.size > 0) for (const listener of [...listeners]) listener();
  };

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    inflight++;
    lastActivity = opts.clock.now();
    notify();
    const header = req.headers['x-request-id'];
    const requestId =
      typeof header === 'string' && header.length > 0 && header.length <= 200 ? header : randomUUID();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    let caller: string | undefined;
    const finish = (reply: Reply): void => {
      try {
        write(res, reply, requestId, opts.isDraining());
        opts.accessLog({
          method: req.method ?? '',
          path,
          status: reply.status,
          durationMs: Math.round((performance.now() - started) * 1000) / 1000,
          requestId,
          caller,
        });
      } catch (err) {
        opts.logger.error('failed to write a response', { requestId, error: String(err) });
      } finally {
        inflight--;
        lastActivity = opts.clock.now();
        notify();
      }
    };
    const failed = (err: unknown): void => finish(errorReply(err, opts.logger, requestId));
    const dispatch = (): void => {
      let reply: Reply | Promise<Reply>;
      try {
        reply = route(req, path, requestId, caller);
      } catch (err) {
        reply = errorReply(err, opts.logger, requestId);
      }
      if (reply instanceof Promise) reply.then(finish, failed);
      else finish(reply);
    };
    const authenticate = opts.authenticate;
    if (authenticate === undefined || isHealthCheck(req.method, path)) return dispatch();
    const admit = (outcome: AuthOutcome): void => {
      if ('failure' in outcome) return finish(unauthorized(outcome.failure !== 'missing'));
      caller = outcome.caller;
      dispatch();
    };
    let outcome: AuthOutcome | Promise<AuthOutcome>;
    try {
      outcome = authenticate(req);
    } catch (err) {
      return failed(err);
    }
    if (outcome instanceof Promise) outcome.then(admit, failed);
    else admit(outcome);
  }

  function route(
    req: IncomingMessage,
    path: string,
    requestId: string,
    caller: string | undefined,
  ): Reply | Promise<Reply> {
    let allowed: string[] = [];
    for (const r of routes) {
      const match = r.pattern.exec(path);
      if (!match) continue;
      if (r.method !== req.method) {
        allowed.push(r.method);
        continue;
      }
      const params = match.slice(1).map((p) => (p === undefined ? undefined : decodeURIComponent(p)));
      return r.handle({ req, params: params as string[], requestId, caller });
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
    idle: () => inflight === 0,
    lastActivity: () => lastActivity,
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** The headers that carry a client's credentials (auth/credentials.ts reads the same two). */
function credentialsOf(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['authorization', 'x-api-key']) {
    const value = req.headers[name];
    if (typeof value === 'string') out[name] = value;
  }
  return out;
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
  const { body } = reply;
  let length = 0;
  if (typeof body === 'string') length = Buffer.byteLength(body);
  else
    for (const part of body) length += typeof part === 'string' ? Buffer.byteLength(part) : part.byteLength;
  const headers: (string | number)[] = [
    'Content-Type',
    reply.contentType,
    'Content-Length',
    length,
    'x-request-id',
    requestId,
  ];
  if (reply.headers) for (const [name, value] of Object.entries(reply.headers)) headers.push(name, value);
  // While draining, clients are asked to reconnect (to another pod) after this response.
  if (draining && reply.headers?.Connection === undefined) headers.push('Connection', 'close');
  res.writeHead(reply.status, headers as string[]);
  if (typeof body === 'string') {
    res.end(body);
    return;
  }
  // Corked, the status line, headers and every part leave in one writev(2) when end() uncorks.
  res.cork();
  const last = body.length - 1;
  for (let i = 0; i < last; i++) res.write(body[i]!);
  res.end(body[last]);
}
