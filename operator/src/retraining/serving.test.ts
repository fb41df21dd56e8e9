import { describe, expect, it } from '@jest/globals';
import type { ModelVersion, ModelVersionStatus } from '../api/v1alpha1/model-version.js';
import type { ModelDeployment, ServedModel } from '../api/v1alpha1/schema.js';
import type { RolloutState } from '../rollout/machine.js';
import { md as fixture } from '../testing/fixtures.js';
import { chooseModel, phasesAfterTick, promoteAnnotation, servedCard, specModelHash } from './serving.js';

const now = new Date('2026-12-02T04:00:00Z');

function version(
  name: string,
  phase: ModelVersionStatus['phase'],
  created: string,
  annotations?: Record<string, string>,
): ModelVersion {
  return {
    apiVersion: 'modelship.dev/v1alpha1',
    kind: 'ModelVersion',
    metadata: { name, namespace: 'ml', creationTimestamp: new Date(created), annotations },
    spec: {
      deployment: 'churn',
      model: {
        name: 'churn',
        version: name,
        storageUri: `pvc://m/runs/${name}/model.onnx`,
        sha256: 'b'.repeat(64),
      },
      source: { kind: 'Job', name },
    },
    status: { phase },
  };
}

function md(mode: 'Auto' | 'Manual', served?: Partial<ServedModel>): ModelDeployment {
  const m = fixture({
    retraining: {
      schedule: '@daily',
      output: 'pvc://m/runs',
      template: { image: 't' },
      promotion: { mode },
    } as never,
  });
  const hash = specModelHash(m.spec.model);
  return served
    ? {
        ...m,
        status: {
          model: {
            source: 'Spec',
            version: '1.0.0',
            specModelHash: hash,
            reason: 'spec.model',
            since: '2026-12-02T03:00:00.000Z',
            ...served,
          },
        },
      }
    : m;
}

describe('chooseModel', () => {
  it('serves spec.model while no version is approved', () => {
    const c = chooseModel(md('Auto'), [version('v2', 'Validating', '2026-12-02T01:00:00Z')], now);
    expect(c.served).toMatchObject({ source: 'Spec', version: '1.0.0', reason: 'spec.model' });
    expect(c.model.storageUri).toBe('file:///m.onnx');
  });

  it('serves the newest Approved version at once with mode Auto, in spec.model’s place', () => {
    const versions = [
      version('v2', 'Approved', '2026-12-02T01:00:00Z'),
      version('v3', 'Approved', '2026-12-02T02:00:00Z'),
    ];
    const c = chooseModel(md('Auto'), versions, now);
    expect(c.served).toMatchObject({ source: 'ModelVersion', modelVersion: 'v3', version: 'v3' });
    expect(c.served.reason).toMatch(/approved \(promotion mode Auto\)/);
    expect(c.model).toMatchObject({
      version: 'v3',
      storageUri: 'pvc://m/runs/v3/model.onnx',
      sha256: 'b'.repeat(64),
    });
  });

  it("serves a run's version without spec.model's signature (it signs spec.model's file), keeping the rest", () => {
    const m = md('Auto');
    const publicKey = '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----';
    m.spec.model = { ...m.spec.model, requireDigest: true, signature: { publicKey, signature: 'AA==' } };
    const c = chooseModel(m, [version('v2', 'Approved', '2026-12-02T01:00:00Z')], now);
    expect(c.model.version).toBe('v2');
    expect(c.model.signature).toBeUndefined();
    expect(c.model.requireDigest).toBe(true);
  });

  it("carries a run's version's own model card, else spec.modelCard", () => {
    const m = md('Auto');
    m.spec.modelCard = { owner: 'spec' };
    const run = version('v2', 'Approved', '2026-12-02T01:00:00Z');
    run.spec.modelCard = { owner: 'spec', evaluationMetrics: { accuracy: 0.99 } };
    expect(servedCard(m, { version: run })).toEqual(run.spec.modelCard);
    expect(servedCard(m, {})).toEqual({ owner: 'spec' });
    const fromSpec = { ...run, spec: { ...run.spec, source: { kind: 'Spec' as const } } };
    expect(servedCard(m, { version: fromSpec })).toEqual({ owner: 'spec' });
  });

  it('waits for kubectl modelship promote with mode Manual', () => {
    const approved = version('v2', 'Approved', '2026-12-02T01:00:00Z');
    expect(chooseModel(md('Manual'), [approved], now).served.source).toBe('Spec');
    const promoted = version('v2', 'Approved', '2026-12-02T01:00:00Z', {
      [promoteAnnotation]: now.toISOString(),
    });
    const c = chooseModel(md('Manual'), [promoted], now);
    expect(c.served).toMatchObject({ source: 'ModelVersion', modelVersion: 'v2' });
    expect(c.served.reason).toMatch(/promoted \(kubectl modelship promote\)/);
  });

  it('keeps serving the chosen version (and since when) through its rollout', () => {
    const m = md('Auto', {
      source: 'ModelVersion',
      modelVersion: 'v2',
      version: 'v2',
      reason: 'r',
      since: 'then',
    });
    const c = chooseModel(m, [version('v2', 'Canary', '2026-12-02T01:00:00Z')], now);
    expect(c.served).toMatchObject({ modelVersion: 'v2', reason: 'r', since: 'then' });
  });

  it('lets a change of spec.model win over a ModelVersion, and says so', () => {
    const m = md('Auto', {
      source: 'ModelVersion',
      modelVersion: 'v2',
      version: 'v2',
      specModelHash: 'an older spec.model',
    });
    const c = chooseModel(m, [version('v2', 'Stable', '2026-12-02T01:00:00Z')], now);
    expect(c.served).toMatchObject({
      source: 'Spec',
      version: '1.0.0',
      specModelHash: specModelHash(m.spec.model),
    });
    expect(c.served.reason).toMatch(/spec.model changed \(to version 1.0.0\): it wins over ModelVersion v2/);
  });

  it('goes back to the version that serves when the promoted one was rolled back', () => {
    const m = md('Auto', { source: 'ModelVersion', modelVersion: 'v3', version: 'v3' });
    const versions = [
      version('v2', 'Stable', '2026-12-02T01:00:00Z'),
      version('v3', 'Rejected', '2026-12-02T02:00:00Z'),
    ];
    const c = chooseModel(m, versions, now);
    expect(c.served).toMatchObject({ source: 'ModelVersion', modelVersion: 'v2' });
    expect(c.served.reason).toMatch(/v3 was rejected; v2 keeps serving/);
  });

  it('goes back to spec.model when a rolled-back version was the first', () => {
    const m = md('Auto', { source: 'ModelVersion', modelVersion: 'v2', version: 'v2' });
    const c = chooseModel(m, [version('v2', 'Rejected', '2026-12-02T01:00:00Z')], now);
    expect(c.served).toMatchObject({ source: 'Spec', version: '1.0.0' });
  });

  it('does not bring an approved version back by itself once spec.model won over it', () => {
    const m = md('Auto', { source: 'Spec', reason: 'spec.model changed' });
    const c = chooseModel(m, [version('v2', 'Approved', '2026-12-02T01:00:00Z')], now);
    expect(c.served).toMatchObject({ source: 'Spec', reason: 'spec.model changed' });
    // A run after that decision does take over.
    const later = version('v3', 'Approved', '2026-12-02T03:30:00Z');
    expect(chooseModel(m, [later], now).served.modelVersion).toBe('v3');
  });

  it('does not go back to an older Approved version once a newer one serves', () => {
    const m = md('Auto', { source: 'ModelVersion', modelVersion: 'v3', version: 'v3' });
    const versions = [
      version('v2', 'Approved', '2026-12-02T01:00:00Z'),
      version('v3', 'Stable', '2026-12-02T02:00:00Z'),
    ];
    expect(chooseModel(m, versions, now).served.modelVersion).toBe('v3');
  });
});

describe('phasesAfterTick', () => {
  const chosen = (name: string, phase: ModelVersionStatus['phase']) => {
    const v = version(name, phase, '2026-12-02T01:00:00Z');
    const m = md('Auto', { source: 'ModelVersion', modelVersion: name, version: name });
    return { v, choice: chooseModel(m, [v], now) };
  };
  const state = (o: Partial<RolloutState>): RolloutState => ({ history: [], ...o });
  const ref = (revision: string, version = revision) => ({ revision, version });

  it('marks the version Canary while its canary runs', () => {
    const { v, choice } = chosen('v2', 'Approved');
    const canary = { ...ref('t'), weight: 20, step: 1, steps: 4, readyReplicas: 1, startedAt: 'x' } as never;
    const out = phasesAfterTick([v], choice, 't', state({ stable: ref('s'), canary }), now);
    expect(out.get('v2')!.phase).toBe('Canary');
  });

  it('marks it Stable once it serves, and retires the one it replaced', () => {
    const { v, choice } = chosen('v2', 'Canary');
    const old = version('v1', 'Stable', '2026-12-01T00:00:00Z');
    const out = phasesAfterTick([old, v], choice, 't', state({ stable: ref('t') }), now);
    expect(out.get('v2')).toMatchObject({ phase: 'Stable', servedAt: now.toISOString() });
    expect(out.get('v1')).toMatchObject({ phase: 'Retired', retiredAt: now.toISOString() });
  });

  it('promotes an Approved version that served without a canary (BlueGreen)', () => {
    const { v, choice } = chosen('v2', 'Approved');
    expect(phasesAfterTick([v], choice, 't', state({ stable: ref('t') }), now).get('v2')!.phase).toBe(
      'Stable',
    );
  });

  it('rejects a version whose rollout was rolled back, with the reason', () => {
    const { v, choice } = chosen('v2', 'Canary');
    const rejected = { ...ref('t'), reason: 'errorRate 0.4 above 0.02', at: 'x', fallback: ref('s') };
    const out = phasesAfterTick([v], choice, 't', state({ stable: ref('s'), rejected }), now);
    expect(out.get('v2')!.phase).toBe('Rejected');
    expect(out.get('v2')!.conditions!.at(-1)!.message).toMatch(/rolled back: errorRate 0.4 above 0.02/);
  });

  it('changes nothing while the new revision is only starting', () => {
    const { v, choice } = chosen('v2', 'Approved');
    expect(phasesAfterTick([v], choice, 't', state({ stable: ref('s') }), now).size).toBe(0);
  });

  it("marks spec.model's own version Stable once the spec's revision serves", () => {
    const m = md('Auto', { source: 'Spec' });
    const choice = chooseModel(m, [], now);
    const own = {
      ...version(choice.specVersion!, 'Approved', '2026-12-01T00:00:00Z'),
      spec: { ...version('x', 'Approved', 'x').spec, source: { kind: 'Spec' as const } },
    };
    expect(
      phasesAfterTick([own], choice, 't', state({ stable: ref('t') }), now).get(own.metadata.name!)!.phase,
    ).toBe('Stable');
  });

  it('retires the serving version when a change of spec.model took over', () => {
    const old = version('v1', 'Stable', '2026-12-01T00:00:00Z');
    const choice = chooseModel(md('Auto', { source: 'Spec' }), [old], now);
    expect(choice.served.source).toBe('Spec');
    expect(phasesAfterTick([old], choice, 't', state({ stable: ref('t') }), now).get('v1')!.phase).toBe(
      'Retired',
    );
  });
});
