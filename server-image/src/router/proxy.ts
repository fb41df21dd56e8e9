/**
 * The router's request path on node:http: choose a backend, stream the request to it over a keep-alive pool, stream
 * the answer back with `x-modelship-revision`, count it. Bodies are never parsed or buffered on the way. No retries:
 * a failing backend must show as failures, or the canary analysis would not see them. With a shadow in the table,
 * inference requests are also mirrored to it on the side (shadow.ts), without the client waiting for it.
 */
import {
  Agent,
  request,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { isIP } from 'node:net';
import type { Clock } from '../clock.js';
import { isTlsFailure } from '../tls/errors.js';
import type { Activity } from '../drain.js';
import { forwardable } from './headers.js';
import { codeClass, type RouterMetrics, type ShadowResult } from './metrics.js';
import type { Backend } from './routes.js';
import { choose, type CompiledTable } from './select.js';
import { createShadowing, type Mirror, type Upstream } from './shadow.js';

export interface RouterAppOptions {
  table(): CompiledTable | undefined;
  metrics: RouterMetrics;
  clock: Clock;
  random?: () => number;
  /** Longest a backend may take to answer (idle time on its connection). */
  upstreamTimeoutMs: number;
  isDraining(): boolean;
  /** Told every shadow result other than agree or skipped, with why. */
  onShadowResult?(revision: string, result: ShadowResult, reason: string): void;
  /** The CA bundle https:// backends are verified against; undefined: Node's trust store. */
  backendCa?(): Buffer | undefined;
}

/** Errors that mean the connection was refused before anything was sent. */
function refused(err: NodeJS.ErrnoException): boolean {
  return err.code === 'ECONNREFUSED' || err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH';
}

/** The most of a request body kept to resend it elsewhere; a larger one is sent once, and its failure is the answer. */
const replayLimit = 1 << 20;

/**
 * A request body streamed to the backend as it arrives, while a copy is kept (up to replayLimit) until an answer
 * starts, so that a refused connection can send it again elsewhere.
 */
class ReplayableBody {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private kept = true;
  private ended = false;
  private sinks: NodeJS.WritableStream[] = [];

  constructor(private readonly req: IncomingMessage) {
    req.on('data', (chunk: Buffer) => {
      if (this.kept) {
        this.size += chunk.length;
        if (this.size > replayLimit) this.release();
        else this.chunks.push(chunk);
      }
      for (const s of this.sinks)
        if (!s.write(chunk)) {
          // Backpressure: stop reading from the client until the backend connection drains.
          req.pause();
          s.once('drain', () => req.resume());
        }
    });
    req.on('end', () => {
      this.ended = true;
      for (const s of this.sinks) s.end();
    });
  }

  /** Streams the body (what arrived so far, then the rest) into `sink`, which replaces any earlier one. */
  pipeTo(sink: NodeJS.WritableStream): void {
    this.sinks = [sink];
    for (const c of this.chunks) sink.write(c);
    if (this.ended) sink.end();
  }

  replayable(): boolean {
    return this.kept;
  }

  /** Drops the copy: no more resending. */
  release(): void {
    this.kept = false;
    this.chunks.length = 0;
  }
}

const json = (res: ServerResponse, status: number, body: object, extra: OutgoingHttpHeaders = {}) => {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...extra,
  });
  res.end(text);
};

export interface RouterApp extends Activity {
  handle(req: IncomingMessage, res: ServerResponse): void;
  readonly inflight: number;
  /** Closes the keep-alive pools. */
  close(): void;
  /** The backend CA bundle changed: https connections made from now on verify against the new one. */
  backendCaChanged(): void;
}

export function createRouterApp(o: RouterAppOptions): RouterApp {
  const agents = new Map<string, Upstream>();
  /** https pools made under an earlier CA bundle: their requests in flight finish, then their sockets close. */
  const retired = new Set<Upstream['agent']>();
  const random = o.random ?? Math.random;
  let inflight = 0;
  let last = o.clock.now();
  const listeners = new Set<() => void>();
  const changed = () => {
    last = o.clock.now();
    for (const l of [...listeners]) l();
  };

  const upstreamOf = (base: string, serverName: string | undefined) => {
    const key = serverName === undefined ? base : `${base} ${serverName}`;
    let u = agents.get(key);
    if (!u) {
      const url = new URL(base);
      // Enough sockets for any load a router pod sees; idle ones are kept for reuse, then dropped.
      const pool = { keepAlive: true, maxSockets: 256, maxFreeSockets: 64 };
      const host = url.hostname.replace(/^\[|\]$/g, '');
      u =
        url.protocol === 'https:'
          ? {
              agent: new HttpsAgent({
                ...pool,
                ca: o.backendCa?.(),
                // The name verified, and sent as SNI: never the client's Host header, which is forwarded as is
                // (Node would take it). An IP address is verified against the certificate's IP SANs, without SNI.
                servername: serverName ?? (isIP(host) ? '' : host),
              }),
              protocol: 'https:',
              host,
              port: Number(url.port || 443),
            }
          : { agent: new Agent(pool), protocol: 'http:', host, port: Number(url.port || 80) };
      agents.set(key, u);
    }
    return u;
  };
  const shadowing = createShadowing({
    metrics: o.metrics,
    clock: o.clock,
    upstream: upstreamOf,
    onResult: o.onShadowResult,
  });

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    if (url.startsWith('/healthz/')) {
      if (url === '/healthz/live') return json(res, 200, { live: true });
      if (url === '/healthz/ready') {
        if (o.isDraining()) return json(res, 503, { error: 'the router is shutting down' });
        return o.table() ? json(res, 200, { ready: true }) : json(res, 503, { error: 'no route table yet' });
      }
    }
    const table = o.table();
    if (!table) return json(res, 503, { error: 'the router has no route table yet' }, { 'Retry-After': 1 });
    inflight++;
    changed();
    let done = false;
    const end = () => {
      if (done) return;
      done = true;
      inflight--;
      changed();
    };
    res.on('close', end);
    const body = new ReplayableBody(req);
    const backend = choose(table, req.headers, random);
    // After ReplayableBody: its listeners come first, so the live backend gets each chunk before the copy is taken.
    const mirror = shadowing.begin(req, table.shadow, backend.revision);
    forward(req, res, backend, body, table, true, end, mirror);
  }

  /**
   * Sends the request to `backend`. A connection the backend refused (nothing was sent: safe to send elsewhere,
   * even a POST) is sent once to another backend by weight and counted as `refused` for the first: a brand-new
   * revision whose endpoints have not reached every node's proxy yet costs no client anything, and does not count
   * as a failed answer in the canary analysis. Any other failure is the client's answer (a 502) and an `error`.
   */
  function forward(
    req: IncomingMessage,
    res: ServerResponse,
    backend: Backend,
    body: ReplayableBody,
    table: CompiledTable,
    mayRetry: boolean,
    end: () => void,
    mirror: Mirror | undefined,
  ): void {
    const started = o.clock.now();
    let counted = false;
    const count = (code: ReturnType<typeof codeClass>) => {
      if (counted) return;
      counted = true;
      o.metrics.done(backend.revision, code, (o.clock.now() - started) / 1000);
    };
    const u = upstreamOf(backend.url, backend.serverName);
    const upstream = request({
      agent: u.agent,
      protocol: u.protocol,
      host: u.host,
      port: u.port,
      method: req.method,
      path: req.url,
      headers: forwardable(req.headers),
      timeout: o.upstreamTimeoutMs,
    });
    upstream.on('response', (ures) => {
      body.release();
      const out = forwardable(ures.headers);
      out['x-modelship-revision'] = backend.revision;
      if (o.isDraining()) out.connection = 'close';
      res.writeHead(ures.statusCode ?? 502, out);
      mirror?.liveAnswer(ures);
      ures.pipe(res);
      const code = codeClass(ures.statusCode ?? 502);
      ures.on('end', () => {
        count(code);
        end();
      });
      ures.on('error', (err) => {
        count('error');
        res.destroy(err);
      });
    });
    upstream.on('timeout', () => upstream.destroy(new Error(`no answer within ${o.upstreamTimeoutMs} ms`)));
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      const other = mayRetry && refused(err) && body.replayable() ? another(table, backend) : undefined;
      if (other && !res.headersSent) {
        // Not an error of the backend's answers: it never saw the request, and the client is answered elsewhere.
        // (A crashing backend shows in its pods' health; the operator rolls a crash-looping canary back for that.)
        count('refused');
        return forward(req, res, other, body, table, false, end, mirror);
      }
      count('error');
      if (isTlsFailure(err)) o.metrics.backendTlsFailed(backend.revision);
      mirror?.liveFailed();
      body.release();
      if (!res.headersSent)
        json(
          res,
          502,
          { error: `revision ${backend.revision} did not answer: ${err.message}` },
          { 'x-modelship-revision': backend.revision, ...(o.isDraining() ? { connection: 'close' } : {}) },
        );
      else res.destroy(err);
    });
    // The client went away before the answer was complete: stop the backend's work too.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    body.pipeTo(upstream);
  }

  /** Another backend with weight, by weight; undefined when there is none. */
  function another(table: CompiledTable, failed: Backend): Backend | undefined {
    const others = table.cumulative.filter((c) => c.backend !== failed);
    if (others.length === 0) return undefined;
    const total = others.reduce((sum, c) => sum + c.backend.weight, 0);
    let point = random() * total;
    for (const c of others) if ((point -= c.backend.weight) < 0) return c.backend;
    return others.at(-1)!.backend;
  }

  return {
    handle,
    get inflight() {
      return inflight;
    },
    idle: () => inflight === 0,
    lastActivity: () => last,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      shadowing.close();
      for (const u of agents.values()) u.agent.destroy();
      agents.clear();
      for (const a of retired) a.destroy();
      retired.clear();
    },
    backendCaChanged() {
      for (const [key, u] of agents) {
        if (u.protocol !== 'https:') continue;
        agents.delete(key);
        // Idle connections close now; busy ones finish their request, then the backend's keep-alive timeout
        // closes them (destroying the pool would cut requests in flight).
        for (const sockets of Object.values(u.agent.freeSockets)) for (const s of sockets ?? []) s.destroy();
        retired.add(u.agent);
      }
    },
  };
}
