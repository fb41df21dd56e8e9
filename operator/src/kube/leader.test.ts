import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { silentLogger } from '../telemetry/logger.js';
import { LeaderElector } from './leader.js';
import { FakeClock } from './testing/fake-clock.js';
import { MemoryLease } from './testing/memory-lease.js';

const timing = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };
const step = 100;

/** Candidates for one in-memory Lease on a clock the test moves; after every step, never two leaders. */
function election() {
  const clock = new FakeClock(1_000_000);
  const lease = new MemoryLease();
  const candidates = new Map<string, { elector: LeaderElector; started: number[]; stopped: number[] }>();
  const add = (name: string) => {
    const started: number[] = [];
    const stopped: number[] = [];
    const elector = new LeaderElector({
      leaseApi: lease.client(name),
      leaseNamespace: 'ns',
      leaseName: 'lease',
      identity: name,
      logger: silentLogger(),
      registry: new Registry(),
      onStartedLeading: () => started.push(clock.now()),
      onStoppedLeading: () => stopped.push(clock.now()),
      clock,
      wallClock: () => clock.now(),
      random: () => 0,
      ...timing,
    });
    candidates.set(name, { elector, started, stopped });
    return { elector, started, stopped };
  };
  const leaders = () => [...candidates].filter(([, c]) => c.elector.isLeader()).map(([n]) => n);
  /** Moves time by `ms` in small steps, checking the one-leader rule after each. */
  const run = async (ms: number) => {
    for (let t = 0; t < ms; t += step) {
      await clock.advance(step);
      expect(leaders().length).toBeLessThanOrEqual(1);
    }
  };
  /** Moves time until `check()` holds; returns how long that took. */
  const runUntil = async (check: () => boolean, limitMs = 60_000) => {
    const from = clock.now();
    while (!check()) {
      if (clock.now() - from > limitMs) throw new Error('condition never held');
      await run(step);
    }
    return clock.now() - from;
  };
  const stopAll = () => Promise.all([...candidates.values()].map((c) => c.elector.stop()));
  return { clock, lease, add, leaders, run, runUntil, stopAll };
}

describe('LeaderElector (in-memory Lease, manual clock)', () => {
  it('lets one candidate lead and keeps it there while it renews', async () => {
    const e = election();
    const a = e.add('a');
    const b = e.add('b');
    a.elector.start();
    await e.run(step);
    b.elector.start();
    await e.run(60_000);
    expect(e.leaders()).toEqual(['a']);
    expect(a.started).toHaveLength(1);
    expect(b.started).toEqual([]);
    expect(e.lease.record()).toMatchObject({
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      leaseTransitions: 0,
    });
    await e.stopAll();
  });

  it('after a crash, the standby takes over once the lease has expired as it observed it, not before', async () => {
    const e = election();
    const a = e.add('a');
    const b = e.add('b');
    a.elector.start();
    b.elector.start();
    await e.run(9_000);
    expect(e.leaders()).toEqual(['a']);
    await a.elector.stop(); // no release: the Lease still names a
    const crashedAt = e.clock.now();
    const lastRenewal = e.lease.writes.at(-1)!;
    expect(lastRenewal).toEqual({ by: 'a', holder: 'a' });
    const takeover = await e.runUntil(() => b.elector.isLeader());
    // The last renewal happened at most one retry period before the crash, and b saw it at its next read.
    expect(takeover).toBeGreaterThanOrEqual(timing.leaseDurationMs - timing.retryPeriodMs);
    expect(takeover).toBeLessThanOrEqual(timing.leaseDurationMs + timing.retryPeriodMs + step);
    expect(b.started[0]! - crashedAt).toBe(takeover);
    expect(e.lease.record()).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    await e.stopAll();
  });

  it('after a release, the standby takes over at its next attempt, long before the lease would expire', async () => {
    const e = election();
    const a = e.add('a');
    const b = e.add('b');
    a.elector.start();
    b.elector.start();
    await e.run(5_000);
    expect(await a.elector.release()).toBe(true);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.stopped).toHaveLength(1);
    const takeover = await e.runUntil(() => b.elector.isLeader());
    expect(takeover).toBeLessThanOrEqual(timing.retryPeriodMs + step);
    expect(await a.elector.release()).toBe(false);
    await e.stopAll();
  });

  it('a leader cut off from the API server steps down by its renew deadline, before anyone else leads', async () => {
    const e = election();
    const a = e.add('a');
    const b = e.add('b');
    a.elector.start();
    b.elector.start();
    await e.run(5_000);
    const lastRenewStart = e.clock.now() - (e.clock.now() % timing.retryPeriodMs); // renewals every 2 s
    e.lease.cutOff('a');
    await e.runUntil(() => a.stopped.length === 1);
    expect(a.stopped[0]! - lastRenewStart).toBeLessThanOrEqual(timing.renewDeadlineMs + step);
    await e.runUntil(() => b.elector.isLeader());
    expect(b.started[0]!).toBeGreaterThan(a.stopped[0]!);
    // Once it has lost the lease, it does not campaign again, even when it can reach the server again.
    e.lease.reconnect('a');
    await e.run(30_000);
    expect(a.started).toHaveLength(1);
    expect(e.leaders()).toEqual(['b']);
    await e.stopAll();
  });

  it('of two candidates that race for an expired lease at the same instant, exactly one wins', async () => {
    const e = election();
    const ghost = e.add('ghost');
    ghost.elector.start();
    await e.run(step);
    await ghost.elector.stop(); // leaves a lease that expires
    const racers = [e.add('left'), e.add('right')];
    for (const r of racers) r.elector.start();
    await e.run(40_000);
    expect(racers.map((r) => r.started.length).sort()).toEqual([0, 1]);
    expect(e.lease.record()).toMatchObject({ leaseTransitions: 1 });
    await e.stopAll();
  });
});
