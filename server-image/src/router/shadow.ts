/**
 * Shadow traffic: a copy of a live inference request goes to the shadow revision, whose answer is compared with the
 * live one (compare.ts) and dropped. The client never waits for the shadow: the body is copied as it streams to the
 * live backend (the shadow exerts no backpressure on the client), the mirrored request leaves only once the body is
 * complete, and the live answer is copied as it streams to the client. Nothing the shadow does reaches the client.
 *
 * Bounded: at most `maxInFlight` mirrored requests at once, each holding at most `maxBodyBytes` of request body and
 * of each answer; a shadow that has not finished answering within `timeoutMs` is cut off. Whatever cannot be
 * mirrored or compared is counted, never retried.
 */
import { request, type Agent, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Clock, TimerHandle } from '../clock.js';
import { compareAnswers, type Answer } from './compare.js';
import { forwardable } from './headers.js';
import type { RouterMetrics, ShadowResult } from './metrics.js';
import type { ShadowTarget } from './routes.js';
import { isTlsFailure } from '../tls/errors.js';

/** Set on every mirrored request, so that the shadow revision (and its logs) can tell mirrored traffic apart. */
export const SHADOW_HEADER = 'x-modelship-shadow';

export interface Upstream {
  /** An https.Agent for https:// (node:http's request speaks TLS through it when told the protocol). */
  agent: Agent;
  protocol: 'http:' | 'https:';
  host: string;
  port: number;
}

export interface ShadowingOptions {
  metrics: RouterMetrics;
  clock: Clock;
  /** The keep-alive pool for a base URL and TLS server name (shared with the live forwarding). */
  upstream(url: string, serverName: string | undefined): Upstream;
  /** Told every result other than agree or skipped, with why (for a debug log). */
  onResult?(revision: string, result: ShadowResult, reason: string): void;
}

/** The live side of one mirrored request, as the proxy sees it. */
export interface Mirror {
  /** The live backend's answer has started (the one the client gets, after any retry). */
  liveAnswer(res: IncomingMessage): void;
  /** No live answer: the client got the router's 502. */
  liveFailed(): void;
}

export interface Shadowing {
  /**
   * Starts mirroring `req` when it is an inference request and a shadow is configured; undefined otherwise. Call it
   * in the same tick the request arrives (before its body flows). A request that should have been mirrored but
   * cannot be (too large, too many in flight) is counted `skipped`. A request whose live backend is the shadow
   * revision itself (a header match) is not shadow traffic: not mirrored, not counted.
   */
  begin(req: IncomingMessage, target: ShadowTarget | undefined, liveRevision: string): Mirror | undefined;
  /** Mirrored requests not yet judged. */
  readonly inflight: number;
  /** Abandons every mirrored request (uncounted: the router is stopping) and its shadow connection. */
  close(): void;
}

/** The V2 inference endpoint, with or without a version: .../infer. */
const isInference = (req: IncomingMessage): boolean => {
  if (req.method !== 'POST') return false;
  const url = req.url ?? '';
  const q = url.indexOf('?');
  return (q === -1 ? url : url.slice(0, q)).endsWith('/infer');
};

/** Chunks up to a limit; past it nothing is kept (`over`). */
class BoundedCopy {
  private chunks: Buffer[] = [];
  size = 0;
  over = false;

  constructor(private readonly limit: number) {}

  add(chunk: Buffer): void {
    if (this.over) return;
    this.size += chunk.length;
    if (this.size > this.limit) {
      this.over = true;
      this.chunks = [];
    } else this.chunks.push(chunk);
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }

  /** Lets go of the copy once it has been used. */
  release(): void {
    this.chunks = [];
  }
}

function headerLength(res: IncomingMessage): number | undefined {
  const v = res.headers['inference-header-content-length'];
  return typeof v === 'string' ? Number(v) : undefined;
}

/** One side's finished answer: its status and, when it fit, its body. */
interface Finished {
  status: number;
  answer?: Answer;
}

export function createShadowing(o: ShadowingOptions): Shadowing {
  const open = new Set<{ abandon(): void }>();

  function begin(
    req: IncomingMessage,
    target: ShadowTarget | undefined,
    liveRevision: string,
  ): Mirror | undefined {
    if (!target || liveRevision === target.revision || !isInference(req)) return undefined;
    const revision = target.revision;
    const declared = Number(req.headers['content-length']);
    if (declared > target.maxBodyBytes || open.size >= target.maxInFlight) {
      o.metrics.shadowDone(revision, 'skipped');
      return undefined;
    }

    let done = false;
    let live: Finished | undefined;
    let shadow: Finished | undefined;
    let sent: ClientRequest | undefined;
    let timer: TimerHandle | undefined;
    const body = new BoundedCopy(target.maxBodyBytes);

    const stop = () => {
      done = true;
      open.delete(entry);
      if (timer !== undefined) o.clock.clearTimeout(timer);
      // A shadow still answering is of no more use: free its connection (and its server's work).
      if (sent && !shadow) sent.destroy();
    };
    const entry = { abandon: stop };
    open.add(entry);
    const finish = (result: ShadowResult, reason: string) => {
      if (done) return;
      stop();
      o.metrics.shadowDone(revision, result);
      if (result !== 'agree' && result !== 'skipped') o.onResult?.(revision, result, reason);
    };
    /** Judges once both answers are in. */
    const judge = () => {
      if (done || !live || !shadow) return;
      if (shadow.status !== 200) return finish('error', `the shadow answered ${shadow.status}`);
      if (!live.answer || !shadow.answer) return finish('skipped', 'an answer is larger than maxBodyBytes');
      const verdict = compareAnswers(live.answer, shadow.answer, target.tolerance);
      finish(verdict.result, verdict.result === 'agree' ? '' : verdict.reason);
    };

    const send = () => {
      const u = o.upstream(target.url, target.serverName);
      const headers = forwardable(req.headers);
      headers['content-length'] = body.size;
      headers[SHADOW_HEADER] = '1';
      const started = o.clock.now();
      const s = request({
        agent: u.agent,
        protocol: u.protocol,
        host: u.host,
        port: u.port,
        method: req.method,
        path: req.url,
        headers,
      });
      sent = s;
      timer = o.clock.setTimeout(
        () => s.destroy(new Error(`no complete answer within ${target.timeoutMs} ms`)),
        target.timeoutMs,
      );
      s.on('response', (res) => {
        const copy = new BoundedCopy(target.maxBodyBytes);
        res.on('data', (chunk: Buffer) => copy.add(chunk));
        res.on('end', () => {
          if (done) return;
          o.clock.clearTimeout(timer);
          o.metrics.shadowAnswered(revision, (o.clock.now() - started) / 1000);
          const status = res.statusCode ?? 0;
          shadow = {
            status,
            answer: copy.over ? undefined : { body: copy.bytes(), headerLength: headerLength(res) },
          };
          judge();
        });
        res.on('error', (err) => finish('error', err.message));
        res.on('close', () => {
          if (!res.complete) finish('error', 'the shadow answer was cut short');
        });
      });
      s.on('error', (err) => {
        if (isTlsFailure(err)) o.metrics.backendTlsFailed(revision);
        finish('error', err.message);
      });
      s.end(body.bytes());
      body.release();
    };

    req.on('data', (chunk: Buffer) => {
      if (done) return;
      body.add(chunk);
      if (body.over) finish('skipped', 'the request body is larger than maxBodyBytes');
    });
    // The live backend's 'end' listener was added first, so the live request is complete before the copy leaves.
    req.on('end', () => {
      if (!done) send();
    });
    req.on('close', () => {
      if (!req.complete) finish('skipped', 'the client went away before its request was complete');
    });

    return {
      liveAnswer(res) {
        if (done) return;
        const status = res.statusCode ?? 0;
        // Only a 200 is a prediction to compare; a live error says nothing about the shadow.
        if (status !== 200) return finish('skipped', `the live answer was ${status}`);
        const copy = new BoundedCopy(target.maxBodyBytes);
        res.on('data', (chunk: Buffer) => {
          if (!done) copy.add(chunk);
        });
        res.on('end', () => {
          if (done) return;
          live = {
            status,
            answer: copy.over ? undefined : { body: copy.bytes(), headerLength: headerLength(res) },
          };
          judge();
        });
        res.on('close', () => {
          if (!res.complete) finish('skipped', 'the live answer was cut short');
        });
      },
      liveFailed() {
        finish('skipped', 'the live backend did not answer');
      },
    };
  }

  return {
    begin,
    get inflight() {
      return open.size;
    },
    close() {
      for (const e of [...open]) e.abandon();
    },
  };
}
