import type { KubernetesObject } from '@kubernetes/client-node';
import { Backoff, type BackoffOptions } from './backoff.js';
import { sleep, type Clock } from './clock.js';
import { httpStatusOf } from './http.js';
import type { InformerTransport } from './transport.js';

/** Why a list or watch had to be started again (the `reason` label of the restarts metric). */
export type RestartReason =
  | 'expired' // the server ended the watch at its timeoutSeconds: routine
  | 'gone' // 410: our resourceVersion is too old, so we list again
  | 'closed_early' // the server ended the watch quickly without sending anything
  | 'stalled' // nothing arrived, not even the end, well past timeoutSeconds
  | 'error_event' // an ERROR watch event other than 410
  | 'unauthorized'
  | 'forbidden'
  | 'http_4xx'
  | 'http_5xx'
  | 'network'
  | 'internal'; // an unexpected exception inside the loop (a bug): start over from a fresh list

export interface ReflectorOptions<T> {
  /** The namespace listed and watched; undefined for all namespaces or a cluster-scoped resource. */
  namespace: string | undefined;
  labelSelector?: string;
  transport: InformerTransport<T>;
  clock: Clock;
  random: () => number;
  pageSize: number;
  /** Base watch timeout; each watch asks for base × (1 + jitter × random()) whole seconds. */
  watchTimeoutSeconds: number;
  watchTimeoutJitter: number;
  /** A watch is given up as dead when nothing at all arrived for its timeout plus this. */
  watchStallGraceMs: number;
  /**
   * A watch that delivered anything (a bookmark will do), or lasted this long (or half its timeout, if
   * shorter), was healthy: the backoff starts over and a normal end is followed by a new watch at once.
   */
  healthyWatchMs: number;
  backoff: BackoffOptions;
  /** A complete, fresh list of the scope. Called after every (re)list. */
  onList(items: T[]): void;
  /** One ADDED, MODIFIED or DELETED event, in order. */
  onEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T): void;
  /** The first list completed. Called once. */
  onSynced(): void;
  /** A list or watch ended and another starts after `delayMs`. `phase` says which one failed. */
  onRestart(reason: RestartReason, phase: 'list' | 'watch', delayMs: number, err?: unknown): void;
}

type WatchOutcome =
  | { kind: 'stopped' }
  | { kind: 'closed'; healthy: boolean }
  | { kind: 'gone'; healthy: boolean; err?: unknown }
  | { kind: 'failed'; healthy: boolean; reason: RestartReason; err: unknown };

/** Maps an error to a restart reason; 410 to 'gone'. */
export function classifyError(err: unknown): RestartReason {
  const status = httpStatusOf(err);
  if (status === 410) return 'gone';
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status !== undefined && status >= 500) return 'http_5xx';
  if (status !== undefined && status >= 400) return 'http_4xx';
  return 'network';
}

/**
 * The list-then-watch loop for one namespace (client-go's Reflector): list all pages, hand the result over,
 * watch from the list's resourceVersion with bookmarks, keep the resourceVersion of every event, and when a
 * watch ends start another from where it stopped. A 410 leads to a fresh list; any other failure to a retry
 * after an exponential backoff. It never gives up; only `stop` ends it.
 */
export class Reflector<T extends KubernetesObject> {
  private readonly stopper = new AbortController();
  private readonly backoff: Backoff;
  private resourceVersion = '';
  private synced = false;
  private needList = true;
  private gonesInARow = 0;
  private running?: Promise<void>;

  constructor(private readonly o: ReflectorOptions<T>) {
    this.backoff = new Backoff({ ...o.backoff, random: o.backoff.random ?? o.random });
  }

  /** Starts the loop. Idempotent; the returned promise settles when the loop has ended after `stop`. */
  run(): Promise<void> {
    this.running ??= this.loop();
    return this.running;
  }

  /** Ends the loop: aborts the watch or list in progress, cancels a pending backoff. Idempotent. */
  async stop(): Promise<void> {
    this.stopper.abort();
    await this.running;
  }

  private get stopped(): boolean {
    return this.stopper.signal.aborted;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.step();
      } catch (err) {
        // Only a bug (ours, a handler's or a transport's) lands here. It must not end the loop for good:
        // report it, start over from a fresh list after a backoff.
        this.needList = true;
        const delay = this.backoff.next();
        this.o.onRestart('internal', 'watch', delay, err);
        await sleep(this.o.clock, delay, this.stopper.signal);
      }
    }
  }

  /** Lists if needed, then runs one watch to its end and decides how and when to go on. */
  private async step(): Promise<void> {
    if (this.needList) {
      if (!(await this.listAll())) return;
      this.needList = false;
    }
    const outcome = await this.watchOnce();
    if (outcome.kind === 'stopped') return;
    if (outcome.healthy) {
      this.backoff.reset();
      this.gonesInARow = 0;
    }
    let delay = 0;
    if (outcome.kind === 'closed') {
      if (!outcome.healthy) delay = this.backoff.next();
      this.o.onRestart(outcome.healthy ? 'expired' : 'closed_early', 'watch', delay);
    } else if (outcome.kind === 'gone') {
      this.needList = true;
      // A 410 proves the server answers, so list again at once. Only a second 410 without a healthy watch
      // in between waits, so that a misbehaving server cannot make us list in a tight loop.
      if (this.gonesInARow++ > 0) delay = this.backoff.next();
      this.o.onRestart('gone', 'watch', delay, outcome.err);
    } else {
      delay = this.backoff.next();
      this.o.onRestart(outcome.reason, 'watch', delay, outcome.err);
    }
    if (delay > 0) await sleep(this.o.clock, delay, this.stopper.signal);
  }

  /** Lists every page. On failure reports it, waits out the backoff and returns false. */
  private async listAll(): Promise<boolean> {
    const items: T[] = [];
    let continueToken: string | undefined;
    let resourceVersion = '';
    try {
      do {
        const page = await this.o.transport.list({
          namespace: this.o.namespace,
          labelSelector: this.o.labelSelector,
          limit: this.o.pageSize,
          continueToken,
          signal: this.stopper.signal,
        });
        if (this.stopped) return false;
        items.push(...page.items);
        resourceVersion = page.resourceVersion;
        continueToken = page.continueToken;
      } while (continueToken);
    } catch (err) {
      if (this.stopped) return false;
      // A 410 here is an expired continue token: the next attempt lists from the start, like any retry.
      const delay = this.backoff.next();
      this.o.onRestart(classifyError(err), 'list', delay, err);
      await sleep(this.o.clock, delay, this.stopper.signal);
      return false;
    }
    this.resourceVersion = resourceVersion;
    this.o.onList(items);
    if (!this.synced) {
      this.synced = true;
      this.o.onSynced();
    }
    return true;
  }

  private watchTimeoutSeconds(): number {
    const { watchTimeoutSeconds: base, watchTimeoutJitter: jitter } = this.o;
    return Math.max(1, Math.floor(base * (1 + jitter * this.o.random())));
  }

  /** Runs one watch to its end and says how it ended. */
  private watchOnce(): Promise<WatchOutcome> {
    const { clock } = this.o;
    const signal = this.stopper.signal;
    const timeoutSeconds = this.watchTimeoutSeconds();
    const startedAt = clock.now();
    let received = 0;
    // Lasting half the requested timeout counts too, so short test timeouts are not taken for failures.
    const healthyAfterMs = Math.min(this.o.healthyWatchMs, timeoutSeconds * 500);
    const healthy = () => received > 0 || clock.now() - startedAt >= healthyAfterMs;

    return new Promise<WatchOutcome>((resolve) => {
      let settled = false;
      let handle: { abort(): void } | undefined;
      const finish = (outcome: WatchOutcome) => {
        if (settled) return;
        settled = true;
        clock.clearTimeout(watchdog);
        signal.removeEventListener('abort', onStop);
        handle?.abort();
        resolve(outcome);
      };
      const onStop = () => finish({ kind: 'stopped' });
      const fail = (err: unknown) => {
        const reason = classifyError(err);
        finish(
          reason === 'gone'
            ? { kind: 'gone', healthy: healthy(), err }
            : { kind: 'failed', healthy: healthy(), reason, err },
        );
      };
      // NOTE: the server normally ends the watch at timeoutSeconds. If neither that nor anything else
      // arrives, the connection is dead without either side noticing (a lost NAT entry, a frozen proxy).
      const watchdog = clock.setTimeout(
        () =>
          finish({
            kind: 'failed',
            healthy: false,
            reason: 'stalled',
            err: new Error(`watch silent for ${timeoutSeconds}s plus ${this.o.watchStallGraceMs}ms`),
          }),
        timeoutSeconds * 1000 + this.o.watchStallGraceMs,
      );
      if (signal.aborted) return finish({ kind: 'stopped' });
      signal.addEventListener('abort', onStop, { once: true });

      const onEvent = (type: string, raw: unknown) => {
        if (settled) return;
        try {
          handleEvent(type, raw as T & { code?: number });
        } catch (err) {
          // A malformed event or a bug downstream. client-node's Watch would swallow the exception and the
          // event would be lost, so start over from a fresh list instead.
          this.needList = true;
          finish({ kind: 'failed', healthy: false, reason: 'internal', err });
        }
      };
      const handleEvent = (type: string, obj: T & { code?: number }) => {
        if (type === 'ERROR') {
          const err = Object.assign(new Error(`watch ERROR event: ${JSON.stringify(obj)}`), {
            statusCode: obj.code,
          });
          return obj.code === 410
            ? finish({ kind: 'gone', healthy: healthy(), err })
            : finish({ kind: 'failed', healthy: healthy(), reason: 'error_event', err });
        }
        if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED' && type !== 'BOOKMARK') return;
        const rv = obj.metadata?.resourceVersion;
        if (!rv) throw new Error(`${type} watch event without a resourceVersion`);
        received++;
        if (type !== 'BOOKMARK') this.o.onEvent(type, obj);
        this.resourceVersion = rv;
      };
      const onDone = (err?: unknown) => {
        if (err) fail(err);
        else finish({ kind: 'closed', healthy: healthy() });
      };
      // Through a promise, so that a transport that throws instead of rejecting is handled alike.
      Promise.resolve()
        .then(() =>
          this.o.transport.watch(
            {
              namespace: this.o.namespace,
              labelSelector: this.o.labelSelector,
              resourceVersion: this.resourceVersion,
              timeoutSeconds,
            },
            onEvent,
            onDone,
          ),
        )
        .then(
          (h) => {
            handle = h;
            // Ended (stopped, timed out) before the connection was even up: close it now.
            if (settled) h.abort();
          },
          (err: unknown) => fail(err),
        );
    });
  }
}
