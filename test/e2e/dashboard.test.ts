/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 *
 * The chart's alerts and Grafana dashboard against a real Prometheus (test/support/prometheus.ts) that discovers and
 * scrapes the node's real pods through their annotations, scrapes the operator (a host process here, a static
 * target), and loads charts/modelship/files/prometheus-rules.yaml. Every alert rule is loaded and evaluates without
 * error; after a ModelDeployment served real traffic, refused some when its queue was full, and started a canary
 * that was judged, every dashboard query, with the dashboard's variables set to that model, returns data.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { irisModel, tabularModel } from '../fixtures/onnx/models.js';
import { eventually, installCrds } from '../support/cluster.js';
import { alertRules, dashboardQueries, rulesFile } from '../support/monitoring.js';
import { installRbac, operatorKubeconfig, startOperator, type OperatorProcess } from '../support/operator.js';
import { startPrometheus, type PrometheusServer } from '../support/prometheus.js';
import { CanaryModel } from './canary-model.js';
import { clusterIp, core, irisRequest, loadGenerator, post, writeModel } from './support.js';

let operator: OperatorProcess;
let prometheus: PrometheusServer;
const body = irisRequest([[5.1, 3.5, 1.4, 0.2]]);

beforeAll(async () => {
  await installCrds();
  await installRbac();
  operator = await startOperator({ kubeconfig: await operatorKubeconfig(), args: ['--no-leader-elect'] });
  writeModel('dashboard-v1.onnx', irisModel());
  writeModel(
    'dashboard-v2.onnx',
    tabularModel({ name: 'iris', features: 4, hidden: [8], classes: 3, seed: 7 }),
  );
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

describe('the alert rules in a real Prometheus', () => {
  it('are all loaded and evaluated without error', async () => {
    const expected = alertRules()
      .map((a) => a.alert)
      .sort();
    const rules = await eventually(async () => {
      const loaded = await prometheus.rules();
      // Evaluated at least once: the zero time until then.
      return loaded.length === expected.length && loaded.every((r) => !r.lastEvaluation.startsWith('0001-'))
        ? loaded
        : undefined;
    }, 60_000);
    expect(rules.map((r) => r.name).sort()).toEqual(expected);
    expect(rules.filter((r) => r.health !== 'ok')).toEqual([]);
    expect(new Set(rules.map((r) => r.type))).toEqual(new Set(['alerting']));
  }, 120_000);
});

describe('the Grafana dashboard on real data', () => {
  it('answers every query with data for a model that served traffic, queued, and runs a judged canary', async () => {
    const m = await CanaryModel.create('e2e-dashboard');
    const spec = {
      // A tiny queue, so that a burst of requests is refused with queue_full (the queue panels and alert).
      runtime: { batching: { maxBatchSize: 2, maxQueueSize: 2, maxQueueDelayMs: 0 } },
      // A canary that is judged, then waits at a pause: its weight and analysis series stay while it waits.
      rollout: {
        strategy: 'Canary',
        steps: [{ setWeight: 50 }, { analysis: { duration: '6s' } }, { pause: {} }],
      },
      analysis: {
        interval: '2s',
        window: '10s',
        minSamples: 5,
        metrics: [
          { name: 'errorRate', max: 0.5 },
          { name: 'latencyP99', max: 5000 },
        ],
      },
    };
    await m.deploy('1', 'dashboard-v1.onnx', spec);
    await m.until(async () => (await m.get()).status?.phase === 'Ready');
    await m.until(
      async () =>
        (await core.readNamespacedService({ namespace: m.ns, name: 'iris' })).spec?.selector?.[
          'app.kubernetes.io/component'
        ] === 'router',
    );
    const url = `http://${await clusterIp(m.ns, 'iris')}/v2/models/iris/infer`;
    await eventually(async () => (await post(url, body)).status === 200, 60_000, 200);

    // 40 requests at once against a queue of 2: some are refused with 503, counted as queue_full.
    await eventually(
      async () => {
        const answers = await Promise.all(Array.from({ length: 40 }, () => post(url, body)));
        return answers.some((a) => a.status === 503 && a.body.includes('queue is full'));
      },
      60_000,
      500,
    );
    // Two clients never overfill a queue of 2: from here on nothing is refused.
    const load = loadGenerator(url, body, 2, true);
    try {
      await eventually(async () => load.report.ok >= 50, 60_000, 50);
      await m.deploy('2', 'dashboard-v2.onnx', spec);
      await m.until(async () => {
        const st = (await m.get()).status;
        return (
          st?.phase === 'Paused' &&
          st.canary?.analysis.lastValues?.some((v) => v.samples > 0 && v.metric === 'latencyP99')
        );
      });

      const queries = dashboardQueries({ namespace: m.ns, model: 'iris' }, { rate: '1m', range: '10m' });
      let empty: string[] = [];
      try {
        await eventually(
          async () => {
            const answers = await Promise.all(
              queries.map(async (q) => (await prometheus.query(q.expr)).length),
            );
            empty = queries.filter((_, i) => answers[i] === 0).map((q) => `${q.where}: ${q.expr}`);
            return empty.length === 0;
          },
          180_000,
          2000,
        );
      } catch {
        throw new Error(`dashboard queries without data after 3 minutes:\n${empty.join('\n')}`);
      }
      process.stderr.write(`e2e dashboard: all ${queries.length} dashboard queries returned data\n`);
    } finally {
      await load.stop();
    }
    // The rules still evaluate without error now that they see real series of every kind.
    expect((await prometheus.rules()).filter((r) => r.health !== 'ok')).toEqual([]);
  }, 900_000);
});
