import { describe, expect, it } from '@jest/globals';
import { withDefaults, type ModelDeploymentSpec } from '../api/v1alpha1/schema.js';
import type { RevisionHealth } from './health.js';
import type { Verdict } from './judge.js';
import {
  checksDue,
  judgementDue,
  tick,
  type RevisionRef,
  type RolloutState,
  type TickResult,
  type UserRequest,
} from './machine.js';
import { rolloutPlan } from './plan.js';

const v1: RevisionRef = { revision: 'r1', version: '1' };
const v2: RevisionRef = { revision: 'r2', version: '2' };
const v3: RevisionRef = { revision: 'r3', version: '3' };

const available = (ready = 2): RevisionHealth => ({
  state: 'Available',
  desiredReplicas: ready,
  readyReplicas: ready,
  availableReplicas: ready,
  reason: 'Available',
  message: `${ready}/${ready} replicas ready`,
});
const starting: RevisionHealth = {
  ...available(0),
  state: 'Progressing',
  reason: 'ReplicasNotReady',
  message: '0/2 replicas ready',
};
const crashing: RevisionHealth = {
  ...available(0),
  state: 'Failed',
  reason: 'CrashLoopBackOff',
  message: 'pod p: container server keeps crashing',
};

const pass: Verdict = {
  metric: 'errorRate',
  verdict: 'Pass',
  canary: 0,
  stable: 0,
  limit: 0.01,
  samples: 50,
  reason: 'errorRate 0% within stable 0% + 1% = 1% (50 requests)',
};
const fail: Verdict = {
  metric: 'errorRate',
  verdict: 'Fail',
  canary: 0.4,
  stable: 0,
  limit: 0.01,
  samples: 50,
  reason: 'errorRate 40% above stable 0% + 1% = 1% (50 requests)',
};
const noData: Verdict = {
  metric: 'errorRate',
  verdict: 'NoData',
  samples: 3,
  reason: 'errorRate: the canary served 3 of the 20 requests needed for a verdict',
};

/**
 * A rollout driven tick by tick. The state goes through JSON between ticks, as it does through the status: every
 * tick is also "the operator restarted here".
 */
function simulate(extra: Partial<ModelDeploymentSpec> = {}) {
  const spec = withDefaults({ model: { version: '1', storageUri: 'file:///m.onnx' }, ...extra });
  const plan = rolloutPlan(spec);
  let state: RolloutState = { history: [] };
  let now = Date.parse('2026-11-01T10:00:00Z');
  const health: Record<string, RevisionHealth | undefined> = {};
  let last: TickResult | undefined;
  const sim = {
    plan,
    health,
    get state() {
      return state;
    },
    get last() {
      return last!;
    },
    advance(ms: number) {
      now += ms;
    },
    now: () => new Date(now),
    tick(target: RevisionRef, o: { judgement?: Verdict[]; request?: UserRequest } = {}) {
      last = tick(JSON.parse(JSON.stringify(state)) as RolloutState, {
        now: new Date(now),
        plan,
        target,
        health,
        ...o,
      });
      state = last.state;
      return last;
    },
    /** Ticks every `step` ms for `ms`, judging with `verdicts` whenever a judgement is due. */
    run(target: RevisionRef, ms: number, verdicts: Verdict[] = [pass], step = 1000) {
      const results: TickResult[] = [];
      for (let t = 0; t < ms; t += step) {
        const due = judgementDue(state, plan, new Date(now));
        results.push(sim.tick(target, due ? { judgement: verdicts } : {}));
        now += step;
      }
      return results;
    },
    roles: () => Object.fromEntries(last!.revisions.map((r) => [r.ref.revision, r.role])),
    reasons: (from = 0) => results.flatMap((r) => r.events.map((e) => e.reason)).slice(from),
  };
  const results: TickResult[] = [];
  const plainTick = sim.tick;
  sim.tick = (target, o = {}) => {
    const r = plainTick(target, o);
    results.push(r);
    return r;
  };
  return sim;
}

const canarySpec = (
  steps: NonNullable<NonNullable<ModelDeploymentSpec['rollout']>['steps']>,
  analysis = {},
) => ({
  rollout: { strategy: 'Canary' as const, steps },
  analysis,
});

/** v1 serving and available. */
function servingV1(extra: Partial<ModelDeploymentSpec>) {
  const sim = simulate(extra);
  sim.health.r1 = available();
  sim.tick(v1);
  return sim;
}

describe('the first revision', () => {
  it('serves at once, whatever the strategy', () => {
    const sim = simulate(canarySpec([{ setWeight: 50 }]));
    const r = sim.tick(v1);
    expect(r.traffic).toEqual({ stable: v1, canary: undefined, canaryWeight: 0 });
    expect(r.revisions).toEqual([{ ref: v1, role: 'stable' }]);
    expect(r.state.history[0]).toMatchObject({ revision: 'r1', outcome: 'Promoted' });
  });
});

describe('a canary', () => {
  const steps = [
    { setWeight: 10 },
    { analysis: { duration: '20s' } },
    { setWeight: 50 },
    { analysis: { duration: '20s' } },
  ];

  it('waits at weight 0 until available, walks every step while passing, then becomes stable', () => {
    const sim = servingV1(canarySpec(steps));
    sim.health.r2 = starting;
    let r = sim.tick(v2);
    expect(r.traffic.canaryWeight).toBe(0);
    expect(r.progress).toMatchObject({ reason: 'CanaryStarting' });
    expect(r.revisions).toEqual([
      { ref: v1, role: 'stable' },
      { ref: v2, role: 'canary' },
    ]);
    sim.advance(60_000); // however long it takes: the steps' clock starts once it is available
    sim.health.r2 = available();
    r = sim.tick(v2);
    expect(r.traffic).toEqual({ stable: v1, canary: v2, canaryWeight: 10 });
    expect(r.state.canary).toMatchObject({ step: 1, steps: 4 });
    expect(r.requeueAfterMs).toBe(0); // the first judgement is due at once

    const during = sim.run(v2, 19_000);
    expect(during.every((x) => x.traffic.canaryWeight === 10)).toBe(true);
    const rest = sim.run(v2, 22_000);
    expect(rest.some((x) => x.traffic.canaryWeight === 50)).toBe(true);
    const end = sim.run(v2, 30_000);
    r = end.at(-1)!;
    expect(r.traffic).toEqual({ stable: v2, canary: undefined, canaryWeight: 0 });
    expect(r.state.canary).toBeUndefined();
    expect(r.state.history[0]).toMatchObject({
      revision: 'r2',
      outcome: 'Promoted',
      reason: 'every step passed',
    });
    expect(sim.roles()).toEqual({ r2: 'stable', r1: 'history' });
    expect(sim.reasons()).toEqual([
      'CanaryStarted',
      'CanaryWeightChanged',
      'CanaryWeightChanged',
      'CanaryPromoted',
    ]);
  });

  it('is rolled back at the first failed judgement: all traffic to stable, the revision rejected', () => {
    const sim = servingV1(canarySpec(steps));
    sim.health.r2 = available();
    sim.tick(v2);
    sim.run(v2, 6000);
    const r = sim.tick(v2, { judgement: [fail] });
    expect(r.traffic).toEqual({ stable: v1, canary: undefined, canaryWeight: 0 });
    expect(r.phase).toBe('RolledBack');
    expect(r.progress?.message).toMatch(
      /revision r2 \(version 2\) was rolled back: analysis failed: errorRate 40% above stable 0% \+ 1% = 1%/,
    );
    expect(r.events).toEqual([
      expect.objectContaining({
        type: 'Warning',
        reason: 'RolledBack',
        message: expect.stringContaining('at 10%: analysis failed: errorRate 40%'),
      }),
    ]);
    expect(sim.roles()).toEqual({ r1: 'stable', r2: 'rejected' });
    expect(r.state.rejected).toMatchObject({ revision: 'r2', fallback: v1 });
    // It stays rolled back, tick after tick, until the spec changes or a retry.
    sim.advance(600_000);
    expect(sim.tick(v2).traffic.canaryWeight).toBe(0);
    expect(sim.last.phase).toBe('RolledBack');
  });

  it('tolerates failureLimit failed judgements and rolls back at the next one', () => {
    const sim = servingV1(canarySpec(steps, { failureLimit: 1 }));
    sim.health.r2 = available();
    sim.tick(v2);
    expect(sim.tick(v2, { judgement: [fail] }).state.canary?.analysis.failures).toBe(1);
    expect(sim.last.traffic.canaryWeight).toBe(10);
    sim.advance(5000);
    expect(sim.tick(v2, { judgement: [fail] }).phase).toBe('RolledBack');
  });

  it('is rolled back when its pods fail, with the reason', () => {
    const sim = servingV1(canarySpec(steps));
    sim.health.r2 = available();
    sim.tick(v2);
    sim.health.r2 = crashing;
    const r = sim.tick(v2);
    expect(r.state.rejected?.reason).toBe(
      'the revision failed (CrashLoopBackOff): pod p: container server keeps crashing',
    );
    expect(r.traffic.canaryWeight).toBe(0);
  });

  it('starts over from step 0 when the spec changes mid-rollout', () => {
    const sim = servingV1(canarySpec(steps));
    sim.health.r2 = available();
    sim.tick(v2);
    sim.run(v2, 25_000);
    expect(sim.state.canary?.weight).toBe(50);
    sim.health.r3 = available();
    const r = sim.tick(v3);
    expect(r.state.history[0]).toMatchObject({ revision: 'r2', outcome: 'Superseded' });
    expect(r.state.canary).toMatchObject({ revision: 'r3', step: 1, weight: 10 });
    expect(sim.roles()).toEqual({ r1: 'stable', r3: 'canary' });
  });

  it('ends when the spec goes back to the stable version', () => {
    const sim = servingV1(canarySpec(steps));
    sim.health.r2 = available();
    sim.tick(v2);
    const r = sim.tick(v1);
    expect(r.state.canary).toBeUndefined();
    expect(r.traffic).toEqual({ stable: v1, canary: undefined, canaryWeight: 0 });
    expect(r.state.history[0]).toMatchObject({ revision: 'r2', outcome: 'Superseded' });
  });
});

describe('no data', () => {
  const steps = [{ setWeight: 10 }, { analysis: { duration: '10s' } }];
  const noDataRun = (policy: 'Wait' | 'Fail' | 'Pass', timeout = '30s') => {
    const sim = servingV1(canarySpec(steps, { noData: { policy, timeout } }));
    sim.health.r2 = available();
    sim.tick(v2);
    return { sim, results: sim.run(v2, 60_000, [noData]) };
  };

  it('Wait: waits for data until the timeout, then rolls back', () => {
    const { sim, results } = noDataRun('Wait', '30s');
    const rolledBack = results.findIndex((r) => r.phase === 'RolledBack');
    expect(rolledBack).toBeGreaterThanOrEqual(30);
    expect(rolledBack).toBeLessThanOrEqual(36);
    expect(sim.state.rejected?.reason).toMatch(
      /^no data to judge it for 3\d s \(noData policy Wait, timeout 30 s\)/,
    );
  });

  it('Fail: rolls back at the first judgement without data', () => {
    const { results } = noDataRun('Fail');
    expect(results[0]!.phase).toBe('RolledBack');
    expect(results[0]!.state.rejected?.reason).toMatch(/no data to judge it \(noData policy Fail\)/);
  });

  it('Pass: a canary without traffic passes its analysis and is promoted', () => {
    const { sim } = noDataRun('Pass');
    expect(sim.state.stable).toEqual(v2);
  });
});

describe('pauses', () => {
  it('waits at a pause without duration until promoted, and requeues at the end of a timed one', () => {
    const sim = servingV1(
      canarySpec([{ setWeight: 20 }, { pause: {} }, { setWeight: 60 }, { pause: { duration: '30s' } }]),
    );
    sim.health.r2 = available();
    let r = sim.tick(v2);
    expect(r.phase).toBe('Paused');
    expect(r.progress?.message).toMatch(/paused: kubectl modelship promote to go on/);
    sim.run(v2, 120_000);
    expect(sim.last.phase).toBe('Paused');
    expect(sim.last.traffic.canaryWeight).toBe(20);
    r = sim.tick(v2, { request: { id: 'a', action: 'promote' } });
    expect(r.state.lastRequest).toEqual({
      id: 'a',
      action: 'promote',
      result: 'revision r2 (version 2) goes on to step 3 (resumed)',
    });
    expect(r.traffic.canaryWeight).toBe(60);
    expect(r.requeueAfterMs).toBeLessThanOrEqual(30_000);
    sim.advance(30_000);
    expect(sim.tick(v2).traffic.stable).toEqual(v2);
  });

  it('a user can pause and resume a canary; analysis goes on while paused', () => {
    const sim = servingV1(canarySpec([{ setWeight: 20 }, { analysis: { duration: '10s' } }]));
    sim.health.r2 = available();
    sim.tick(v2);
    expect(sim.tick(v2, { request: { id: 'p', action: 'pause' } }).phase).toBe('Paused');
    sim.run(v2, 60_000);
    expect(sim.state.canary?.step).toBe(1);
    expect(sim.tick(v2, { judgement: [fail] }).phase).toBe('RolledBack');
  });
});

describe('requests', () => {
  const steps = [
    { setWeight: 10 },
    { analysis: { duration: '1m' } },
    { setWeight: 50 },
    { analysis: { duration: '1m' } },
  ];

  it('promote --full makes the canary stable at once', () => {
    const sim = servingV1(canarySpec(steps));
    sim.health.r2 = available();
    sim.tick(v2);
    const r = sim.tick(v2, { request: { id: '1', action: 'promote', full: true } });
    expect(r.traffic.stable).toEqual(v2);
    expect(r.state.lastRequest?.result).toBe('promoting revision r2 (version 2) fully');
  });

  it('abort rolls back; retry starts the same revision over', () => {
    const sim = servingV1(canarySpec(steps));
    sim.health.r2 = available();
    sim.tick(v2);
    let r = sim.tick(v2, { request: { id: '1', action: 'abort' } });
    expect(r.phase).toBe('RolledBack');
    expect(r.state.rejected?.reason).toBe('aborted by a user');
    expect(r.events.map((e) => e.reason)).toEqual(['CanaryAborted']);
    r = sim.tick(v2, { request: { id: '2', action: 'retry' } });
    expect(r.state.rejected).toBeUndefined();
    expect(r.state.canary).toMatchObject({ revision: 'r2', step: 1, weight: 10 });
  });

  it('says why a request could not be done', () => {
    const sim = servingV1(canarySpec(steps));
    expect(sim.tick(v1, { request: { id: '1', action: 'promote' } }).state.lastRequest?.result).toBe(
      'nothing to promote: no canary is in progress',
    );
    expect(
      sim.tick(v1, { request: { id: '2', action: 'undo', toRevision: 'zz' } }).state.lastRequest?.result,
    ).toBe('revision zz is not kept; kept: none');
  });

  it('undo goes back to the previous revision (scaled up first), and the spec revision waits for a retry', () => {
    const sim = servingV1({ rollout: { strategy: 'BlueGreen', revisionHistoryLimit: 2 } });
    sim.health.r2 = available();
    sim.tick(v2);
    expect(sim.roles()).toEqual({ r2: 'stable', r1: 'history' });
    sim.health.r1 = { ...available(0), state: 'Progressing', message: 'scaled down' };
    let r = sim.tick(v2, { request: { id: 'u', action: 'undo' } });
    expect(r.state.lastRequest?.result).toBe('going back to revision r1 (version 1)');
    expect(sim.roles()).toEqual({ r2: 'stable', r1: 'incoming' });
    expect(r.traffic.stable).toEqual(v2);
    sim.health.r1 = available();
    r = sim.tick(v2);
    expect(r.traffic.stable).toEqual(v1);
    expect(r.phase).toBe('RolledBack');
    expect(sim.roles()).toEqual({ r1: 'stable', r2: 'rejected' });
    sim.health.r2 = { ...available(0), state: 'Progressing', message: 'scaled down' };
    r = sim.tick(v2, { request: { id: 'r', action: 'retry' } });
    expect(sim.roles()).toEqual({ r1: 'stable', r2: 'incoming' });
    sim.health.r2 = available();
    expect(sim.tick(v2).traffic.stable).toEqual(v2);
  });
});

describe('BlueGreen', () => {
  it('switches in one step once the new revision is available; a failed one never takes traffic', () => {
    const sim = servingV1({});
    sim.health.r2 = crashing;
    let r = sim.tick(v2);
    expect(r.traffic.stable).toEqual(v1);
    expect(sim.roles()).toEqual({ r1: 'stable', r2: 'incoming' });
    expect(r.state.rejected).toBeUndefined(); // a fix of its pods (a Secret that appears) may still bring it up
    sim.health.r2 = available();
    r = sim.tick(v2);
    expect(r.traffic.stable).toEqual(v2);
    expect(r.events.map((e) => e.reason)).toEqual(['TrafficSwitched']);
    expect(sim.roles()).toEqual({ r2: 'stable', r1: 'history' });
  });

  it('keeps revisionHistoryLimit earlier revisions', () => {
    const sim = servingV1({ rollout: { revisionHistoryLimit: 1 } });
    for (const v of [v2, v3]) {
      sim.health[v.revision] = available();
      sim.tick(v);
    }
    expect(sim.roles()).toEqual({ r3: 'stable', r2: 'history' });
  });
});

describe('judgementDue', () => {
  it('is due at once when the canary takes traffic, then every interval', () => {
    const sim = servingV1(
      canarySpec([{ setWeight: 10 }, { analysis: { duration: '1m' } }], { interval: '5s' }),
    );
    sim.health.r2 = starting;
    sim.tick(v2);
    expect(judgementDue(sim.state, sim.plan, sim.now())).toBe(false); // not available: no traffic yet
    sim.health.r2 = available();
    sim.tick(v2);
    expect(judgementDue(sim.state, sim.plan, sim.now())).toBe(true);
    sim.tick(v2, { judgement: [pass] });
    sim.advance(4999);
    expect(judgementDue(sim.state, sim.plan, sim.now())).toBe(false);
    sim.advance(1);
    expect(judgementDue(sim.state, sim.plan, sim.now())).toBe(true);
  });
});

describe('a shadow step (spec.rollout.shadow)', () => {
  const agree = (value: number, samples = 60): Verdict => ({
    metric: 'agreement',
    verdict: value >= 0.95 ? 'Pass' : 'Fail',
    canary: value,
    limit: 0.95,
    samples,
    reason: `agreement ${value * 100}% ${value >= 0.95 ? 'within' : 'below'} 95% (${samples} compared requests)`,
  });
  const shadowSpec = {
    rollout: {
      strategy: 'Canary' as const,
      steps: [{ setWeight: 50 }, { analysis: { duration: '10s' } }],
      shadow: { duration: '30s', minSamples: 50, agreement: 0.95 },
    },
  };

  it('comes first: mirrored traffic at weight 0, judged on agreement alone, then the live steps', () => {
    const sim = servingV1(shadowSpec);
    expect(sim.plan.steps.map((s) => s.kind)).toEqual(['shadow', 'setWeight', 'analysis']);
    sim.health.r2 = available();
    sim.tick(v2);
    expect(sim.last.traffic).toMatchObject({ canaryWeight: 0, shadow: { ref: v2 } });
    expect(sim.last.traffic.shadow!.tolerance).toEqual({ absolute: 0.000001, relative: 0.0001 });
    expect(checksDue(sim.state, sim.plan)).toEqual([
      { metric: 'agreement', mode: 'absolute', threshold: 0.95, minSamples: 50 },
    ]);
    expect(judgementDue(sim.state, sim.plan, sim.now())).toBe(true);
    // Agreeing for the whole duration: on to the first live step, no more mirroring.
    const results = sim.run(v2, 31_000, [agree(1)]);
    expect(results.every((r) => r.traffic.canaryWeight === 0 || r.traffic.shadow === undefined)).toBe(true);
    sim.tick(v2);
    expect(sim.last.traffic.canaryWeight).toBe(50);
    expect(sim.last.traffic.shadow).toBeUndefined();
    expect(checksDue(sim.state, sim.plan)).toEqual(sim.plan.analysis.checks);
  });

  it('stops a candidate that disagrees before it takes any live traffic', () => {
    const sim = servingV1(shadowSpec);
    sim.health.r2 = available();
    const results = sim.run(v2, 10_000, [agree(0.5)]);
    expect(results.every((r) => r.traffic.canaryWeight === 0)).toBe(true);
    expect(sim.state.rejected).toMatchObject({ revision: 'r2' });
    expect(sim.state.rejected!.reason).toMatch(
      /^shadow traffic: agreement 50% below 95%.*no user saw its answers/,
    );
    expect(sim.reasons()).toContain('ShadowFailed');
    expect(sim.last.traffic).toEqual({ stable: v1, canary: undefined, canaryWeight: 0 });
    expect(sim.last.phase).toBe('RolledBack');
  });

  it('waits for the duration even when agreement passes at once', () => {
    const sim = servingV1(shadowSpec);
    sim.health.r2 = available();
    sim.run(v2, 20_000, [agree(1)]);
    expect(sim.state.canary).toMatchObject({ step: 0, weight: 0 });
    expect(sim.last.progress?.message).toMatch(/shadow 30s: mirrored traffic, agreement at least 95%/);
  });
});
