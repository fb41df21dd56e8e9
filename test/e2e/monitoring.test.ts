/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 *
 * Model monitoring on the real node (issue 14): a load whose one feature shifts raises Drifted naming that feature
 * and starts a retraining Job (once per cooldown); ground truth posted for a run of predictions moves the live
 * accuracy, and sampled payload logs with a redacted input reach the pod's log; a candidate that answers
 * differently from stable on mirrored traffic is stopped before it ever takes live weight, and one that answers
 * alike goes on to its live steps.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import * as ort from 'onnxruntime-node';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultServerImage } from '../../operator/src/version.js';
import { computeBaseline } from '../../server-image/src/monitoring/drift/compute.js';
import { irisModel, tabularModel } from '../fixtures/onnx/models.js';
import { eventually, installCrds, kubectlOk } from '../support/cluster.js';
import { installRbac, operatorKubeconfig, startOperator, type OperatorProcess } from '../support/operator.js';
import { CanaryModel } from './canary-model.js';
import {
  clusterIp,
  core,
  irisRequest,
  kc,
  loadGenerator,
  modelsDir,
  podsReachEachOther,
  post,
  writeModel,
} from './support.js';

const batch = kc.makeApiClient(k8s.BatchV1Api);
let operator: OperatorProcess;
const features = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
const means = [5.8, 3.0, 3.8, 1.2];
const body = irisRequest([[5.1, 3.5, 1.4, 0.2]]);

/** Deterministic rows around `means` (a small LCG: the same rows on every run). */
function rows(n: number, seed: number, shift: number[] = [0, 0, 0, 0]): number[][] {
  let s = seed;
  const next = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  return Array.from({ length: n }, () =>
    means.map((m, i) => Math.round((m + next() * 0.5 + shift[i]!) * 100) / 100),
  );
}

let disagreeingFile = '';

beforeAll(async () => {
  await installCrds();
  await installRbac();
  operator = await startOperator({
    kubeconfig: await operatorKubeconfig(),
    args: ['--no-leader-elect'],
  });
  writeModel('monitoring-v1.onnx', irisModel());
  // The same model again under another version: it agrees with stable on everything.
  writeModel('monitoring-same.onnx', irisModel());
  // A candidate whose label differs from iris' on the load's row, found with onnxruntime in this process.
  const labelOf = async (model: Uint8Array) => {
    const session = await ort.InferenceSession.create(model);
    const out = await session.run({
      features: new ort.Tensor('float32', Float32Array.of(5.1, 3.5, 1.4, 0.2), [1, 4]),
    });
    return Number((out.label!.data as BigInt64Array)[0]);
  };
  const stableLabel = await labelOf(irisModel());
  for (let seed = 1; seed < 50 && !disagreeingFile; seed++) {
    const m = tabularModel({ name: 'iris', features: 4, hidden: [8], classes: 3, seed });
    if ((await labelOf(m)) === stableLabel) continue;
    disagreeingFile = `monitoring-differs-${seed}.onnx`;
    writeModel(disagreeingFile, m);
  }
  // The baseline of the training distribution, as `modelship-server baseline` computes it.
  const sample = rows(400, 7);
  const baseline = computeBaseline(
    { columns: features.map((_, i) => sample.map((r) => r[i]!)) },
    { input: 'features', bins: 10, featureNames: features },
  );
  writeFileSync(join(modelsDir(), 'monitoring-baseline.json'), JSON.stringify(baseline), { mode: 0o644 });
}, 300_000);

afterAll(async () => {
  await operator?.stop();
}, 60_000);

/** Sends `data` in requests of 20 rows, with `headers`; returns the answers. */
async function send(url: string, data: number[][], headers: Record<string, string> = {}) {
  const answers = [];
  for (let i = 0; i < data.length; i += 20) {
    const r = await post(url, irisRequest(data.slice(i, i + 20)), undefined, 10_000, headers);
    expect(r.status).toBe(200);
    answers.push(JSON.parse(r.body) as { outputs: { name: string; data: number[] }[] });
  }
  return answers;
}

/** `iris` Ready in a namespace of its own, answering at `url` (through its router when the rollout is a Canary). */
async function serving(
  spec: { rollout?: { strategy?: string } } & Record<string, unknown>,
): Promise<{ m: CanaryModel; url: string; base: string }> {
  const m = await CanaryModel.create('e2e-monitoring');
  await m.deploy('1', 'monitoring-v1.onnx', spec);
  await m.until(async () => (await m.get()).status?.phase === 'Ready', 180_000);
  if (spec.rollout?.strategy === 'Canary')
    await m.until(
      async () =>
        (await core.readNamespacedService({ namespace: m.ns, name: 'iris' })).spec?.selector?.[
          'app.kubernetes.io/component'
        ] === 'router',
      180_000,
    );
  const base = `http://${await clusterIp(m.ns, 'iris')}/v2/models/iris`;
  await eventually(async () => (await post(`${base}/infer`, body)).status === 200, 60_000, 200);
  return { m, url: `${base}/infer`, base };
}

/** The metrics text of the ModelDeployment's serving pods of version `version`. */
async function podMetrics(ns: string, version: string): Promise<string> {
  const pods = await core.listNamespacedPod({
    namespace: ns,
    labelSelector: `app.kubernetes.io/component=model-server,app.kubernetes.io/version=${version}`,
  });
  const texts = await Promise.all(
    pods.items
      .filter((p) => p.status?.podIP && p.status.phase === 'Running')
      .map(async (p) => (await fetch(`http://${p.status!.podIP}:9090/metrics`)).text()),
  );
  return texts.join('\n');
}

interface PayloadRecord {
  type: string;
  requestId: string;
  model: string;
  version: string;
  status: number;
  inputs: { name: string; shape: number[]; sha256?: string; data?: unknown[] }[];
  outputs: { name: string; data?: unknown[] }[];
}

describe('input drift', () => {
  it('raises Drifted naming the shifted feature, and starts one retraining Job per cooldown', async () => {
    const { m, url } = await serving({
      runtime: { replicas: 1 },
      monitoring: {
        interval: '2s',
        drift: {
          baseline: 'pvc://models/monitoring-baseline.json',
          threshold: 0.25,
          minSamples: 100,
          window: '30m',
        },
      },
      retraining: {
        schedule: '0 0 1 1 *',
        suspend: true,
        output: 'pvc://models/monitoring-runs',
        onDrift: true,
        cooldown: '1h',
        // A trainer that writes nothing: its version is Rejected, which is not what this test is about.
        template: { image: defaultServerImage, command: ['node', '-e', 'process.exit(0)'] },
      },
    });
    // Rows like the baseline's: no drift.
    await send(url, rows(200, 11));
    const calm = await m.until(async () => {
      const md = await m.get();
      const c = md.status?.conditions?.find((x) => x.type === 'Drifted');
      return c?.reason === 'NoDrift' && md;
    });
    expect(calm.status!.drift).toMatchObject({ drifted: false });
    expect(calm.status!.drift!.samples).toBeGreaterThanOrEqual(100);

    // petal_length moves by two; the others stay.
    await send(url, rows(400, 12, [0, 0, 2, 0]));
    const drifted = await m.until(async () => {
      const md = await m.get();
      return md.status?.drift?.drifted === true && md.status.drift.lastRetrainJob !== undefined && md;
    });
    const condition = drifted.status!.conditions!.find((c) => c.type === 'Drifted')!;
    expect(condition).toMatchObject({ status: 'True', reason: 'InputDrift' });
    expect(condition.message).toMatch(/petal_length \d/);
    expect(condition.message).not.toMatch(/sepal_width/);
    expect(drifted.status!.drift!.features![0]!.name).toBe('petal_length');
    const events = await m.events();
    expect(events).toEqual(expect.arrayContaining([expect.stringMatching(/^DriftDetected: PSI above 0.25/)]));
    expect(events).toEqual(
      expect.arrayContaining([expect.stringMatching(/^RetrainingStarted: input drift started/)]),
    );
    const jobName = drifted.status!.drift!.lastRetrainJob!;
    const job = await batch.readNamespacedJob({ namespace: m.ns, name: jobName });
    expect(job.metadata?.annotations?.['modelship.dev/trigger']).toBe('drift');
    // Still drifted at the next readings, within the cooldown: no second Job.
    const readAt = drifted.status!.drift!.evaluatedAt!;
    await m.until(async () => ((await m.get()).status?.drift?.evaluatedAt ?? '') > readAt);
    const jobs = await batch.listNamespacedJob({ namespace: m.ns });
    expect(
      jobs.items.filter((j) => j.metadata?.annotations?.['modelship.dev/trigger'] === 'drift'),
    ).toHaveLength(1);
  }, 420_000);
});

describe('ground truth and payload logs', () => {
  it('joins posted labels to their predictions on whichever replica made them, as live accuracy, and logs sampled payloads with redaction', async () => {
    const { m, base } = await serving({
      runtime: { replicas: 2 },
      monitoring: { interval: '2s', feedback: { output: 'label' } },
      logging: { payloads: { sink: 'stdout', sample: 1, redact: ['features'] } },
    });
    const data = rows(20, 21);
    // Straight to each replica in turn: half the predictions are kept by each.
    const servers = (
      await core.listNamespacedPod({
        namespace: m.ns,
        labelSelector: 'app.kubernetes.io/component=model-server',
      })
    ).items.filter((p) => p.status?.podIP && p.status.phase === 'Running');
    expect(servers).toHaveLength(2);
    const answers = [];
    for (let i = 0; i < data.length; i++) {
      const direct = `http://${servers[i % 2]!.status!.podIP}:8080/v2/models/iris/infer`;
      const r = await post(direct, irisRequest([data[i]!]), undefined, 10_000, {
        'x-request-id': `truth-${i}`,
      });
      expect(r.status).toBe(200);
      answers.push(JSON.parse(r.body) as { outputs: { name: string; data: number[] }[] });
    }
    const predicted = answers.map((a) => Number(a.outputs.find((o) => o.name === 'label')!.data[0]));
    // The truth agrees with 14 of the 20 predictions.
    const truth = predicted.map((p, i) => (i < 14 ? p : (p + 1) % 3));
    // The replicas call each other (below): once the policy engine admits them as peers.
    await podsReachEachOther(
      m.ns,
      servers.map((p) => ({ name: p.metadata!.name!, ip: p.status!.podIP! })),
      `iris-pods.${m.ns}.svc.cluster.local`,
      8080,
    );
    // Through the Service: each item reaches one replica, which asks the other for what it did not keep.
    const fed = await post(`${base}/feedback`, {
      feedback: truth.map((label, i) => ({ id: `truth-${i}`, label })),
    });
    expect(fed.status).toBe(200);
    expect(JSON.parse(fed.body)).toMatchObject({ joined: 20, rejected: 0 });
    const total = async (name: string) =>
      (await podMetrics(m.ns, '1'))
        .split('\n')
        .filter((l) => l.startsWith(`${name}{`))
        .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
    await eventually(async () => (await total('modelship_feedback_rows_total')) === 20, 60_000, 500);
    expect(await total('modelship_feedback_correct_total')).toBe(14);
    // An id nobody predicted is refused, saying so.
    const unknown = await post(`${base}/feedback`, { id: 'never-seen', label: 1 });
    expect(unknown.status).toBe(404);
    // The status shows the live accuracy of the serving revision.
    const md = await m.until(async () => {
      const x = await m.get();
      return x.status?.feedback?.rows === 20 && x;
    }, 60_000);
    expect(md.status!.feedback!.accuracy).toBeCloseTo(0.7, 9);

    // The payload lines on the pods' logs: one per request, the input replaced by its hash.
    let log = '';
    for (const p of servers) log += await kubectlOk(['logs', '-n', m.ns, p.metadata!.name!, '-c', 'server']);
    const payloads = log
      .split('\n')
      .filter((l) => l.startsWith('{') && l.includes('"payload"'))
      .map((l) => JSON.parse(l) as PayloadRecord)
      .filter((r) => r.type === 'payload' && r.requestId.startsWith('truth-'));
    expect(payloads.map((r) => r.requestId).sort()).toEqual(data.map((_, i) => `truth-${i}`).sort());
    const first = payloads.find((r) => r.requestId === 'truth-0')!;
    expect(first).toMatchObject({ model: 'iris', version: '1', status: 200 });
    expect(first.inputs[0]).toMatchObject({ name: 'features', shape: [1, 4] });
    expect(first.inputs[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(first.inputs[0]!.data).toBeUndefined();
    expect(first.outputs.find((t) => t.name === 'label')!.data).toEqual([predicted[0]]);
  }, 300_000);
});

describe('shadow traffic', () => {
  const spec = {
    rollout: {
      strategy: 'Canary',
      steps: [{ setWeight: 50 }, { analysis: { duration: '4s' } }],
      shadow: { duration: '6s', minSamples: 20, agreement: 0.9 },
    },
    analysis: { interval: '2s', window: '6s', minSamples: 10, metrics: [{ name: 'errorRate', max: 0.05 }] },
  };

  it('stops a candidate that answers differently before it takes any live traffic', async () => {
    expect(disagreeingFile).not.toBe('');
    const { m, url } = await serving(spec);
    const load = loadGenerator(url, body, 3, true);
    await m.deploy('2', disagreeingFile, spec);
    const weights = new Set<number>();
    const md = await m.until(async () => {
      const x = await m.get();
      if (x.status?.canary) weights.add(x.status.canary.weight);
      return x.status?.phase === 'RolledBack' && x;
    });
    const report = await load.stop();
    expect(md.status!.rejected!.reason).toMatch(/^shadow traffic: agreement \d+(\.\d+)?% below 90%/);
    expect([...weights].filter((w) => w > 0)).toEqual([]);
    expect({ failed: report.failed, versions: Object.keys(report.versions) }).toEqual({
      failed: 0,
      versions: ['1'],
    });
    expect(await m.events()).toEqual(expect.arrayContaining([expect.stringMatching(/^ShadowFailed: /)]));
  }, 360_000);

  it('lets a candidate that answers alike go on to its live steps', async () => {
    const { m, url } = await serving(spec);
    const load = loadGenerator(url, body, 3, true);
    await m.deploy('2', 'monitoring-same.onnx', spec);
    const seen: string[] = [];
    const md = await m.until(async () => {
      const x = await m.get();
      const message = x.status?.conditions?.find((c) => c.type === 'Progressing')?.message ?? '';
      if (/shadow/.test(message)) seen.push(message);
      return x.status?.stable?.version === '2' && x.status.phase === 'Ready' && x;
    });
    const report = await load.stop();
    expect(seen.length).toBeGreaterThan(0);
    expect(md.status!.history![0]).toMatchObject({ version: '2', outcome: 'Promoted' });
    expect(report.failed).toBe(0);
    expect(Object.keys(report.versions).sort()).toEqual(['1', '2']);
  }, 360_000);
});
