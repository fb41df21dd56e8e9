/**
 * Leader election on a real Lease: exactly one leader, takeover after a crash (no release) within about
 * leaseDuration + retryPeriod, takeover after a release within about one retryPeriod, a leader cut off from
 * the API server steps down by its renew deadline — and, checked continuously throughout, never two leaders
 * at once.
 */
import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { LeaderElector, leaderIdentity, type LeaderElectionOptions } from '../../operator/src/kube/leader.js';
import { TcpProxy } from '../../operator/src/kube/testing/tcp-proxy.js';
import { silentLogger } from '../../operator/src/telemetry/logger.js';
import { createNamespace, eventually, kubeConfig, kubectlOk, viaProxy } from '../support/cluster.js';

let ns: string;
beforeAll(async () => {
  ns = await createNamespace('leader');
}, 30_000);

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Candidate {
  name: string;
  elector: LeaderElector;
  registry: Registry;
  started: number[];
  stopped: number[];
}

/**
 * Candidates for one lease, watched every 5 ms (and at every callback) for two leaders at once. The check
 * uses isLeader() and the callbacks, i.e. what the operator would act on.
 */
function election(lease: string, timing: Partial<LeaderElectionOptions>) {
  const candidates: Candidate[] = [];
  const violations: string[] = [];
  const check = (when: string) => {
    const leaders = candidates.filter((c) => c.elector.isLeader() || c.started.length > c.stopped.length);
    if (leaders.length > 1) violations.push(`${when}: ${leaders.map((c) => c.name).join(' and ')} both lead`);
  };
  const monitor = setInterval(() => check('poll'), 5);
  cleanups.push(async () => {
    clearInterval(monitor);
    await Promise.all(candidates.map((c) => c.elector.stop()));
  });
  const add = (name: string, kc: k8s.KubeConfig = kubeConfig()) => {
    const started: number[] = [];
    const stopped: number[] = [];
    const registry = new Registry();
    const elector = new LeaderElector({
      kubeConfig: kc,
      leaseNamespace: ns,
      leaseName: lease,
      identity: leaderIdentity(name),
      logger: silentLogger(),
      registry,
      onStartedLeading: () => {
        started.push(Date.now());
        check(`${name} started`);
      },
      onStoppedLeading: () => {
        stopped.push(Date.now());
      },
      ...timing,
    });
    const c: Candidate = { name, elector, registry, started, stopped };
    candidates.push(c);
    return c;
  };
  const leaders = () => candidates.filter((c) => c.elector.isLeader());
  return { add, candidates, violations, leaders };
}

async function readLease(name: string): Promise<k8s.V1Lease> {
  return kubeConfig().makeApiClient(k8s.CoordinationV1Api).readNamespacedLease({ name, namespace: ns });
}

async function gauge(c: Candidate): Promise<number | undefined> {
  return (await c.registry.getSingleMetric('modelship_operator_leader')!.get()).values[0]?.value;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fast = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 };

describe('LeaderElector on a real Lease', () => {
  it.each([1, 2, 3])(
    'lets exactly one of three simultaneous candidates lead, and keeps it (round %i)',
    async (round) => {
      const lease = `one-of-three-${round}`;
      const e = election(lease, fast);
      const all = ['a', 'b', 'c'].map((n) => e.add(n));
      for (const c of all) c.elector.start();
      await eventually(async () => e.leaders().length === 1, 10_000);
      const [leader] = e.leaders();
      // Several lease durations later, still the same single leader: it renews, the others wait.
      await sleep(4000);
      expect(e.leaders()).toEqual([leader]);
      expect(all.map((c) => c.started.length)).toEqual(all.map((c) => (c === leader ? 1 : 0)));
      const spec = (await readLease(lease)).spec!;
      expect(spec.holderIdentity).toMatch(new RegExp(`^${leader!.name}_[0-9a-f]{10}$`));
      expect(spec.leaseDurationSeconds).toBe(3);
      expect(spec.leaseTransitions).toBe(0);
      expect(await Promise.all(all.map(gauge))).toEqual(all.map((c) => (c === leader ? 1 : 0)));
      expect(e.violations).toEqual([]);
    },
    30_000,
  );

  it.each([1, 2, 3])(
    'lets exactly one of two candidates that try at the same instant take over an expired lease (round %i)',
    async (round) => {
      const lease = `race-${round}`;
      await kubectlOk(
        ['apply', '-n', ns, '-f', '-'],
        `apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: ${lease}
spec:
  holderIdentity: ghost
  leaseDurationSeconds: 1
  leaseTransitions: 5
`,
      );
      // No jitter: both read the lease at the same moments, see it expire together and write together,
      // both based on the same resourceVersion. Only optimistic concurrency keeps one of them out.
      const e = election(lease, { ...fast, random: () => 0 });
      const racers = [e.add('left'), e.add('right')];
      for (const c of racers) c.elector.start();
      await eventually(async () => e.leaders().length > 0, 10_000, 5);
      await sleep(1000);
      expect(e.leaders()).toHaveLength(1);
      expect(racers.map((c) => c.started.length).sort()).toEqual([0, 1]);
      const spec = (await readLease(lease)).spec!;
      expect(spec.holderIdentity).toBe(e.leaders()[0]!.elector.identity);
      expect(spec.leaseTransitions).toBe(6);
      expect(e.violations).toEqual([]);
    },
    30_000,
  );

  it('hands over within about leaseDuration + retryPeriod when the leader stops renewing (crash)', async () => {
    const e = election('crash', fast);
    const first = e.add('first');
    first.elector.start();
    await eventually(async () => first.elector.isLeader(), 10_000);
    const second = e.add('second');
    second.elector.start();
    await sleep(1500); // the standby has seen several renewals
    expect(second.elector.isLeader()).toBe(false);

    const crashedAt = Date.now();
    await first.elector.stop(); // no release: the lease still names `first`
    expect((await readLease('crash')).spec!.holderIdentity).toBe(first.elector.identity);
    await eventually(async () => second.elector.isLeader(), 15_000, 20);
    const takeover = second.started[0]! - crashedAt;
    // Not before the lease expired as the standby observed it (≥ leaseDuration − retryPeriod after the
    // crash, since the last renewal may have been up to one retryPeriod earlier), and not much after.
    expect(takeover).toBeGreaterThanOrEqual(fast.leaseDurationMs - fast.retryPeriodMs - 300);
    expect(takeover).toBeLessThanOrEqual(fast.leaseDurationMs + 3 * fast.retryPeriodMs + 1000);
    const spec = (await readLease('crash')).spec!;
    expect(spec.holderIdentity).toBe(second.elector.identity);
    expect(spec.leaseTransitions).toBe(1);
    expect(first.stopped).toHaveLength(1);
    expect(e.violations).toEqual([]);
  }, 30_000);

  it('hands over within about one retryPeriod when the leader releases', async () => {
    const slowExpiry = { leaseDurationMs: 10_000, renewDeadlineMs: 3000, retryPeriodMs: 500 };
    const e = election('release', slowExpiry);
    const first = e.add('first');
    first.elector.start();
    await eventually(async () => first.elector.isLeader(), 10_000);
    const second = e.add('second');
    second.elector.start();
    await sleep(1500);

    expect(await first.elector.release()).toBe(true);
    const releasedAt = Date.now();
    expect(first.elector.isLeader()).toBe(false);
    expect(first.stopped).toHaveLength(1);
    expect(await gauge(first)).toBe(0);
    await eventually(async () => second.elector.isLeader(), 10_000, 20);
    // Far sooner than the 10 s lease would have taken to expire.
    expect(second.started[0]! - releasedAt).toBeLessThanOrEqual(1.2 * slowExpiry.retryPeriodMs + 1000);
    const spec = (await readLease('release')).spec!;
    expect(spec.holderIdentity).toBe(second.elector.identity);
    expect(spec.leaseTransitions).toBe(1);
    expect(await first.elector.release()).toBe(false); // idempotent
    expect(e.violations).toEqual([]);
  }, 30_000);

  it('steps down by its renew deadline when cut off from the API server, before anyone else takes over', async () => {
    const server = new URL(kubeConfig().getCurrentCluster()!.server);
    const proxy = await TcpProxy.start(server.hostname, Number(server.port));
    cleanups.push(() => proxy.close());
    const e = election('cutoff', fast);
    const cut = e.add('cut', viaProxy(proxy.port));
    cut.elector.start();
    await eventually(async () => cut.elector.isLeader(), 10_000);
    const other = e.add('other');
    other.elector.start();
    await sleep(1500);

    const cutAt = Date.now();
    await proxy.refuse();
    await eventually(async () => cut.stopped.length === 1, 10_000, 20);
    expect(cut.stopped[0]! - cutAt).toBeLessThanOrEqual(fast.renewDeadlineMs + 500);
    await eventually(async () => other.elector.isLeader(), 15_000, 20);
    expect(other.started[0]!).toBeGreaterThan(cut.stopped[0]!);
    // Once lost, an elector does not campaign again, even when the API server is back.
    await proxy.accept();
    await sleep(1500);
    expect(cut.elector.isLeader()).toBe(false);
    expect(cut.started).toHaveLength(1);
    expect(e.violations).toEqual([]);
  }, 30_000);

  it('refuses timings that cannot work', () => {
    const base = {
      kubeConfig: kubeConfig(),
      leaseNamespace: ns,
      leaseName: 'x',
      identity: 'me',
      logger: silentLogger(),
      registry: new Registry(),
      onStartedLeading: () => undefined,
      onStoppedLeading: () => undefined,
    };
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 5000, renewDeadlineMs: 5000 })).toThrow(
      /exceed/,
    );
    expect(() => new LeaderElector({ ...base, renewDeadlineMs: 2000, retryPeriodMs: 2000 })).toThrow(
      /exceed/,
    );
    expect(() => new LeaderElector({ ...base, identity: '' })).toThrow(/identity/);
  });
});
