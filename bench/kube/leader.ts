/**
 * Leader election on a real API server: the project's LeaderElector (operator/src/kube/leader.ts, defaults:
 * lease 15 s, renew deadline 10 s, retry 2 s) and, when BENCH_LEADER_PKG names an installed copy of
 * @codedependant/kubernetes-leader-election (the one Lease-based elector built on client-node in the
 * registry's package list; defaults lease 20 s, renew 10 s), the same scenarios with it:
 *   requests  requests per minute of a leader and of a follower (counting proxy)
 *   freeze    the leader's connections go silent (open and new ones hang, no error): when does it stop
 *             leading, when does the other candidate start, and do they overlap (two leaders)?
 *   release   the leader gives the lease up on shutdown: how long until the other leads?
 *
 *   npm install --prefix /tmp/le @codedependant/kubernetes-leader-election@1.0.1
 *   BENCH_LEADER_PKG=/tmp/le/node_modules/@codedependant/kubernetes-leader-election npx tsx bench/kube/leader.ts
 */
import { writeFileSync, mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventEmitter } from 'node:events';
import type * as k8s from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { LeaderElector } from '../../operator/src/kube/leader.js';
import { silentLogger } from '../../operator/src/telemetry/logger.js';
import {
  benchCluster,
  CountingProxy,
  createNamespace,
  FreezableProxy,
  kubeConfig,
  ms,
  printTable,
  saveResult,
  sleep,
  timeUntil,
  viaProxy,
} from './support.js';

interface Candidate {
  name: string;
  leading: boolean;
  startedAt?: number;
  stoppedAt?: number;
  start(): Promise<void>;
  /** Gives the lease up (as on a clean shutdown). */
  release(): Promise<void>;
  /** Stops without touching the lease. */
  abandon(): Promise<void>;
}

function ours(kc: k8s.KubeConfig, ns: string, lease: string, name: string): Candidate {
  const c: Candidate = {
    name,
    leading: false,
    start: async () => elector.start(),
    release: async () => void (await elector.release()),
    abandon: () => elector.stop(),
  };
  const elector = new LeaderElector({
    kubeConfig: kc,
    leaseNamespace: ns,
    leaseName: lease,
    identity: name,
    logger: silentLogger(),
    registry: new Registry(),
    onStartedLeading: () => {
      c.leading = true;
      c.startedAt = performance.now();
    },
    onStoppedLeading: () => {
      c.leading = false;
      c.stoppedAt = performance.now();
    },
  });
  return c;
}

interface ThirdPartyElector extends EventEmitter {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** @codedependant/kubernetes-leader-election: it reads the kubeconfig from KUBECONFIG (loadFromDefault). */
function theirs(kubeconfigFile: string, ns: string, lease: string, name: string): Candidate {
  const pkg = createRequire(import.meta.url)(process.env.BENCH_LEADER_PKG!) as {
    Elector: new (o: object) => ThirdPartyElector;
  };
  const saved = { KUBECONFIG: process.env.KUBECONFIG, HOST: process.env.KUBERNETES_SERVICE_HOST };
  process.env.KUBECONFIG = kubeconfigFile;
  // It only campaigns when it believes it runs in a pod; elsewhere it declares itself leader at once.
  process.env.KUBERNETES_SERVICE_HOST = '127.0.0.1';
  const elector = new pkg.Elector({ auto_close: false, identity: name, lease_name: lease, namespace: ns });
  process.env.KUBECONFIG = saved.KUBECONFIG;
  if (saved.HOST === undefined) delete process.env.KUBERNETES_SERVICE_HOST;
  else process.env.KUBERNETES_SERVICE_HOST = saved.HOST;
  const c: Candidate = {
    name,
    leading: false,
    start: () => elector.start(),
    release: () => elector.stop(),
    abandon: async () => {
      // No way to stop without releasing; drop its listeners so it no longer counts.
      elector.removeAllListeners();
    },
  };
  elector.on('leadership_acquired', () => {
    c.leading = true;
    c.startedAt = performance.now();
  });
  elector.on('leadership_lost', () => {
    c.leading = false;
    c.stoppedAt = performance.now();
  });
  return c;
}

function kubeconfigFile(kc: k8s.KubeConfig): string {
  const file = join(mkdtempSync(join(tmpdir(), 'bench-leader-')), 'kubeconfig');
  writeFileSync(file, kc.exportConfig());
  return file;
}

type Make = (kc: k8s.KubeConfig, lease: string, name: string) => Candidate;

async function requestsPerMinute(dir: string, server: string, make: Make, lease: string) {
  const pa = await CountingProxy.start(dir, server);
  const pb = await CountingProxy.start(dir, server);
  const a = make(viaProxy(pa.port), lease, 'a');
  await a.start();
  await timeUntil(() => a.leading, 60_000);
  const b = make(viaProxy(pb.port), lease, 'b');
  await b.start();
  await sleep(5000);
  const [ma, mb] = [pa.mark(), pb.mark()];
  const windowMs = 60_000;
  await sleep(windowMs);
  const result = { leader: pa.counts(ma), follower: pb.counts(mb) };
  await b.release();
  await a.release();
  await pa.close();
  await pb.close();
  return result;
}

async function freeze(server: string, make: Make, lease: string) {
  const proxy = await FreezableProxy.start(server);
  const a = make(viaProxy(proxy.port), lease, 'a');
  await a.start();
  await timeUntil(() => a.leading, 60_000);
  const b = make(kubeConfig(), lease, 'b');
  await b.start();
  await sleep(3000);
  const t0 = performance.now();
  proxy.freeze(true); // open and new connections hang: the leader is cut off without any error
  await timeUntil(() => b.leading, 90_000);
  await sleep(15_000); // does the old leader notice at all?
  const aStopped = a.stoppedAt !== undefined ? a.stoppedAt - t0 : undefined;
  const bStarted = b.startedAt !== undefined ? b.startedAt - t0 : undefined;
  const overlapMs = bStarted === undefined ? 0 : Math.max(0, (aStopped ?? performance.now() - t0) - bStarted);
  await a.abandon();
  await b.release();
  await proxy.close();
  return {
    oldLeaderStoppedMs: aStopped,
    newLeaderStartedMs: bStarted,
    twoLeadersForMs: Math.round(overlapMs),
  };
}

async function release(make: Make, lease: string) {
  const a = make(kubeConfig(), lease, 'a');
  await a.start();
  await timeUntil(() => a.leading, 60_000);
  const b = make(kubeConfig(), lease, 'b');
  await b.start();
  await sleep(3000);
  const t0 = performance.now();
  await a.release();
  const took = await timeUntil(() => b.leading, 60_000);
  await b.release();
  return {
    takeoverAfterReleaseMs: took === undefined ? undefined : Math.round(took),
    sinceReleaseStart: Math.round(performance.now() - t0),
  };
}

async function main(): Promise<void> {
  const cluster = await benchCluster();
  const results: Record<string, unknown> = {};
  try {
    const ns = await createNamespace(kubeConfig(), 'leader');
    const impls: [string, Make][] = [
      ['project LeaderElector', (kc, lease, name) => ours(kc, ns, lease, name)],
    ];
    if (process.env.BENCH_LEADER_PKG) {
      impls.push([
        '@codedependant/kubernetes-leader-election 1.0.1',
        (kc, lease, name) => theirs(kubeconfigFile(kc), ns, lease, name),
      ]);
    }
    for (const [i, [name, make]] of impls.entries()) {
      const r: Record<string, unknown> = {};
      r.requestsPerMinute = await requestsPerMinute(cluster.dir, cluster.server, make, `rpm-${i}`);
      console.error(name, JSON.stringify(r));
      r.freeze = await freeze(cluster.server, make, `freeze-${i}`);
      console.error(name, JSON.stringify(r));
      r.release = await release(make, `release-${i}`);
      console.error(name, JSON.stringify(r));
      results[name] = r;
    }
  } finally {
    await cluster.stop();
  }
  const fmt = (c: Record<string, number>) =>
    Object.entries(c)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
  printTable(
    [
      'elector',
      'leader requests/min',
      'follower requests/min',
      'leader frozen: it stops leading',
      'other starts leading',
      'two leaders for',
      'takeover after release',
    ],
    Object.entries(results).map(([name, r]) => {
      const x = r as {
        requestsPerMinute: { leader: Record<string, number>; follower: Record<string, number> };
        freeze: { oldLeaderStoppedMs?: number; newLeaderStartedMs?: number; twoLeadersForMs: number };
        release: { takeoverAfterReleaseMs?: number };
      };
      return [
        name,
        fmt(x.requestsPerMinute.leader),
        fmt(x.requestsPerMinute.follower),
        ms(x.freeze.oldLeaderStoppedMs),
        ms(x.freeze.newLeaderStartedMs),
        ms(x.freeze.twoLeadersForMs),
        ms(x.release.takeoverAfterReleaseMs),
      ];
    }),
  );
  await saveResult('leader', results);
  process.exit(0);
}

await main();
