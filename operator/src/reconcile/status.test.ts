import { describe, expect, it } from '@jest/globals';
import type { RevisionHealth } from '../rollout/health.js';
import { computeStatus, kstatusConditions, summarize, withReconcileError, type Serving } from './status.js';
import type { RevisionRef, TickResult } from '../rollout/machine.js';
import { md } from '../testing/fixtures.js';

const health = (
  state: RevisionHealth['state'],
  ready: number,
  desired = 1,
  extra: Partial<RevisionHealth> = {},
): RevisionHealth => ({
  state,
  desiredReplicas: desired,
  readyReplicas: ready,
  availableReplicas: ready,
  reason: state === 'Failed' ? 'CrashLoopBackOff' : state,
  message: `${ready}/${desired} replicas ready`,
  ...extra,
});

const decision = (live: string, target: string, h: Record<string, RevisionHealth>): Serving => ({
  target,
  targetVersion: target === 'b' ? '2' : '1',
  live,
  liveVersion: live === 'b' ? '2' : '1',
  health: h,
});

describe('summarize', () => {
  it.each([
    [
      'serving the target',
      decision('a', 'a', { a: health('Available', 2, 2) }),
      'Ready',
      ['True', 'False', 'False'],
    ],
    [
      'nothing ready yet',
      decision('a', 'a', { a: health('Progressing', 0) }),
      'Pending',
      ['False', 'True', 'False'],
    ],
    ['not created yet', decision('a', 'a', {}), 'Pending', ['False', 'True', 'False']],
    [
      'scaling up while serving',
      decision('a', 'a', { a: health('Progressing', 1, 3) }),
      'Progressing',
      ['True', 'True', 'False'],
    ],
    [
      'a new revision starting',
      decision('a', 'b', { a: health('Available', 1), b: health('Progressing', 0) }),
      'Progressing',
      ['True', 'True', 'False'],
    ],
    [
      'a new revision failing while the old serves',
      decision('a', 'b', { a: health('Available', 1), b: health('Failed', 0) }),
      'Degraded',
      ['True', 'False', 'True'],
    ],
    [
      'a new revision failing with nothing serving',
      decision('a', 'b', { a: health('Progressing', 0), b: health('Failed', 0) }),
      'Failed',
      ['False', 'False', 'True'],
    ],
    [
      'the only revision failing',
      decision('a', 'a', { a: health('Failed', 0) }),
      'Failed',
      ['False', 'False', 'True'],
    ],
    [
      'one of two replicas failing',
      decision('a', 'a', { a: health('Failed', 1, 2) }),
      'Degraded',
      ['True', 'False', 'True'],
    ],
  ])('%s', (_what, d, phase, [ready, progressing, degraded]) => {
    const s = summarize(d, 1);
    expect([s.phase, s.ready.status, s.progressing.status, s.degraded.status]).toEqual([
      phase,
      ready,
      progressing,
      degraded,
    ]);
  });

  it('names both revisions and the failure when a new revision fails', () => {
    const s = summarize(
      decision('a', 'b', {
        a: health('Available', 1),
        b: health('Failed', 0, 1, { message: 'pod p: container server keeps crashing' }),
      }),
      1,
    );
    expect(s.degraded.message).toBe(
      'revision b (version 2) failed (CrashLoopBackOff): pod p: container server keeps crashing; revision a (version 1) keeps serving',
    );
  });

  it('reports a deployment scaled to zero as not ready, with the reason', () => {
    const s = summarize(decision('a', 'a', { a: health('Available', 0, 0) }), 0);
    expect(s.ready).toMatchObject({ status: 'False', reason: 'ScaledToZero' });
  });
});

/** A tick result serving `stable`, with a canary or a rejection when given. */
function result(o: Partial<TickResult> & { stable?: RevisionRef } = {}): TickResult {
  const stable = o.stable ?? { revision: 'a', version: '1' };
  return {
    state: { stable, history: [], ...o.state },
    traffic: o.traffic ?? { stable, canaryWeight: 0 },
    revisions: o.revisions ?? [{ ref: stable, role: 'stable' }],
    events: [],
    phase: o.phase,
    progress: o.progress,
  };
}

describe('computeStatus', () => {
  const h = { a: health('Available', 2, 2) };

  it('writes observedGeneration, stable and the URL', () => {
    const s = computeStatus(md(), result(), h, 2, '2026-01-01T00:00:00.000Z');
    expect(s.observedGeneration).toBe(3);
    expect(s.phase).toBe('Ready');
    expect(s.stable).toEqual({ revision: 'a', version: '1', weight: 100, readyReplicas: 2 });
    expect(s.url).toBe('http://churn.ml.svc.cluster.local/v2/models/churn');
    expect(s.conditions?.map((c) => c.type)).toEqual([
      'Ready',
      'Progressing',
      'Degraded',
      'Reconciling',
      'Stalled',
    ]);
    expect(s.canary).toBeUndefined();
  });

  it('is the same when nothing changed, so that nothing is written', () => {
    const m = md();
    const first = computeStatus(m, result(), h, 2, '2026-01-01T00:00:00.000Z');
    const second = computeStatus({ ...m, status: first }, result(), h, 2, '2026-01-01T00:05:00.000Z');
    expect(second).toEqual(first);
  });

  it('moves lastTransitionTime only for conditions whose status changed', () => {
    const m = md();
    const first = computeStatus(m, result(), { a: health('Progressing', 0) }, 1, 'T1');
    const second = computeStatus({ ...m, status: first }, result(), { a: health('Available', 1) }, 1, 'T2');
    const time = (s: typeof first, type: string) =>
      s.conditions!.find((c) => c.type === type)!.lastTransitionTime;
    expect([time(second, 'Ready'), time(second, 'Progressing'), time(second, 'Degraded')]).toEqual([
      'T2',
      'T2',
      'T1',
    ]);
  });

  it('shows a canary: its weight, the rest on stable, and the rollout as progress', () => {
    const b = { revision: 'b', version: '2' };
    const canary = {
      ...b,
      weight: 25,
      readyReplicas: 0,
      step: 3,
      steps: 6,
      startedAt: 'T0',
      stepStartedAt: 'T1',
      analysis: { verdict: 'Pass' as const, failures: 0 },
    };
    const s = computeStatus(
      md(),
      result({
        state: { stable: { revision: 'a', version: '1' }, canary, history: [] },
        traffic: { stable: { revision: 'a', version: '1' }, canary: b, canaryWeight: 25 },
        phase: 'Progressing',
        progress: {
          status: 'True',
          reason: 'CanaryProgressing',
          message: 'canary revision b (version 2) at 25%',
        },
      }),
      { a: health('Available', 2, 2), b: health('Available', 2, 2) },
      2,
      'T',
    );
    expect(s.phase).toBe('Progressing');
    expect(s.stable).toMatchObject({ revision: 'a', weight: 75 });
    expect(s.canary).toMatchObject({ revision: 'b', version: '2', weight: 25, readyReplicas: 2, step: 3 });
    expect(s.conditions!.find((c) => c.type === 'Progressing')).toMatchObject({
      status: 'True',
      reason: 'CanaryProgressing',
    });
  });

  it('shows a rolled-back revision as RolledBack and Degraded with the reason, still Ready', () => {
    const rejected = {
      revision: 'b',
      version: '2',
      reason: 'analysis failed: errorRate 40% above 1%',
      at: 'T',
      fallback: { revision: 'a', version: '1' },
    };
    const s = computeStatus(
      md(),
      result({
        state: { stable: { revision: 'a', version: '1' }, rejected, history: [] },
        phase: 'RolledBack',
        progress: {
          status: 'False',
          reason: 'RolledBack',
          message: 'revision b (version 2) was rolled back',
        },
      }),
      h,
      2,
      'T',
    );
    expect(s.phase).toBe('RolledBack');
    expect(s.rejected).toEqual(rejected);
    const c = (type: string) => s.conditions!.find((x) => x.type === type);
    expect(c('Ready')).toMatchObject({ status: 'True' });
    expect(c('Degraded')).toMatchObject({
      status: 'True',
      reason: 'RolledBack',
      message: 'revision b (version 2) was rolled back: analysis failed: errorRate 40% above 1%',
    });
  });
});

describe('kstatus conditions (Reconciling, Stalled)', () => {
  const conditions = (s: ReturnType<typeof computeStatus>) =>
    Object.fromEntries(s.conditions!.map((c) => [c.type, [c.status, c.reason]]));
  const rejected = {
    revision: 'b',
    version: '2',
    reason: 'analysis failed',
    at: 'T',
    fallback: { revision: 'a', version: '1' },
  };
  const progress = (status: 'True' | 'False', reason: string) => ({ status, reason, message: reason });

  it.each([
    ['serving the spec', result(), { a: health('Available', 1) }, ['False', 'RolloutComplete'], 'False'],
    [
      'the first revision starting',
      result(),
      { a: health('Progressing', 0) },
      ['True', 'NewRevisionProgressing'],
      'False',
    ],
    [
      'a BlueGreen revision starting',
      result({
        revisions: [
          { ref: { revision: 'a', version: '1' }, role: 'stable' },
          { ref: { revision: 'b', version: '2' }, role: 'incoming' },
        ],
      }),
      { a: health('Available', 1), b: health('Progressing', 0) },
      ['True', 'NewRevisionProgressing'],
      'False',
    ],
    [
      'a canary walking its steps',
      result({ phase: 'Progressing', progress: progress('True', 'CanaryProgressing') }),
      { a: health('Available', 1) },
      ['True', 'CanaryProgressing'],
      'False',
    ],
    [
      'a paused canary: still a rollout under way, waiting',
      result({ phase: 'Paused', progress: progress('True', 'CanaryPaused') }),
      { a: health('Available', 1) },
      ['True', 'CanaryPaused'],
      'False',
    ],
    [
      'a rolled back revision, the stable one serving',
      result({
        state: { stable: { revision: 'a', version: '1' }, rejected, history: [] },
        phase: 'RolledBack',
        progress: progress('False', 'RolledBack'),
      }),
      { a: health('Available', 1) },
      ['False', 'RolledBack'],
      'True',
    ],
    [
      'a BlueGreen revision failed, the stable one serving',
      result({
        revisions: [
          { ref: { revision: 'a', version: '1' }, role: 'stable' },
          { ref: { revision: 'b', version: '2' }, role: 'incoming' },
        ],
      }),
      { a: health('Available', 1), b: health('Failed', 0) },
      ['False', 'RevisionFailed'],
      'True',
    ],
    ['the live revision failed', result(), { a: health('Failed', 0) }, ['False', 'RevisionFailed'], 'True'],
  ])('%s', (_what, r, h, [reconciling, reason], stalled) => {
    const c = conditions(computeStatus(md(), r, h, 1, 'T'));
    expect(c.Reconciling).toEqual([reconciling, reason]);
    expect(c.Reconciling).toEqual(c.Progressing);
    expect(c.Stalled![0]).toBe(stalled);
  });

  it('never has both True: kstatus reads whichever comes first', () => {
    for (const p of ['True', 'False'] as const)
      for (const d of ['True', 'False'] as const) {
        const { reconciling, stalled } = kstatusConditions(
          { type: 'Progressing', status: p, reason: 'R', message: 'm' },
          { type: 'Degraded', status: d, reason: 'D', message: 'n' },
        );
        expect([reconciling.status, stalled.status]).not.toEqual(['True', 'True']);
      }
  });

  it('says in Stalled what happened and what a user can do, from the Progressing message', () => {
    const s = computeStatus(
      md(),
      result({
        state: { stable: { revision: 'a', version: '1' }, rejected, history: [] },
        phase: 'RolledBack',
        progress: {
          status: 'False',
          reason: 'RolledBack',
          message: 'revision b (version 2) was rolled back: retry it',
        },
      }),
      { a: health('Available', 1) },
      1,
      'T',
    );
    expect(s.conditions!.find((c) => c.type === 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'RolledBack',
      message: 'revision b (version 2) was rolled back: retry it',
      observedGeneration: 3,
    });
  });
});

describe('withReconcileError', () => {
  it('sets Degraded with the error and keeps the rest', () => {
    const m = md();
    m.status = { phase: 'Ready', stable: { revision: 'a', version: '1', weight: 100, readyReplicas: 1 } };
    const s = withReconcileError(m, 'reconcile failed: 403: forbidden', 'T');
    expect(s.phase).toBe('Ready');
    expect(s.conditions).toEqual([
      {
        type: 'Degraded',
        status: 'True',
        reason: 'ReconcileError',
        message: 'reconcile failed: 403: forbidden',
        lastTransitionTime: 'T',
        observedGeneration: 3,
      },
    ]);
  });
});
