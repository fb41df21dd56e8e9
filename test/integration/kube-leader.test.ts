/**
 * Leader election on a real Lease: exactly one leader, optimistic concurrency on real resourceVersions, takeover
 * after a crash (no release) only once the lease expired, takeover after a release long before it would expire, a
 * leader cut off from the API server steps down before anyone else leads — and, checked continuously throughout,
 * never two leaders at once. Exact timings (takeover at expiry, step-down at the renew deadline) are unit-tested
 * on a manual clock (operator/src/kube/leader.test.ts); here bounds are only those a loaded machine cannot break:
 * lower bounds, orderings, and "far sooner than the lease".
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

// Short enough to observe takeovers, long enough that a busy machine never misses a renewal deadline.
const timing = { leaseDurationMs: 8000, renewDeadlineMs: 6000, retryPeriodMs: 1000 };

/** Resolves once the holder has renewed the lease `times` more times (its renewTime moved). */
async function renewals(lease: string, times: number): Promise<void> {
  let last = (await readLease(lease)).spec?.renewTime?.toString();
  for (let seen = 0; seen < times;) {
    const now = await eventually(
      async () => {
        const t = (await readLease(lease)).spec?.renewTime?.toString();
        return t !== last && t;
      },
      30_000,
      50,
    );
    last = now;
    seen++;
  }
}

describe('LeaderElector on a real Lease', () => {
  it.each([1, 2, 3])(
    'lets exactly one of three simultaneous candidates lead, and keeps it (round %i)',
    async (round) => {
      const lease = `one-of-three-${round}`;
      const e = election(lease, timing);
      const all = ['a', 'b', 'c'].map((n) => e.add(n));
      for (const c of all) c.elector.start();
      await eventually(async () => e.leaders().length === 1, 10_000);
      const [leader] = e.leaders();
      // Several renewals later, still the same single leader: it renews, the others wait.
      await renewals(lease, 3);
      expect(e.leaders()).toEqual([leader]);
      expect(all.map((c) => c.started.length)).toEqual(all.map((c) => (c === leader ? 1 : 0)));
      const spec = (await readLease(lease)).spec!;
      expect(spec.holderIdentity).toMatch(new RegExp(`^${leader!.name}_[0-9a-f]{10}$`));
      expect(spec.leaseDurationSeconds).toBe(8);
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
      const e = election(lease, { ...timing, random: () => 0 });
      const racers = [e.add('left'), e.add('right')];
      for (const c of racers) c.elector.start();
      await eventually(async () => e.leaders().length > 0, 10_000, 5);
      await renewals(lease, 1);
      expect(e.leaders()).toHaveLength(1);
      expect(racers.map((c) => c.started.length).sort()).toEqual([0, 1]);
      const spec = (await readLease(lease)).spec!;
      expect(spec.holderIdentity).toBe(e.leaders()[0]!.elector.identity);
      expect(spec.leaseTransitions).toBe(6);
      expect(e.violations).toEqual([]);
    },
    30_000,
  );

  it('hands over when the leader stops renewing (crash), but not before the lease expired', async () => {
    const e = election('crash', timing);
    const first = e.add('first');
    first.elector.start();
    await eventually(async () => first.elector.isLeader(), 10_000);
    const second = e.add('second');
    second.elector.start();
    await renewals('crash', 2); // the standby has seen the lease renewed
    expect(second.elector.isLeader()).toBe(false);

    const crashedAt = Date.now();
    await first.elector.stop(); // no release: the lease still names `first`
    expect((await readLease('crash')).spec!.holderIdentity).toBe(first.elector.identity);
    await eventually(async () => second.elector.isLeader(), 30_000, 20);
    // Not before the lease expired as the standby observed it: at least leaseDuration − retryPeriod after the
    // crash, since the last renewal may have been up to one retryPeriod earlier. (A loaded machine only adds.)
    expect(second.started[0]! - crashedAt).toBeGreaterThanOrEqual(
      timing.leaseDurationMs - timing.retryPeriodMs - 300,
    );
    const spec = (await readLease('crash')).spec!;
    expect(spec.holderIdentity).toBe(second.elector.identity);
    expect(spec.leaseTransitions).toBe(1);
    expect(first.stopped).toHaveLength(1);
    expect(e.violations).toEqual([]);
  }, 60_000);

  it('hands over long before the lease would expire when the leader releases it', async () => {
    const slowExpiry = { leaseDurationMs: 60_000, renewDeadlineMs: 6000, retryPeriodMs: 1000 };
    const e = election('release', slowExpiry);
    const first = e.add('first');
    first.elector.start();
    await eventually(async () => first.elector.isLeader(), 10_000);
    const second = e.add('second');
    second.elector.start();
    await renewals('release', 1);

    expect(await first.elector.release()).toBe(true);
    const releasedAt = Date.now();
    expect(first.elector.isLeader()).toBe(false);
    expect(first.stopped).toHaveLength(1);
    expect(await gauge(first)).toBe(0);
    await eventually(async () => second.elector.isLeader(), 30_000, 20);
    // The lease would have held for 60 s more.
    expect(second.started[0]! - releasedAt).toBeLessThan(slowExpiry.leaseDurationMs / 2);
    const spec = (await readLease('release')).spec!;
    expect(spec.holderIdentity).toBe(second.elector.identity);
    expect(spec.leaseTransitions).toBe(1);
    expect(await first.elector.release()).toBe(false); // idempotent
    expect(e.violations).toEqual([]);
  }, 60_000);

  it('steps down when cut off from the API server, before anyone else takes over', async () => {
    const server = new URL(kubeConfig().getCurrentCluster()!.server);
    const proxy = await TcpProxy.start(server.hostname, Number(server.port));
    cleanups.push(() => proxy.close());
    const e = election('cutoff', timing);
    const cut = e.add('cut', viaProxy(proxy.port));
    cut.elector.start();
    await eventually(async () => cut.elector.isLeader(), 10_000);
    const other = e.add('other');
    other.elector.start();
    await renewals('cutoff', 1);

    await proxy.refuse();
    await eventually(async () => cut.stopped.length === 1, 30_000, 20);
    await eventually(async () => other.elector.isLeader(), 30_000, 20);
    expect(other.started[0]!).toBeGreaterThan(cut.stopped[0]!);
    // Once lost, an elector does not campaign again, even when the API server is back.
    await proxy.accept();
    await renewals('cutoff', 2);
    expect(cut.elector.isLeader()).toBe(false);
    expect(cut.started).toHaveLength(1);
    expect(e.violations).toEqual([]);
  }, 90_000);

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
