import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { Logger } from '../telemetry/logger.js';
import { realClock, sleep, type Clock } from './clock.js';
import { httpStatusOf, kubeRequest } from './http.js';
import {
  mayAcquire,
  microTime,
  nextRecord,
  recordOf,
  releasedRecord,
  sameRecord,
  type LeaseObject,
  type LeaseRecord,
} from './lease.js';
import { counterOn, gaugeOn } from './metrics.js';

/** Reads and writes one Lease. `kubeLeaseApi` is the real one; unit tests use an in-memory one. */
export interface LeaseApi {
  /** The Lease; rejects with an error whose statusCode is 404 when it does not exist. */
  get(signal?: AbortSignal): Promise<LeaseObject>;
  /** Creates the Lease with this record; 409 when it exists. */
  create(record: LeaseRecord, signal?: AbortSignal): Promise<LeaseObject>;
  /** Writes `record` on top of `base` (PUT with its resourceVersion): 409 if anyone wrote it since `base` was read. */
  replace(base: LeaseObject, record: LeaseRecord, signal?: AbortSignal): Promise<LeaseObject>;
}

export interface LeaderElectionOptions {
  /** Cluster and credentials. Required unless `leaseApi` is given. */
  kubeConfig?: KubeConfig;
  /** Replaces the API server (unit tests). */
  leaseApi?: LeaseApi;
  leaseNamespace: string;
  leaseName: string;
  /** Unique per process, e.g. leaderIdentity(podName). */
  identity: string;
  /**
   * How long a lease not renewed stays with its holder, as seen by the other candidates. Written to the
   * Lease in whole seconds (rounded up). @default 15_000
   */
  leaseDurationMs?: number;
  /** The leader stops leading when it could not renew for this long. Must be < leaseDurationMs. @default 10_000 */
  renewDeadlineMs?: number;
  /** Interval between renewals, and between attempts to acquire (plus up to 20 % jitter). @default 2_000 */
  retryPeriodMs?: number;
  logger: Logger;
  registry: Registry;
  /** Called when this process becomes the leader. Not awaited; exceptions and rejections are logged. */
  onStartedLeading: () => unknown;
  /**
   * Called once when this process stops being the leader: renewals failed for renewDeadlineMs, another
   * holder took the lease, or stop()/release() was called while leading. Not called if it never led.
   */
  onStoppedLeading: () => unknown;
  clock?: Clock;
  /** Wall-clock time for the Lease's acquireTime/renewTime (informational only). @default Date.now */
  wallClock?: () => number;
  random?: () => number;
}

/** A leader-election identity: the pod (host) name plus a random suffix, so a restarted pod is a new candidate. */
export function leaderIdentity(podName: string = hostname()): string {
  return `${podName}_${randomBytes(5).toString('hex')}`;
}

type Attempt = 'ok' | 'held' | 'failed';

/**
 * Leader election on a coordination.k8s.io/v1 Lease with client-go's semantics:
 * - a candidate takes the lease when it has no holder, or when its record has not changed for
 *   leaseDuration as observed on the candidate's own clock;
 * - the leader renews every retryPeriod and stops leading when it has not renewed for renewDeadline
 *   (counted from the start of its last successful write, so it always gives up before any other
 *   candidate can see the lease as expired);
 * - every write carries the resourceVersion it was based on, so of two candidates racing for an expired
 *   lease exactly one wins (the other gets 409 Conflict);
 * - leaseTransitions counts changes of holder.
 * Once it has stopped leading, an elector does not campaign again: the operator is expected to exit.
 */
export class LeaderElector {
  private readonly clock: Clock;
  private readonly wallClock: () => number;
  private readonly random: () => number;
  private readonly leaseDurationSeconds: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly stopper = new AbortController();
  private readonly log: Logger;
  private readonly metrics;
  private readonly api: LeaseApi;
  private loop?: Promise<void>;
  private leading = false;
  /** The last Lease we read or wrote, for its resourceVersion. */
  private lease?: LeaseObject;
  private observed?: LeaseRecord;
  private observedAt = 0;

  constructor(private readonly o: LeaderElectionOptions) {
    this.clock = o.clock ?? realClock;
    this.wallClock = o.wallClock ?? Date.now;
    this.random = o.random ?? Math.random;
    const leaseDurationMs = o.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = o.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = o.retryPeriodMs ?? 2_000;
    if (!(leaseDurationMs > this.renewDeadlineMs))
      throw new Error('leaseDurationMs must exceed renewDeadlineMs');
    if (!(this.renewDeadlineMs > 1.2 * this.retryPeriodMs)) {
      throw new Error('renewDeadlineMs must exceed 1.2 × retryPeriodMs');
    }
    if (!(this.retryPeriodMs > 0)) throw new Error('retryPeriodMs must be positive');
    if (!o.identity) throw new Error('identity must not be empty');
    this.leaseDurationSeconds = Math.ceil(leaseDurationMs / 1000);
    if (!o.leaseApi && !o.kubeConfig) throw new Error('LeaderElector needs kubeConfig (or a leaseApi)');
    this.api = o.leaseApi ?? kubeLeaseApi(o.kubeConfig!, o.leaseNamespace, o.leaseName);
    const lease = `${o.leaseNamespace}/${o.leaseName}`;
    this.log = o.logger.child({ lease, identity: o.identity });
    this.metrics = {
      leader: gaugeOn(o.registry, {
        name: 'modelship_operator_leader',
        help: '1 while this process holds the leader lease, else 0.',
        labelNames: ['lease'] as const,
      }),
      transitions: counterOn(o.registry, {
        name: 'modelship_operator_leader_transitions_total',
        help: 'Times this process started or stopped leading.',
        labelNames: ['lease', 'transition'] as const,
      }),
    };
    this.metrics.leader.set({ lease }, 0);
  }

  /** Starts campaigning in the background. Idempotent. Throws after stop()/release(). */
  start(): void {
    if (this.stopper.signal.aborted) throw new Error('leader elector was stopped; create a new one');
    this.loop ??= this.run().catch((err: unknown) => {
      // Unreachable unless there is a bug; a leader that no longer renews must not go on believing it leads.
      this.log.error('leader election loop failed', { err: errorText(err) });
      this.stopLeading('lost');
    });
  }

  /** The identity this elector writes into the Lease. */
  get identity(): string {
    return this.o.identity;
  }

  /** True while this process is the leader. */
  isLeader(): boolean {
    return this.leading;
  }

  /**
   * Stops campaigning and renewing WITHOUT giving the lease up: others take over only once it expires
   * (leaseDuration). For when releasing is not possible or not wanted; prefer release() on shutdown.
   * Calls onStoppedLeading if leading. Idempotent.
   */
  async stop(): Promise<void> {
    this.stopper.abort();
    await this.loop;
    if (this.leading) this.stopLeading('stopped');
  }

  /**
   * Stops campaigning and, if leading, gives the lease up (no holder, leaseDurationSeconds 1) so a standby
   * takes over within about one retryPeriod; then calls onStoppedLeading. Call it after in-flight work is
   * done. Resolves true if the lease was released, false if this process was not leading or the write failed
   * (then the lease simply expires). Idempotent.
   */
  async release(): Promise<boolean> {
    const wasLeading = this.leading;
    this.stopper.abort();
    await this.loop;
    if (!wasLeading || !this.leading) return false;
    // Not the leader any more from here on, before the lease says so: a standby may take over as soon as
    // the write lands, and the two must never both believe they lead. onStoppedLeading comes after the
    // write, because the operator may exit from it.
    this.setLeading(false, 'released');
    let released = false;
    for (let attempt = 0; attempt < 2 && !released; attempt++) {
      const timeout = this.timeoutSignal(this.renewDeadlineMs, false);
      try {
        // A second attempt means our resourceVersion was stale (a renewal cut short by stop): read it again.
        if (attempt > 0) this.lease = await this.api.get(timeout.signal);
        const record = recordOf(this.lease!);
        if (record.holderIdentity !== this.o.identity) break; // someone else holds it already
        const next = releasedRecord(record, microTime(this.wallClock()));
        this.lease = await this.api.replace(this.lease!, next, timeout.signal);
        released = true;
      } catch (err) {
        this.log.warn('releasing the lease failed', { attempt, err: errorText(err) });
      } finally {
        timeout.clear();
      }
    }
    this.log.info('stopped leading', { why: 'released', released });
    this.callback('onStoppedLeading', this.o.onStoppedLeading);
    return released;
  }

  private async run(): Promise<void> {
    const signal = this.stopper.signal;
    this.log.info('campaigning for leadership');
    let lastRenewStart = 0;
    while (!signal.aborted) {
      lastRenewStart = this.clock.now();
      if ((await this.tryAcquireOrRenew(this.renewDeadlineMs)) === 'ok') break;
      await sleep(this.clock, this.retryPeriodMs * (1 + 0.2 * this.random()), signal);
    }
    if (signal.aborted) return;
    this.startLeading();
    while (!signal.aborted) {
      await sleep(this.clock, this.retryPeriodMs, signal);
      const renewedAt = await this.renewBefore(lastRenewStart + this.renewDeadlineMs);
      if (signal.aborted) return;
      if (renewedAt === undefined) {
        this.stopLeading('lost');
        return;
      }
      lastRenewStart = renewedAt;
    }
  }

  /** Retries renewing until `deadline`; returns when the successful attempt started, or undefined. */
  private async renewBefore(deadline: number): Promise<number | undefined> {
    const signal = this.stopper.signal;
    while (!signal.aborted) {
      const start = this.clock.now();
      if (start >= deadline) break;
      const result = await this.tryAcquireOrRenew(deadline - start);
      if (result === 'ok') return start;
      if (result === 'held') {
        this.log.warn('another candidate holds the lease', { holder: this.observed?.holderIdentity });
        return undefined;
      }
      const left = deadline - this.clock.now();
      if (left <= 0) break;
      await sleep(this.clock, Math.min(this.retryPeriodMs, left), signal);
    }
    if (!signal.aborted) this.log.error('could not renew the lease before the renew deadline');
    return undefined;
  }

  /** One client-go tryAcquireOrRenew, with every request bounded by `budgetMs`. */
  private async tryAcquireOrRenew(budgetMs: number): Promise<Attempt> {
    const nowIso = microTime(this.wallClock());
    const timeout = this.timeoutSignal(budgetMs);
    try {
      // Fast path: the leader writes on top of the version it last wrote, without reading first.
      if (this.leading && this.lease && this.observed && this.leaseValid(this.clock.now())) {
        try {
          const next = nextRecord(this.observed, this.o.identity, this.leaseDurationSeconds, nowIso);
          this.observe(await this.api.replace(this.lease, next, timeout.signal));
          return 'ok';
        } catch (err) {
          if (timeout.signal.aborted) return 'failed';
          this.log.debug('optimistic renew failed, reading the lease', { err: errorText(err) });
        }
      }
      let current: LeaseObject;
      try {
        current = await this.api.get(timeout.signal);
      } catch (err) {
        if (httpStatusOf(err) !== 404) throw err;
        const created = await this.api.create(
          nextRecord(undefined, this.o.identity, this.leaseDurationSeconds, nowIso),
          timeout.signal,
        );
        this.observe(created);
        return 'ok';
      }
      this.observe(current);
      if (!mayAcquire(this.observed!, this.o.identity, this.observedAt, this.clock.now())) return 'held';
      const next = nextRecord(this.observed, this.o.identity, this.leaseDurationSeconds, nowIso);
      this.observe(await this.api.replace(current, next, timeout.signal));
      return 'ok';
    } catch (err) {
      if (!this.stopper.signal.aborted) {
        const conflict = httpStatusOf(err) === 409;
        this.log[conflict || !this.leading ? 'debug' : 'warn']('lease update failed', {
          err: errorText(err),
        });
      }
      return 'failed';
    } finally {
      timeout.clear();
    }
  }

  /** Remembers a Lease read or written; the observation time moves only when the record changed. */
  private observe(lease: LeaseObject): void {
    this.lease = lease;
    const record = recordOf(lease);
    if (!sameRecord(record, this.observed)) {
      this.observed = record;
      this.observedAt = this.clock.now();
    }
  }

  private leaseValid(now: number): boolean {
    return !!this.observed && now < this.observedAt + this.observed.leaseDurationSeconds * 1000;
  }

  private startLeading(): void {
    this.setLeading(true, 'started');
    this.log.info('started leading', { leaseTransitions: this.observed?.leaseTransitions });
    this.callback('onStartedLeading', this.o.onStartedLeading);
  }

  private stopLeading(why: 'lost' | 'stopped'): void {
    if (!this.leading) return;
    this.setLeading(false, why);
    this.log[why === 'lost' ? 'error' : 'info']('stopped leading', { why });
    this.callback('onStoppedLeading', this.o.onStoppedLeading);
  }

  private setLeading(leading: boolean, why: string): void {
    this.leading = leading;
    const lease = `${this.o.leaseNamespace}/${this.o.leaseName}`;
    this.metrics.leader.set({ lease }, leading ? 1 : 0);
    this.metrics.transitions.inc({ lease, transition: leading ? 'started' : 'stopped' });
    this.log.debug('leadership changed', { leading, why });
  }

  private callback(name: string, fn: () => unknown): void {
    try {
      const result = fn();
      if (result instanceof Promise) {
        result.catch((err: unknown) => this.log.error(`${name} rejected`, { err: errorText(err) }));
      }
    } catch (err) {
      this.log.error(`${name} threw`, { err: errorText(err) });
    }
  }

  /** An AbortSignal that fires after `ms` on the injected clock, or (if `onStop`) when the elector stops. */
  private timeoutSignal(ms: number, onStop = true): { signal: AbortSignal; clear: () => void } {
    const controller = new AbortController();
    const timer = this.clock.setTimeout(() => controller.abort(new Error(`timed out after ${ms} ms`)), ms);
    const abort = () => controller.abort(new Error('stopped'));
    if (onStop) this.stopper.signal.addEventListener('abort', abort, { once: true });
    return {
      signal: controller.signal,
      clear: () => {
        this.clock.clearTimeout(timer);
        this.stopper.signal.removeEventListener('abort', abort);
      },
    };
  }
}

/** The Lease `namespace/name` on the API server, over plain JSON requests. */
export function kubeLeaseApi(kc: KubeConfig, namespace: string, name: string): LeaseApi {
  const collection = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  const path = `${collection}/${encodeURIComponent(name)}`;
  return {
    get: async (signal) => (await kubeRequest(kc, { path, signal })) as LeaseObject,
    create: async (record, signal) =>
      (await kubeRequest(kc, {
        method: 'POST',
        path: collection,
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: record,
        },
        signal,
      })) as LeaseObject,
    replace: async (base, record, signal) =>
      (await kubeRequest(kc, {
        method: 'PUT',
        path,
        body: { ...base, spec: { ...base.spec, ...record } },
        signal,
      })) as LeaseObject,
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
