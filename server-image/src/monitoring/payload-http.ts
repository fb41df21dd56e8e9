/**
 * The payload log's HTTP sink: records queue (bounded) and leave in order, in batches, as CloudEvents in batched
 * mode (`Content-Type: application/cloudevents-batch+json`, a JSON array of structured events, type
 * `dev.modelship.inference.payload`) POSTed to a collector. One batch is in flight at a time, so the collector
 * receives the records strictly in the order they were queued. A batch that fails (connection refused, timeout,
 * 5xx, 408, 429) stays at the front and is retried with a doubling backoff; meanwhile new records queue until the
 * queue is full, and then the NEWEST are dropped and counted: what is queued stays a contiguous run that arrives
 * whole once the collector is back. A batch the collector refuses (another 4xx) will never be accepted: it is
 * dropped (`rejected`) so it does not hold up the rest. Nothing here ever waits on the request path.
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest, Agent as HttpAgent } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import type { Logger } from 'winston';
import type { Clock, TimerHandle } from '../clock.js';
import { BoundedQueue } from './bounded-queue.js';
import type { PayloadCounters, PayloadSink, SerializedRecord } from './payload-sinks.js';

export const CLOUDEVENT_TYPE = 'dev.modelship.inference.payload';

export interface HttpSinkOptions {
  url: string;
  queueSize: number;
  /** Most records per POST. */
  batchSize: number;
  /** Longest a record waits for a fuller batch before it is sent anyway, ms. */
  flushMs: number;
  /** Per POST, ms. */
  timeoutMs: number;
  /** First retry delay, doubled per failure up to maxBackoffMs. */
  backoffMs: number;
  maxBackoffMs: number;
  clock: Clock;
  logger: Logger;
  counters: PayloadCounters;
}

export const HTTP_SINK_DEFAULTS = { timeoutMs: 5000, backoffMs: 200, maxBackoffMs: 5000 } as const;

type PostResult = 'ok' | 'retry' | 'rejected';

export class HttpPayloadSink implements PayloadSink {
  private readonly queue: BoundedQueue<string>;
  private readonly target: URL;
  private readonly agent: HttpAgent;
  private inFlight: { abort(): void } | undefined;
  private timer: { kind: 'flush' | 'backoff'; handle: TimerHandle } | undefined;
  private failures = 0;
  private closing = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: HttpSinkOptions) {
    this.queue = new BoundedQueue(opts.queueSize);
    this.target = new URL(opts.url);
    this.agent =
      this.target.protocol === 'https:'
        ? new HttpsAgent({ keepAlive: true })
        : new HttpAgent({ keepAlive: true });
  }

  get queued(): number {
    return this.queue.length;
  }

  write(record: SerializedRecord): void {
    if (this.closed) return this.opts.counters.dropped('shutdown', 1);
    if (!this.queue.push(envelope(record))) return this.opts.counters.dropped('queue_full', 1);
    this.pump();
  }

  async close(ms: number): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    if (this.timer?.kind === 'flush') this.clearTimer();
    this.pump();
    let deadline: TimerHandle | undefined;
    await Promise.race([
      new Promise<void>((resolve) => {
        if (this.queue.length === 0 && !this.inFlight) resolve();
        else this.idleWaiters.push(resolve);
      }),
      new Promise<void>((resolve) => (deadline = this.opts.clock.setTimeout(resolve, ms))),
    ]);
    this.opts.clock.clearTimeout(deadline);
    this.closed = true;
    this.clearTimer();
    this.inFlight?.abort();
    this.inFlight = undefined;
    const left = this.queue.clear();
    if (left > 0) {
      this.opts.counters.dropped('shutdown', left);
      this.opts.logger.warn('payload log: records not delivered before shutdown', { dropped: left });
    }
    this.agent.destroy();
  }

  /** Sends the next batch if one is due and nothing is in flight or waiting out a backoff. */
  private pump(): void {
    if (this.closed || this.inFlight || this.timer?.kind === 'backoff') return;
    if (this.queue.length === 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
      return;
    }
    if (this.queue.length >= this.opts.batchSize || this.closing) {
      this.clearTimer();
      this.send();
    } else if (!this.timer) {
      this.arm('flush', this.opts.flushMs);
    }
  }

  private send(): void {
    const batch = this.queue.peek(this.opts.batchSize);
    const body = `[${batch.join(',')}]`;
    this.inFlight = this.post(body, (result, detail) => {
      if (this.closed) return;
      this.inFlight = undefined;
      if (result === 'ok' || result === 'rejected') {
        this.queue.drop(batch.length);
        if (result === 'ok') this.opts.counters.sent(batch.length);
        else {
          this.opts.counters.dropped('rejected', batch.length);
          this.opts.logger.warn('payload log: the collector refused a batch; dropped', {
            collector: shown(this.target),
            records: batch.length,
            detail,
          });
        }
        if (this.failures > 0)
          this.opts.logger.info('payload log: the collector is reachable again', {
            collector: shown(this.target),
            failedAttempts: this.failures,
          });
        this.failures = 0;
        this.pump();
        return;
      }
      this.failures++;
      // Said once per outage, not per retry.
      if (this.failures === 1)
        this.opts.logger.warn(
          'payload log: the collector is unreachable; retrying (records queue meanwhile)',
          {
            collector: shown(this.target),
            detail,
          },
        );
      const delay = Math.min(this.opts.maxBackoffMs, this.opts.backoffMs * 2 ** (this.failures - 1));
      this.arm('backoff', delay);
    });
  }

  private arm(kind: 'flush' | 'backoff', ms: number): void {
    this.timer = {
      kind,
      handle: this.opts.clock.setTimeout(() => {
        this.timer = undefined;
        if (kind === 'flush') {
          // Due: send what there is, however few.
          if (!this.closed && !this.inFlight && this.queue.length > 0) this.send();
        } else this.pump();
      }, ms),
    };
  }

  private clearTimer(): void {
    if (this.timer) this.opts.clock.clearTimeout(this.timer.handle);
    this.timer = undefined;
  }

  /** One POST; `done` is called once, unless the request is aborted. */
  private post(body: string, done: (result: PostResult, detail?: string) => void): { abort(): void } {
    const request = this.target.protocol === 'https:' ? httpsRequest : httpRequest;
    let finished = false;
    const finish = (result: PostResult, detail?: string): void => {
      if (finished) return;
      finished = true;
      done(result, detail);
    };
    const req = request(this.target, {
      method: 'POST',
      agent: this.agent,
      timeout: this.opts.timeoutMs,
      headers: {
        'Content-Type': 'application/cloudevents-batch+json',
        'Content-Length': Buffer.byteLength(body),
      },
    });
    req.on('response', (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      res.on('end', () => {
        if (status >= 200 && status < 300) finish('ok');
        else if (status >= 400 && status < 500 && status !== 408 && status !== 429)
          finish('rejected', `HTTP ${status}`);
        else finish('retry', `HTTP ${status}`);
      });
      res.on('error', (err) => finish('retry', err.message));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${this.opts.timeoutMs} ms`)));
    req.on('error', (err) => finish('retry', err.message));
    req.end(body);
    return {
      abort: () => {
        finished = true;
        req.destroy();
      },
    };
  }
}

/** A structured CloudEvent around the record's JSON (spliced in, not parsed again). */
function envelope(r: SerializedRecord): string {
  const source = `/v2/models/${encodeURIComponent(r.model)}/versions/${encodeURIComponent(r.version)}`;
  return (
    `{"specversion":"1.0","type":"${CLOUDEVENT_TYPE}","source":${JSON.stringify(source)},` +
    `"id":"${randomUUID()}","time":"${new Date(r.time).toISOString()}",` +
    `"datacontenttype":"application/json","data":${r.json}}`
  );
}

/** The collector's URL without credentials or query, for logs. */
function shown(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}
