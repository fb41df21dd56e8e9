/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 *
 * Canaries on the real node, through the router, with real revisions under real load: a healthy version walks
 * every step and is promoted with zero failed requests, the old revision kept for undo; a version that fails on real
 * inputs is off traffic in seconds, judged on the router's own metrics, with the reason in status and Events; undo
 * serves the old version again in seconds; a canary without traffic follows its noData policy; an operator killed
 * mid-rollout resumes at the same step.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { faultyIrisModel, irisModel, tabularModel } from '../fixtures/onnx/models.js';
import { eventually, installCrds, kubectlOk } from '../support/cluster.js';
import { installRbac, operatorKubeconfig, startOperator, type OperatorProcess } from '../support/operator.js';
import { CanaryModel } from './canary-model.js';
import { clusterIp, core, irisRequest, loadGenerator, post, writeModel } from './support.js';

let operator: OperatorProcess;
let operatorConfig: string;
const body = irisRequest([[5.1, 3.5, 1.4, 0.2]]);

beforeAll(async () => {
  await installCrds();
  await installRbac();
  operatorConfig = await operatorKubeconfig();
  operator = await startOperator({ kubeconfig: operatorConfig, args: ['--no-leader-elect'] });
  writeModel('canary-v1.onnx', irisModel());
  writeModel('canary-v2.onnx', tabularModel({ name: 'iris', features: 4, hidden: [8], classes: 3, seed: 7 }));
  writeModel('canary-faulty.onnx', faultyIrisModel());
}, 300_000);

afterAll(async () => {
  await operator?.stop();
}, 60_000);

/** Short steps and a quick judge, so a rollout takes seconds; the defaults are measured by make bench-rollout. */
const rollout = {
  strategy: 'Canary',
  steps: [
    { setWeight: 20 },
    { analysis: { duration: '8s' } },
    { setWeight: 50 },
    { analysis: { duration: '8s' } },
  ],
};
const analysis = {
  interval: '2s',
  window: '6s',
  minSamples: 10,
  metrics: [{ name: 'errorRate', max: 0.05 }],
};

/** `iris` behind its router, deployed with the quick canary above unless a spec says otherwise. */
class Model extends CanaryModel {
  private constructor(
    ns: string,
    readonly url: string,
  ) {
    super(ns);
  }

  /** `iris` serving version 1 behind its router, in a namespace of its own. */
  static async serving(spec: object = {}): Promise<Model> {
    const ns = await CanaryModel.namespace('e2e-canary');
    const m = new Model(ns, '');
    await m.deploy('1', 'canary-v1.onnx', spec);
    await eventually(async () => (await m.get()).status?.phase === 'Ready', 180_000, 500);
    // The <name> Service points at the router once the router is up.
    await eventually(
      async () =>
        (await core.readNamespacedService({ namespace: ns, name: 'iris' })).spec?.selector?.[
          'app.kubernetes.io/component'
        ] === 'router',
      180_000,
      500,
    );
    const url = `http://${await clusterIp(ns, 'iris')}/v2/models/iris/infer`;
    await eventually(async () => (await post(url, body)).status === 200, 60_000, 200);
    return new Model(ns, url);
  }

  /** The quick canary above unless `spec` says otherwise (analysis only with strategy Canary). */
  override async deploy(version: string, file: string, spec: object = {}): Promise<void> {
    const merged: Record<string, unknown> = { rollout, analysis, ...spec };
    if ((merged.rollout as { strategy?: string }).strategy !== 'Canary') delete merged.analysis;
    await super.deploy(version, file, merged);
  }
}

/** Resolves once the load generator has had `n` more answers: traffic is flowing. */
async function answered(load: ReturnType<typeof loadGenerator>, n: number): Promise<void> {
  const target = load.report.ok + load.report.failed + n;
  await eventually(async () => load.report.ok + load.report.failed >= target, 120_000, 50);
}

describe('a healthy canary under load', () => {
  it('walks every step with zero failed requests, becomes stable, and leaves the old revision for undo', async () => {
    const m = await Model.serving();
    const load = loadGenerator(m.url, body, 4, true);
    await answered(load, 50);
    await m.deploy('2', 'canary-v2.onnx');
    const weights = new Set<number>();
    const md = await m.until(async () => {
      const x = await m.get();
      if (x.status?.canary) weights.add(x.status.canary.weight);
      return x.status?.stable?.version === '2' && x.status.phase === 'Ready' && x;
    });
    await answered(load, 50);
    const report = await load.stop();
    expect({ failed: report.failed, errors: report.errors }).toEqual({ failed: 0, errors: [] });
    expect(Object.keys(report.versions).sort()).toEqual(['1', '2']);
    expect([...weights].filter((w) => w > 0).sort((a, b) => a - b)).toEqual([20, 50]);
    expect(md.status?.history?.[0]).toMatchObject({ version: '2', outcome: 'Promoted' });
    // The judgement saw real traffic: the router's own counts, both revisions.
    expect(await m.events()).toEqual(expect.arrayContaining([expect.stringMatching(/^CanaryPromoted: /)]));
    const kept = await kubectlOk([
      'get',
      'deployments',
      '-n',
      m.ns,
      '-l',
      'app.kubernetes.io/version=1',
      '-o',
      'jsonpath={.items[*].spec.replicas}',
    ]);
    expect(kept.trim()).toBe('0');
  }, 360_000);
});

describe('a canary that fails on real inputs', () => {
  it('is off traffic within seconds of its first failure, judged on the router metrics, and says why', async () => {
    const m = await Model.serving();
    const load = loadGenerator(m.url, body, 4, true);
    await answered(load, 50);
    await m.deploy('3', 'canary-faulty.onnx');
    const md = await m.until(async () => {
      const x = await m.get();
      return x.status?.phase === 'RolledBack' && x;
    });
    const rolledBackAt = Date.parse(md.status!.rejected!.at);
    // Some answers after the rollback: the router has applied the table without the canary.
    await answered(load, 100);
    const report = await load.stop();
    const firstFault = report.firstFailureAt;
    expect(firstFault).toBeDefined();
    const secondsToRollback = (rolledBackAt - firstFault!) / 1000;
    expect(secondsToRollback).toBeLessThan(15);
    expect(md.status?.rejected?.reason).toMatch(
      /^analysis failed: errorRate \d+(\.\d+)?% above 5% \(\d+ requests\)$/,
    );
    expect(md.status?.conditions?.find((c) => c.type === 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'RolledBack',
    });
    expect(await m.events()).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^RolledBack: Rolled back revision \w+ \(version 3\) at 20%: analysis failed: errorRate/,
        ),
      ]),
    );
    // Failures stayed within what a 20 % canary serves between the fault and the rollback (plus what was in flight).
    expect(report.failed).toBeGreaterThan(0);
    expect(report.failed).toBeLessThan(report.ok * 0.2 + 50);
    expect(report.versions['3']).toBeUndefined();
    process.stderr.write(
      `e2e canary: first failure to rollback ${secondsToRollback.toFixed(1)} s; ${report.failed} of ${report.ok + report.failed} requests failed\n`,
    );
    // After the rollback only the stable version answers.
    for (let i = 0; i < 20; i++) expect((await post(m.url, body)).status).toBe(200);
  }, 360_000);
});

describe('the canary header', () => {
  it('sends requests carrying it to the canary whatever its weight', async () => {
    const m = await Model.serving({ traffic: { match: [{ header: 'x-model-version', value: 'canary' }] } });
    await m.deploy('2', 'canary-v2.onnx', {
      rollout: { strategy: 'Canary', steps: [{ setWeight: 0 }, { pause: {} }] },
      traffic: { match: [{ header: 'x-model-version', value: 'canary' }] },
    });
    await eventually(async () => (await m.get()).status?.phase === 'Paused', 240_000, 250);
    await eventually(
      async () => {
        const r = await post(m.url, body, undefined, 10_000, { 'x-model-version': 'canary' });
        return r.status === 200 && (JSON.parse(r.body) as { model_version: string }).model_version === '2';
      },
      60_000,
      250,
    );
    for (let i = 0; i < 10; i++) expect(JSON.parse((await post(m.url, body)).body).model_version).toBe('1');
  }, 360_000);
});

describe('undo', () => {
  it('serves the old version again within seconds: a warm revision is a switch, not a cold start', async () => {
    const m = await Model.serving({ rollout: { ...rollout, warmReplicas: 1 } });
    await m.deploy('2', 'canary-v2.onnx', { rollout: { strategy: 'BlueGreen', warmReplicas: 1 } });
    await eventually(async () => (await m.get()).status?.stable?.version === '2', 240_000, 250);
    const load = loadGenerator(m.url, body, 2, true);
    await answered(load, 20);
    const asked = Date.now();
    await kubectlOk([
      'annotate',
      'md',
      'iris',
      '-n',
      m.ns,
      '--overwrite',
      `modelship.dev/request={"id":"undo-1","action":"undo"}`,
    ]);
    await eventually(async () => (await post(m.url, body)).body.includes('"model_version":"1"'), 60_000, 100);
    const seconds = (Date.now() - asked) / 1000;
    await answered(load, 20);
    const report = await load.stop();
    expect({ failed: report.failed, errors: report.errors }).toEqual({ failed: 0, errors: [] });
    expect(seconds).toBeLessThan(30);
    process.stderr.write(`e2e canary: undo served version 1 again after ${seconds.toFixed(1)} s\n`);
    // The status is written after the objects of the same reconcile: traffic may move a moment before it.
    await m.until(async () => (await m.get()).status?.phase === 'RolledBack');
  }, 360_000);
});

describe('a canary without traffic', () => {
  it('follows noData Wait: rolled back when no data comes before the timeout', async () => {
    const m = await Model.serving();
    await m.deploy('2', 'canary-v2.onnx', {
      analysis: { ...analysis, noData: { policy: 'Wait', timeout: '10s' } },
    });
    const md = await eventually(
      async () => {
        const x = await m.get();
        return x.status?.phase === 'RolledBack' && x;
      },
      240_000,
      500,
    );
    expect(md.status?.rejected?.reason).toMatch(
      /^no data to judge it for 1\d s \(noData policy Wait, timeout 10 s\)/,
    );
  }, 360_000);
});

describe('an operator restarted mid-rollout', () => {
  it('resumes at the same step with the same weights', async () => {
    const m = await Model.serving();
    await m.deploy('2', 'canary-v2.onnx', {
      rollout: {
        strategy: 'Canary',
        steps: [{ setWeight: 30 }, { pause: {} }, { setWeight: 70 }, { pause: {} }],
      },
    });
    const before = await eventually(
      async () => {
        const x = await m.get();
        return x.status?.phase === 'Paused' && x;
      },
      240_000,
      250,
    );
    await operator.kill();
    operator = await startOperator({ kubeconfig: operatorConfig, args: ['--no-leader-elect'] });
    // Nothing moves by itself: same step, same weight.
    await eventually(async () => operator.logLines().some((l) => l.message === 'reconciling'), 60_000);
    const after = await m.get();
    expect(after.status?.canary).toMatchObject({
      step: before.status!.canary!.step,
      weight: 30,
      startedAt: before.status!.canary!.startedAt,
    });
    await kubectlOk([
      'annotate',
      'md',
      'iris',
      '-n',
      m.ns,
      '--overwrite',
      `modelship.dev/request={"id":"p1","action":"promote"}`,
    ]);
    await eventually(async () => (await m.get()).status?.canary?.weight === 70, 60_000, 250);
  }, 360_000);
});
