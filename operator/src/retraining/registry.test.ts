import { describe, expect, it } from '@jest/globals';
import type { V1Job } from '@kubernetes/client-node';
import type { ModelVersion, ModelVersionStatus } from '../api/v1alpha1/model-version.js';
import type { RetrainingSpec } from '../api/v1alpha1/retraining.js';
import { md as fixture } from '../testing/fixtures.js';
import { jobOutcome, planRegistry, versionFromRun, type ObservedJob } from './registry.js';
import { specVersionName } from './spec-version.js';

const now = new Date('2026-12-02T04:00:00Z');
const sha = 'a'.repeat(64);

const retraining = (promotion: RetrainingSpec['promotion'] = {}): RetrainingSpec =>
  ({
    schedule: '*/5 * * * *',
    output: 'pvc://models/runs/',
    template: { image: 'trainer:1' },
    promotion: { mode: 'Auto', metrics: [], requireCompatibleSignature: true, ...promotion },
    versionHistoryLimit: 2,
  }) as RetrainingSpec;

const md = (r = retraining()) => ({
  ...fixture({ retraining: r }),
  status: { stable: { revision: 'r1', version: '1.0.0', weight: 100, readyReplicas: 1 } },
});

function job(name: string, condition?: 'Complete' | 'Failed', message?: string): V1Job {
  return {
    metadata: { name, namespace: 'ml' },
    status: {
      startTime: new Date('2026-12-02T03:55:07Z'),
      conditions: condition ? [{ type: condition, status: 'True', message }] : [],
    },
  };
}

const summary = (o: object = {}) =>
  JSON.stringify({
    model: 'model.onnx',
    sha256: sha,
    metrics: { accuracy: 0.95 },
    holdout: 'holdout.json',
    ...o,
  });

function version(
  name: string,
  status: ModelVersionStatus,
  o: Partial<ModelVersion['spec']> = {},
): ModelVersion {
  return {
    apiVersion: 'modelship.dev/v1alpha1',
    kind: 'ModelVersion',
    metadata: {
      name,
      namespace: 'ml',
      uid: `uid-${name}`,
      creationTimestamp: new Date('2026-12-02T03:00:00Z'),
    },
    spec: {
      deployment: 'churn',
      model: {
        name: 'churn',
        version: name,
        storageUri: `pvc://models/runs/${name}/model.onnx`,
        sha256: sha,
      },
      source: { kind: 'Job', name },
      metrics: { accuracy: 0.95 },
      ...o,
    },
    status,
  };
}

const signature = {
  inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }],
  outputs: [{ name: 'label', datatype: 'INT64', shape: [-1] }],
};
const inspection = (o: object = {}) =>
  JSON.stringify({ ok: true, signature, loadMs: 12, holdout: { rows: 100, accuracy: 0.93 }, ...o });

/** The version recording spec.model, already registered and serving (as after the first reconcile). */
const specVersion = (m = md()) => ({
  ...version(specVersionName('churn', m.spec.model), { phase: 'Stable' as const }),
  spec: {
    deployment: 'churn',
    model: { name: 'churn', version: '1.0.0', storageUri: 'file:///m.onnx' },
    source: { kind: 'Spec' as const },
  },
});

const plan = (
  runs: ObservedJob[],
  versions: ModelVersion[] = [],
  validations = new Map<string, ObservedJob>(),
  m = md(),
) => planRegistry({ md: m, runs, versions: [...versions, specVersion(m)], validations, now });

describe('jobOutcome', () => {
  it('tells running, completed and failed Jobs apart', () => {
    expect(jobOutcome(job('a'))).toEqual({ done: false });
    expect(jobOutcome(job('a', 'Complete'))).toEqual({ done: true, succeeded: true, reason: 'completed' });
    expect(jobOutcome(job('a', 'Failed', 'Job has reached the specified backoff limit'))).toEqual({
      done: true,
      succeeded: false,
      reason: 'Job has reached the specified backoff limit',
    });
  });
});

describe('registering runs', () => {
  it('registers a finished run as a Candidate with its model under the run folder, metrics and lineage', () => {
    const p = plan([
      { job: job('churn-retrain-1', 'Complete'), message: summary({ data: { ref: 'ds@1', rows: 455 } }) },
    ]);
    expect(p.create).toHaveLength(1);
    const { version: v, status } = p.create[0]!;
    expect(v.metadata.name).toBe('churn-retrain-1');
    expect(v.spec).toEqual({
      deployment: 'churn',
      model: {
        name: 'churn',
        version: '20261202-035507',
        storageUri: 'pvc://models/runs/churn-retrain-1/model.onnx',
        sha256: sha,
      },
      source: { kind: 'Job', name: 'churn-retrain-1', schedule: '*/5 * * * *', parentVersion: '1.0.0' },
      metrics: { accuracy: 0.95 },
      data: { ref: 'ds@1', rows: 455 },
      holdoutUri: 'pvc://models/runs/churn-retrain-1/holdout.json',
    });
    expect(status.phase).toBe('Candidate');
    expect(p.events).toEqual([expect.objectContaining({ type: 'Normal', reason: 'VersionRegistered' })]);
  });

  it('uses the version label the run reports', () => {
    const p = plan([{ job: job('r', 'Complete'), message: summary({ version: '2.1.0' }) }]);
    expect(p.create[0]!.version.spec.model.version).toBe('2.1.0');
  });

  it('waits for runs still going, and never registers a run twice', () => {
    expect(plan([{ job: job('r') }]).create).toEqual([]);
    const existing = version('r', { phase: 'Candidate' });
    expect(plan([{ job: job('r', 'Complete'), message: summary() }], [existing]).create).toEqual([]);
  });

  it.each([
    [
      'a failed job',
      job('r', 'Failed', 'BackoffLimitExceeded'),
      'Traceback: boom',
      /training job r failed: BackoffLimitExceeded; last output: Traceback: boom/,
    ],
    ['no summary', job('r', 'Complete'), undefined, /summary is unusable: termination message is empty/],
    ['a summary that is not JSON', job('r', 'Complete'), 'done!', /summary is unusable: .*JSON/],
    [
      'a summary without sha256',
      job('r', 'Complete'),
      JSON.stringify({ model: 'model.onnx', metrics: {} }),
      /sha256/,
    ],
  ])('rejects a run with %s, with the reason, so it never rolls out', (_, j, message, reason) => {
    const p = plan([{ job: j, message }]);
    expect(p.create[0]!.status.phase).toBe('Rejected');
    expect(p.create[0]!.status.conditions![0]!.message).toMatch(reason);
    expect(p.events[0]).toMatchObject({ type: 'Warning', reason: 'VersionRejected' });
    expect(p.validate).toEqual([]);
  });

  it('rejects a second version with a label that exists already', () => {
    const p = plan(
      [{ job: job('r2', 'Complete'), message: summary({ version: 'v1' }) }],
      [version('v1', { phase: 'Stable' })],
    );
    expect(p.create[0]!.status.conditions![0]!.message).toMatch(
      /version v1 already exists \(ModelVersion v1\)/,
    );
  });

  it('registers nothing without spec.retraining', () => {
    const m = { ...md(), spec: { ...md().spec, retraining: undefined } };
    expect(plan([{ job: job('r', 'Complete'), message: summary() }], [], new Map(), m).create).toEqual([]);
  });
});

describe('the model card of a version', () => {
  const card = { owner: 'ml-team', license: 'MIT', evaluationMetrics: { accuracy: 0.9 } };
  const withCard = () => {
    const m = md();
    m.spec.modelCard = card;
    return m;
  };

  it("is spec.modelCard, with the run's own metrics as its evaluation", () => {
    const p = plan(
      [{ job: job('churn-retrain-1', 'Complete'), message: summary() }],
      [],
      undefined,
      withCard(),
    );
    expect(p.create[0]!.version.spec.modelCard).toEqual({ ...card, evaluationMetrics: { accuracy: 0.95 } });
  });

  it("keeps the card's evaluation when the run reported no metrics", () => {
    const p = plan(
      [{ job: job('churn-retrain-1', 'Complete'), message: summary({ metrics: {} }) }],
      [],
      undefined,
      withCard(),
    );
    expect(p.create[0]!.version.spec.modelCard).toEqual(card);
  });

  it("is spec.modelCard as it is for spec.model's own version, and absent without one", () => {
    const m = withCard();
    const p = planRegistry({ md: m, runs: [], versions: [], validations: new Map(), now });
    expect(p.create[0]!.version.spec.modelCard).toEqual(card);
    const none = planRegistry({ md: md(), runs: [], versions: [], validations: new Map(), now });
    expect(none.create[0]!.version.spec).not.toHaveProperty('modelCard');
  });
});

describe("spec.model's own version", () => {
  it('is registered once (source Spec) so that retrained versions have a signature to be compatible with', () => {
    const p = planRegistry({ md: md(), runs: [], versions: [], validations: new Map(), now });
    expect(p.create).toHaveLength(1);
    expect(p.create[0]!.version.metadata.name).toBe(specVersionName('churn', md().spec.model));
    expect(p.create[0]!.version.spec).toMatchObject({
      source: { kind: 'Spec' },
      model: { version: '1.0.0', storageUri: 'file:///m.onnx' },
    });
    expect(p.create[0]!.status.phase).toBe('Candidate');
    expect(plan([]).create).toEqual([]);
  });

  it('is validated but not gated: the user asked for it', () => {
    const m = md(retraining({ metrics: [{ name: 'accuracy', min: 0.99 }] }));
    const v = { ...specVersion(m), status: { phase: 'Validating' as const } };
    const p = planRegistry({
      md: m,
      runs: [],
      versions: [v],
      validations: new Map([
        [v.metadata.name!, { job: job('s-validate', 'Complete'), message: inspection() }],
      ]),
      now,
    });
    expect(p.statuses.get(v.metadata.name!)).toMatchObject({ phase: 'Approved', signature });
    expect(p.statuses.get(v.metadata.name!)!.gate).toBeUndefined();
  });
});

describe('validating and gating', () => {
  it('validates Candidates', () => {
    const v = version('v2', { phase: 'Candidate' });
    expect(plan([], [v]).validate).toEqual([v]);
  });

  it('waits for a validation Job that has not finished', () => {
    const v = version('v2', { phase: 'Validating' });
    const p = plan([], [v], new Map([['v2', { job: job('v2-validate') }]]));
    expect(p.statuses.size).toBe(0);
    expect(p.validate).toEqual([]);
  });

  it('approves a version that loads and passes the gate, with its signature, holdout metrics and key metric', () => {
    const m = md(retraining({ metrics: [{ name: 'holdout.accuracy', min: 0.9 }] }));
    const v = version('v2', { phase: 'Validating' });
    const p = plan(
      [],
      [v],
      new Map([['v2', { job: job('v2-validate', 'Complete'), message: inspection() }]]),
      m,
    );
    const status = p.statuses.get('v2')!;
    expect(status).toMatchObject({
      phase: 'Approved',
      signature,
      validation: { loadMs: 12, holdout: { 'holdout.accuracy': 0.93 } },
      keyMetric: 'holdout.accuracy=0.93',
    });
    expect(status.gate).toEqual([
      expect.objectContaining({ name: 'holdout.accuracy.min', passed: true }),
      // No stable version with a signature yet: nothing to compare with.
      expect.objectContaining({ name: 'signature', passed: true }),
    ]);
    expect(p.events[0]).toMatchObject({ type: 'Normal', reason: 'VersionApproved' });
  });

  it('rejects a version worse than the stable one, with every reason', () => {
    const m = md(
      retraining({
        metrics: [
          { name: 'accuracy', min: 0.96 },
          { name: 'holdout.accuracy', notWorseThanStable: true, tolerance: 0.01 },
        ],
      }),
    );
    const stable = version('v1', {
      phase: 'Stable',
      signature,
      validation: { holdout: { 'holdout.accuracy': 0.97 } },
    });
    const v = version('v2', { phase: 'Validating' });
    const p = plan(
      [],
      [stable, v],
      new Map([['v2', { job: job('v2-validate', 'Complete'), message: inspection() }]]),
      m,
    );
    const status = p.statuses.get('v2')!;
    expect(status.phase).toBe('Rejected');
    expect(status.conditions!.at(-1)!.message).toMatch(/accuracy 0.95 is below the minimum 0.96/);
    expect(status.conditions!.at(-1)!.message).toMatch(/holdout.accuracy 0.93 .*0.97/);
  });

  it('rejects a version whose inputs differ from the stable one', () => {
    const stable = version('v1', {
      phase: 'Stable',
      signature: { ...signature, inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }] },
    });
    const v = version('v2', { phase: 'Validating' });
    const p = plan(
      [],
      [stable, v],
      new Map([['v2', { job: job('v2-validate', 'Complete'), message: inspection() }]]),
    );
    expect(p.statuses.get('v2')!.phase).toBe('Rejected');
  });

  it.each([
    [
      'the serving image refused the model',
      inspection({ ok: false, reason: 'model is not ONNX: protobuf parsing failed' }),
      /model is not ONNX/,
    ],
    [
      'a sha256 mismatch',
      JSON.stringify({ ok: false, reason: 'sha256 mismatch: expected aaa, got bbb' }),
      /sha256 mismatch/,
    ],
    ['no result at all', '', /wrote no result/],
  ])('rejects a version when %s', (_, message, reason) => {
    const v = version('v2', { phase: 'Validating' });
    const p = plan(
      [],
      [v],
      new Map([['v2', { job: job('v2-validate', 'Failed', 'BackoffLimitExceeded'), message }]]),
    );
    expect(p.statuses.get('v2')!.phase).toBe('Rejected');
    expect(p.statuses.get('v2')!.conditions!.at(-1)!.message).toMatch(reason);
  });
});

describe('pruning', () => {
  it('keeps versionHistoryLimit Rejected and Retired versions, deleting the oldest', () => {
    const at = (v: ModelVersion, iso: string) => ({
      ...v,
      metadata: { ...v.metadata, creationTimestamp: new Date(iso) },
    });
    const versions = [
      at(version('a', { phase: 'Rejected' }), '2026-12-01T01:00:00Z'),
      at(version('b', { phase: 'Retired' }), '2026-12-01T02:00:00Z'),
      at(version('c', { phase: 'Rejected' }), '2026-12-01T03:00:00Z'),
      at(version('d', { phase: 'Stable' }), '2026-12-01T00:00:00Z'),
    ];
    expect(plan([], versions).prune).toEqual(['a']);
  });
});

describe('versionFromRun', () => {
  it('is the run start time, ordered and label-safe', () => {
    expect(versionFromRun(job('r'), now)).toBe('20261202-035507');
    expect(versionFromRun({ metadata: { name: 'r' } }, now)).toBe('20261202-040000');
  });
});
