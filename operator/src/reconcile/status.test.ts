import { describe, expect, it } from '@jest/globals';
import type { RevisionHealth } from './health.js';
import type { Decision } from './plan.js';
import { computeStatus, summarize, withReconcileError } from './status.js';
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

const decision = (live: string, target: string, h: Record<string, RevisionHealth>): Decision => ({
  target,
  targetVersion: target === 'b' ? '2' : '1',
  live,
  liveVersion: live === 'b' ? '2' : '1',
  previousLive: live,
  keep: [live, target],
  targetExists: target in h,
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

describe('computeStatus', () => {
  const d = decision('a', 'a', { a: health('Available', 2, 2) });

  it('writes observedGeneration, stable and the URL', () => {
    const s = computeStatus(md(), d, 2, '2026-01-01T00:00:00.000Z');
    expect(s.observedGeneration).toBe(3);
    expect(s.stable).toEqual({ revision: 'a', version: '1', weight: 100, readyReplicas: 2 });
    expect(s.url).toBe('http://churn.ml.svc.cluster.local/v2/models/churn');
    expect(s.conditions?.map((c) => c.type)).toEqual(['Ready', 'Progressing', 'Degraded']);
  });

  it('is the same when nothing changed, so that nothing is written', () => {
    const m = md();
    const first = computeStatus(m, d, 2, '2026-01-01T00:00:00.000Z');
    const second = computeStatus({ ...m, status: first }, d, 2, '2026-01-01T00:05:00.000Z');
    expect(second).toEqual(first);
  });

  it('moves lastTransitionTime only for conditions whose status changed', () => {
    const m = md();
    const first = computeStatus(m, decision('a', 'a', { a: health('Progressing', 0) }), 1, 'T1');
    const second = computeStatus(
      { ...m, status: first },
      decision('a', 'a', { a: health('Available', 1) }),
      1,
      'T2',
    );
    const time = (s: typeof first, type: string) =>
      s.conditions!.find((c) => c.type === type)!.lastTransitionTime;
    expect([time(second, 'Ready'), time(second, 'Progressing'), time(second, 'Degraded')]).toEqual([
      'T2',
      'T2',
      'T1',
    ]);
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
