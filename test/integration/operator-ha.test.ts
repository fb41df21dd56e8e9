/**
 * Two operator replicas with leader election, and an operator restricted to one namespace by RBAC Roles.
 * Leases here are shorter than the default 15 s so that take-over is observable in a test, yet long enough that a
 * loaded machine never misses a renewal. Timings are checked only as bounds load cannot break (see kube-leader).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { createNamespace, eventually, installCrds, kubeConfig, kubectlOk } from '../support/cluster.js';
import { installRbac, operatorKubeconfig, startOperator, type OperatorProcess } from '../support/operator.js';

const kc = kubeConfig();
const apps = kc.makeApiClient(k8s.AppsV1Api);
const coordination = kc.makeApiClient(k8s.CoordinationV1Api);
const running: OperatorProcess[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((o) => (o.child.exitCode === null ? o.stop() : undefined)));
}, 60_000);

afterAll(async () => {
  await Promise.all(running.map((o) => o.kill()));
});

async function apply(ns: string, name: string): Promise<void> {
  await kubectlOk(
    ['apply', '-n', ns, '-f', '-'],
    yaml.dump({
      apiVersion: 'modelship.dev/v1alpha1',
      kind: 'ModelDeployment',
      metadata: { name },
      spec: { model: { version: '1', storageUri: 'file:///m.onnx' } },
    }),
  );
}

async function hasDeployment(ns: string, name: string): Promise<boolean> {
  const list = await apps.listNamespacedDeployment({
    namespace: ns,
    labelSelector: `modelship.dev/deployment=${name}`,
  });
  return list.items.length === 1;
}

const reconciled = (o: OperatorProcess, name: string) =>
  o
    .logLines()
    .some(
      (l) =>
        l.name === name &&
        typeof l.message === 'string' &&
        (l.message as string).startsWith('created Deployment'),
    );

describe('leader election', () => {
  const leaseMs = 8000;
  const retryMs = 1000;
  const lease = [
    `--lease-duration-ms=${leaseMs}`,
    '--renew-deadline-ms=6000',
    `--retry-period-ms=${retryMs}`,
    '--leader-election-id=ha-test',
  ];
  let config: string;
  beforeAll(async () => {
    await installCrds();
    await installRbac();
    config = await operatorKubeconfig();
  }, 60_000);

  it('lets exactly one of two replicas reconcile, and the other take over within the lease duration when it dies', async () => {
    const ns = await createNamespace('ha');
    const a = await startOperator({ kubeconfig: config, args: lease });
    running.push(a);
    await eventually(async () => a.logLines().some((l) => l.message === 'reconciling'), 20_000);
    const b = await startOperator({ kubeconfig: config, args: lease });
    running.push(b);

    await apply(ns, 'one');
    await eventually(() => hasDeployment(ns, 'one'));
    await new Promise((r) => setTimeout(r, 1000));
    expect(reconciled(a, 'one')).toBe(true);
    expect(reconciled(b, 'one')).toBe(false);
    expect(b.logLines().some((l) => l.message === 'reconciling')).toBe(false);
    const holder = (
      await coordination.readNamespacedLease({ namespace: 'modelship-system', name: 'ha-test' })
    ).spec?.holderIdentity;
    expect(holder).toBeTruthy();

    // A crash: no release. The standby waits for the lease to expire, then leads.
    const killedAt = Date.now();
    await a.kill();
    await apply(ns, 'two');
    await eventually(() => hasDeployment(ns, 'two'), 40_000);
    const takeOverMs = Date.now() - killedAt;
    await eventually(async () => reconciled(b, 'two'), 10_000);
    // Not before the lease expired: the last renewal was at most one retry period before the kill.
    expect(takeOverMs).toBeGreaterThanOrEqual(leaseMs - retryMs - 300);
  }, 90_000);

  it('hands over at once when the leader is stopped with SIGTERM (the lease is released)', async () => {
    const ns = await createNamespace('handover');
    const releaseArgs = [
      '--lease-duration-ms=60000',
      '--renew-deadline-ms=6000',
      '--retry-period-ms=1000',
      '--leader-election-id=ha-release',
    ];
    const a = await startOperator({
      kubeconfig: config,
      args: releaseArgs,
    });
    running.push(a);
    await eventually(async () => a.logLines().some((l) => l.message === 'reconciling'), 30_000);
    const b = await startOperator({
      kubeconfig: config,
      args: releaseArgs,
    });
    running.push(b);
    const stoppedAt = Date.now();
    expect(await a.stop()).toBe(0);
    await apply(ns, 'three');
    await eventually(() => hasDeployment(ns, 'three'), 40_000);
    // Far sooner than the 60 s lease would take to expire.
    expect(Date.now() - stoppedAt).toBeLessThan(30_000);
    await eventually(async () => reconciled(b, 'three'), 10_000);
  }, 90_000);
});

describe('single-namespace install', () => {
  it('reconciles its namespace with Roles only, and nothing elsewhere', async () => {
    await installCrds();
    const watched = await createNamespace('scoped');
    const other = await createNamespace('unwatched');
    await installRbac({ watched: [watched] });
    // Only the namespaced Roles apply: drop the cluster-wide binding that the other tests installed.
    await kubectlOk(['delete', 'clusterrolebinding', 'modelship-operator', '--ignore-not-found']);
    try {
      const config = await operatorKubeconfig();
      const o = await startOperator({
        kubeconfig: config,
        args: ['--no-leader-elect', `--namespaces=${watched}`],
      });
      running.push(o);
      await apply(watched, 'inside');
      await apply(other, 'outside');
      await eventually(() => hasDeployment(watched, 'inside'));
      await new Promise((r) => setTimeout(r, 1500));
      expect(await hasDeployment(other, 'outside')).toBe(false);
      // No permission errors anywhere in its log: nothing went wrong at all. (Not a match on "403" in the raw
      // text: a random port number such as 40305 contains it.)
      expect(o.logLines().filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);
      expect(o.logs()).not.toMatch(/forbidden/i);
    } finally {
      await installRbac();
    }
  }, 90_000);
});
