/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 *
 * The prometheus analysis source against a real Prometheus: one on the host discovers the cluster's pods through
 * its Kubernetes service discovery and scrapes the annotated ones (the routers and the serving pods) every 2 s;
 * the operator judges canaries with its built-in PromQL queries on it (provider Router: the router's view of each
 * revision). A faulty canary under load is rolled back on Prometheus' numbers, a healthy one promoted, and the
 * status shows the judgements were made on real samples. Prometheus also scrapes the operator and evaluates the
 * chart's alert rules: the rollback fires ModelshipCanaryRolledBack, named by the model's namespace.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AnalysisStatus } from '../../operator/src/api/v1alpha1/schema.js';
import { faultyIrisModel, irisModel, tabularModel } from '../fixtures/onnx/models.js';
import { eventually, installCrds } from '../support/cluster.js';
import { rulesFile } from '../support/monitoring.js';
import { installRbac, operatorKubeconfig, startOperator, type OperatorProcess } from '../support/operator.js';
import { startPrometheus, type PrometheusServer } from '../support/prometheus.js';
import { CanaryModel } from './canary-model.js';
import { clusterIp, core, irisRequest, loadGenerator, post, writeModel } from './support.js';

type Value = NonNullable<AnalysisStatus['lastValues']>[number];

let operator: OperatorProcess;
let prometheus: PrometheusServer;
const body = irisRequest([[5.1, 3.5, 1.4, 0.2]]);

beforeAll(async () => {
  await installCrds();
  await installRbac();
  operator = await startOperator({ kubeconfig: await operatorKubeconfig(), args: ['--no-leader-elect'] });
  writeModel('prometheus-v1.onnx', irisModel());
  writeModel(
    'prometheus-v2.onnx',
    tabularModel({ name: 'iris', features: 4, hidden: [8], classes: 3, seed: 7 }),
  );
  writeModel('prometheus-faulty.onnx', faultyIrisModel());
  // The first run builds Prometheus (see prometheus.ts for the cost).
  prometheus = await startPrometheus({
    intervalSeconds: 2,
    ruleFiles: [rulesFile],
    staticTargets: { 'modelship-operator': [`127.0.0.1:${operator.metricsPort}`] },
  });
}, 1_200_000);

afterAll(async () => {
  await prometheus?.stop();
  await operator?.stop();
}, 60_000);

const steps = [
  { setWeight: 20 },
  { analysis: { duration: '8s' } },
  { setWeight: 50 },
  { analysis: { duration: '8s' } },
];

function spec(): object {
  return {
    rollout: { strategy: 'Canary', steps },
    analysis: {
      interval: '2s',
      // Five scrapes: increase() over the window needs two at least, and Prometheus' newest is up to 2 s old.
      window: '10s',
      minSamples: 10,
      metrics: [{ name: 'errorRate', max: 0.05 }],
      // Data comes within seconds of the first scrape; a query that never returns any fails the canary in a minute.
      noData: { policy: 'Wait', timeout: '60s' },
      prometheus: { address: prometheus.address },
    },
  };
}

/** `iris` at version 1 behind its router, with both router pods scraped by Prometheus. */
async function serving(): Promise<{ m: CanaryModel; url: string }> {
  const m = await CanaryModel.create('e2e-prometheus');
  await m.deploy('1', 'prometheus-v1.onnx', spec());
  await m.until(async () => (await m.get()).status?.phase === 'Ready');
  await m.until(
    async () =>
      (await core.readNamespacedService({ namespace: m.ns, name: 'iris' })).spec?.selector?.[
        'app.kubernetes.io/component'
      ] === 'router',
  );
  const url = `http://${await clusterIp(m.ns, 'iris')}/v2/models/iris/infer`;
  await eventually(async () => (await post(url, body)).status === 200, 60_000, 200);
  // Prometheus found the routers by itself and scrapes them.
  await m.until(
    async () => (await prometheus.query(`up{namespace="${m.ns}",pod=~"iris-router-.*"} == 1`)).length === 2,
    120_000,
  );
  return { m, url };
}

/** Waits for `done` while keeping the last judgement of the canary the status showed with real samples. */
async function follow<T>(
  m: CanaryModel,
  done: (md: Awaited<ReturnType<CanaryModel['get']>>) => T | false | undefined,
): Promise<{ result: T; judged: Value[] }> {
  let judged: Value[] = [];
  const result = await m.until(async () => {
    const md = await m.get();
    const values = md.status?.canary?.analysis.lastValues;
    if (values?.some((v) => v.samples > 0)) judged = values;
    return done(md);
  });
  return { result, judged };
}

describe('a faulty canary judged on Prometheus', () => {
  it("is rolled back on Prometheus' measurements of the router's traffic, with the reason", async () => {
    const { m, url } = await serving();
    const load = loadGenerator(url, body, 4, true);
    await eventually(async () => load.report.ok >= 50, 60_000, 50);
    await m.deploy('3', 'prometheus-faulty.onnx', spec());
    const { result: md, judged } = await follow(m, (x) => x.status?.phase === 'RolledBack' && x);
    await eventually(async () => load.report.ok >= 100, 60_000, 50);
    const report = await load.stop();
    // The judgement that failed is gone with the canary from the status; its numbers are in the reason: the
    // error rate and the requests Prometheus counted for the canary over the window.
    const reason = /^analysis failed: errorRate (\d+(?:\.\d+)?)% above 5% \((\d+) requests\)$/.exec(
      md.status?.rejected?.reason ?? '',
    );
    expect(reason).not.toBeNull();
    expect(Number(reason![1])).toBeGreaterThan(5);
    expect(Number(reason![2])).toBeGreaterThanOrEqual(10);
    // The router's failures of the canary are in Prometheus, under the labels the queries use.
    const failures = await prometheus.query(
      `sum(modelship_router_requests_total{namespace="${m.ns}",revision="${md.status!.rejected!.revision}",code="5xx"})`,
    );
    expect(failures[0]?.value).toBeGreaterThan(0);
    expect(report.failed).toBeGreaterThan(0);
    expect(report.versions['3']).toBeUndefined();
    // The alert a person gets, from the operator's rollback counter, under the model's namespace.
    const alert = await eventually(async () => {
      const firing = await prometheus.query(
        `ALERTS{alertname="ModelshipCanaryRolledBack",alertstate="firing",namespace="${m.ns}"}`,
      );
      return firing.length > 0 && firing;
    }, 60_000);
    expect(alert.map((a) => a.metric)).toEqual([
      expect.objectContaining({ modeldeployment: 'iris', model: 'iris', severity: 'warning' }),
    ]);
    const secondsToRollback = (Date.parse(md.status!.rejected!.at) - report.firstFailureAt!) / 1000;
    process.stderr.write(
      `e2e prometheus: faulty canary: first failure to rollback ${secondsToRollback.toFixed(1)} s; ` +
        `${report.failed} of ${report.ok + report.failed} requests failed; ${md.status!.rejected!.reason}; ` +
        `judgements seen before: ${JSON.stringify(judged)}\n`,
    );
    for (let i = 0; i < 20; i++) expect((await post(url, body)).status).toBe(200);
  }, 600_000);
});

describe('a healthy canary judged on Prometheus', () => {
  it('passes every judgement on real samples and is promoted, with zero failed requests', async () => {
    const { m, url } = await serving();
    const load = loadGenerator(url, body, 4, true);
    await eventually(async () => load.report.ok >= 50, 60_000, 50);
    await m.deploy('2', 'prometheus-v2.onnx', spec());
    const { result: md, judged } = await follow(
      m,
      (x) => (x.status?.stable?.version === '2' || x.status?.phase === 'RolledBack') && x,
    );
    const target = load.report.ok + 50;
    await eventually(async () => load.report.ok >= target, 60_000, 50);
    const report = await load.stop();
    expect(md.status?.rejected).toBeUndefined();
    expect(md.status?.history?.[0]).toMatchObject({ version: '2', outcome: 'Promoted' });
    const errorRate = judged.find((v) => v.metric === 'errorRate');
    expect(errorRate).toMatchObject({ verdict: 'Pass', canary: 0 });
    expect(errorRate!.samples).toBeGreaterThanOrEqual(10);
    expect({ failed: report.failed, errors: report.errors }).toEqual({ failed: 0, errors: [] });
    expect(Object.keys(report.versions).sort()).toEqual(['1', '2']);
    process.stderr.write(
      `e2e prometheus: healthy canary promoted; ${report.ok} requests answered, ${report.failed} failed; last judgement ${JSON.stringify(judged)}\n`,
    );
  }, 600_000);
});
