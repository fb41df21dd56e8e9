import { describe, expect, it } from '@jest/globals';
import {
  initialPhase,
  nextPhase,
  PHASES,
  TERMINAL_PHASES,
  versionsToPrune,
  type PrunableVersion,
  type VersionEvent,
  type VersionEventType,
  type VersionPhase,
} from './version-phase.js';

const events: Record<VersionEventType, VersionEvent> = {
  validationStarted: { type: 'validationStarted', job: 'iris-validate-7' },
  validationFailed: { type: 'validationFailed', reason: 'the model does not load: invalid protobuf' },
  validationPassed: { type: 'validationPassed' },
  gatePassed: { type: 'gatePassed' },
  gateFailed: { type: 'gateFailed', reasons: ['accuracy 0.87 is below the minimum 0.9'] },
  rolloutStarted: { type: 'rolloutStarted' },
  promoted: { type: 'promoted' },
  rolledBack: { type: 'rolledBack', reason: 'errorRate 20% above 2%' },
  superseded: { type: 'superseded', by: '8' },
  jobFailed: { type: 'jobFailed', reason: 'BackoffLimitExceeded' },
};

/** Every phase × every event: the phase it leads to, 'same' (a repeat: no change) or 'illegal'. */
const table: Record<VersionPhase, Record<VersionEventType, VersionPhase | 'same' | 'illegal'>> = {
  Candidate: {
    validationStarted: 'Validating',
    validationFailed: 'illegal',
    validationPassed: 'illegal',
    gatePassed: 'illegal',
    gateFailed: 'illegal',
    rolloutStarted: 'illegal',
    promoted: 'illegal',
    rolledBack: 'illegal',
    superseded: 'illegal',
    jobFailed: 'Rejected',
  },
  Validating: {
    validationStarted: 'same',
    validationFailed: 'Rejected',
    validationPassed: 'Validating',
    gatePassed: 'Approved',
    gateFailed: 'Rejected',
    rolloutStarted: 'illegal',
    promoted: 'illegal',
    rolledBack: 'illegal',
    superseded: 'illegal',
    jobFailed: 'illegal',
  },
  Rejected: {
    validationStarted: 'illegal',
    validationFailed: 'same',
    validationPassed: 'illegal',
    gatePassed: 'illegal',
    gateFailed: 'same',
    rolloutStarted: 'illegal',
    promoted: 'illegal',
    rolledBack: 'same',
    superseded: 'illegal',
    jobFailed: 'same',
  },
  Approved: {
    validationStarted: 'illegal',
    validationFailed: 'illegal',
    validationPassed: 'illegal',
    gatePassed: 'same',
    gateFailed: 'illegal',
    rolloutStarted: 'Canary',
    promoted: 'Stable',
    rolledBack: 'illegal',
    superseded: 'Retired',
    jobFailed: 'illegal',
  },
  Canary: {
    validationStarted: 'illegal',
    validationFailed: 'illegal',
    validationPassed: 'illegal',
    gatePassed: 'illegal',
    gateFailed: 'illegal',
    rolloutStarted: 'same',
    promoted: 'Stable',
    rolledBack: 'Rejected',
    superseded: 'Retired',
    jobFailed: 'illegal',
  },
  Stable: {
    validationStarted: 'illegal',
    validationFailed: 'illegal',
    validationPassed: 'illegal',
    gatePassed: 'illegal',
    gateFailed: 'illegal',
    rolloutStarted: 'illegal',
    promoted: 'same',
    rolledBack: 'illegal',
    superseded: 'Retired',
    jobFailed: 'illegal',
  },
  Retired: {
    validationStarted: 'illegal',
    validationFailed: 'illegal',
    validationPassed: 'illegal',
    gatePassed: 'illegal',
    gateFailed: 'illegal',
    rolloutStarted: 'illegal',
    promoted: 'Stable',
    rolledBack: 'illegal',
    superseded: 'same',
    jobFailed: 'illegal',
  },
};

describe('nextPhase: every phase with every event', () => {
  it('the table covers every phase and every event', () => {
    expect(Object.keys(table).sort()).toEqual([...PHASES].sort());
    for (const row of Object.values(table))
      expect(Object.keys(row).sort()).toEqual(Object.keys(events).sort());
  });

  const rows = PHASES.flatMap((phase) =>
    (Object.keys(events) as VersionEventType[]).map((type) => [phase, type, table[phase][type]] as const),
  );

  it.each(rows)('%s + %s → %s', (phase, type, expected) => {
    const r = nextPhase(phase, events[type]);
    if (expected === 'illegal') {
      expect(r.ok).toBe(false);
      expect(!r.ok && r.error).toMatch(
        new RegExp(`^a ${phase} version cannot take the event ${type}: only a version`),
      );
    } else if (expected === 'same') {
      expect(r).toEqual({ ok: true, changed: false, phase });
    } else {
      expect(r).toMatchObject({ ok: true, changed: true, phase: expected });
    }
  });
});

describe('nextPhase: reasons and messages', () => {
  const cases: [VersionPhase, VersionEvent, string, string][] = [
    ['Candidate', events.validationStarted, 'ValidationStarted', 'validation job iris-validate-7 started'],
    ['Candidate', { type: 'validationStarted' }, 'ValidationStarted', 'validation started'],
    ['Candidate', events.jobFailed, 'JobFailed', 'training job failed: BackoffLimitExceeded'],
    [
      'Candidate',
      { type: 'jobFailed', reason: "sha256 must be 64 hex characters, got 'abc' (3 characters)" },
      'JobFailed',
      "training job failed: sha256 must be 64 hex characters, got 'abc' (3 characters)",
    ],
    [
      'Validating',
      events.validationFailed,
      'ValidationFailed',
      'validation failed: the model does not load: invalid protobuf',
    ],
    [
      'Validating',
      events.validationPassed,
      'ValidationPassed',
      'validation passed: the model loads and serves; the quality gate decides next',
    ],
    ['Validating', events.gatePassed, 'GatePassed', 'passed the quality gate'],
    [
      'Validating',
      { type: 'gatePassed', mode: 'Manual' },
      'GatePassed',
      'passed the quality gate; waiting for kubectl modelship promote (mode Manual)',
    ],
    [
      'Validating',
      { type: 'gatePassed', mode: 'Auto' },
      'GatePassed',
      'passed the quality gate; it is rolled out next (mode Auto)',
    ],
    [
      'Validating',
      {
        type: 'gateFailed',
        reasons: [
          'accuracy 0.87 is below the minimum 0.9',
          "rmse 4.2 is worse than the stable version's 3.9 by more than the tolerance 0.1",
        ],
      },
      'GateFailed',
      "failed the quality gate: accuracy 0.87 is below the minimum 0.9; rmse 4.2 is worse than the stable version's 3.9 by more than the tolerance 0.1",
    ],
    ['Validating', { type: 'gateFailed', reasons: [] }, 'GateFailed', 'failed the quality gate'],
    ['Approved', events.rolloutStarted, 'RolloutStarted', 'rollout started'],
    ['Approved', events.promoted, 'Promoted', 'became the stable version'],
    ['Canary', events.promoted, 'Promoted', 'became the stable version'],
    ['Retired', events.promoted, 'Promoted', 'became the stable version again'],
    ['Canary', events.rolledBack, 'RolledBack', 'rolled back: errorRate 20% above 2%'],
    ['Stable', events.superseded, 'Superseded', 'superseded: version 8 became the stable version'],
    ['Approved', { type: 'superseded' }, 'Superseded', 'superseded by another version'],
    [
      'Canary',
      { type: 'superseded', by: '9' },
      'Superseded',
      'superseded: version 9 became the stable version',
    ],
  ];

  it.each(cases)('%s + %j', (phase, event, reason, message) => {
    const r = nextPhase(phase, event);
    expect(r).toEqual({ ok: true, changed: true, phase: expect.any(String), reason, message });
  });

  it('names the phases an event is allowed from', () => {
    expect(nextPhase('Stable', events.rolloutStarted)).toEqual({
      ok: false,
      error: 'a Stable version cannot take the event rolloutStarted: only a version that is Approved can',
    });
    expect(nextPhase('Candidate', events.promoted)).toEqual({
      ok: false,
      error:
        'a Candidate version cannot take the event promoted: only a version that is Approved, Canary or Retired can',
    });
  });

  it('a repeated event keeps the first reason: the caller writes nothing', () => {
    const first = nextPhase('Validating', events.gateFailed);
    expect(first).toMatchObject({ changed: true, phase: 'Rejected', reason: 'GateFailed' });
    expect(nextPhase('Rejected', events.gateFailed)).toEqual({ ok: true, changed: false, phase: 'Rejected' });
    expect(nextPhase('Rejected', events.rolledBack)).toEqual({ ok: true, changed: false, phase: 'Rejected' });
  });

  it('refuses an event type it does not know, and a phase it does not know, without throwing', () => {
    expect(nextPhase('Candidate', { type: 'retry' } as unknown as VersionEvent)).toEqual({
      ok: false,
      error: 'unknown event retry',
    });
    expect(nextPhase('toString' as VersionPhase, { type: 'toString' } as unknown as VersionEvent)).toEqual({
      ok: false,
      error: 'unknown event toString',
    });
    expect(nextPhase('Paused' as VersionPhase, events.promoted)).toMatchObject({ ok: false });
  });

  it('walks the happy paths end to end', () => {
    const walk = (path: VersionEventType[]) =>
      path.reduce<VersionPhase>((phase, type) => {
        const r = nextPhase(phase, events[type]);
        if (!r.ok) throw new Error(r.error);
        return r.phase;
      }, initialPhase('iris-retrain-29000000').phase);
    expect(walk(['validationStarted', 'validationPassed', 'gatePassed', 'rolloutStarted', 'promoted'])).toBe(
      'Stable',
    );
    expect(walk(['validationStarted', 'validationPassed', 'gatePassed', 'promoted', 'superseded'])).toBe(
      'Retired',
    );
    expect(walk(['validationStarted', 'validationPassed', 'gateFailed'])).toBe('Rejected');
    expect(walk(['validationStarted', 'validationFailed'])).toBe('Rejected');
    expect(walk(['jobFailed'])).toBe('Rejected');
    expect(
      walk(['validationStarted', 'validationPassed', 'gatePassed', 'rolloutStarted', 'rolledBack']),
    ).toBe('Rejected');
  });
});

describe('initialPhase', () => {
  it('starts a registered version as a Candidate, naming the job', () => {
    expect(initialPhase('iris-retrain-29000000')).toEqual({
      phase: 'Candidate',
      reason: 'Registered',
      message: 'registered from training job iris-retrain-29000000',
    });
  });
});

describe('versionsToPrune', () => {
  const at = (minute: number) => new Date(Date.UTC(2026, 11, 2, 10, minute));
  const v = (name: string, phase: VersionPhase, minute: number): PrunableVersion => ({
    name,
    phase,
    created: at(minute),
  });
  const names = (vs: PrunableVersion[]) => vs.map((x) => x.name);

  const history = [
    v('v5-retired', 'Retired', 5),
    v('v1-rejected', 'Rejected', 1),
    v('v9-stable', 'Stable', 9),
    v('v3-retired', 'Retired', 3),
    v('v2-candidate', 'Candidate', 2),
    v('v4-rejected', 'Rejected', 4),
    v('v0-approved', 'Approved', 0),
    v('v6-canary', 'Canary', 6),
    v('v7-validating', 'Validating', 7),
  ];

  it.each([
    [0, ['v1-rejected', 'v3-retired', 'v4-rejected', 'v5-retired']],
    [1, ['v1-rejected', 'v3-retired', 'v4-rejected']],
    [2, ['v1-rejected', 'v3-retired']],
    [3, ['v1-rejected']],
    [4, []],
    [100, []],
  ])('historyLimit %i prunes %j, oldest first', (limit, expected) => {
    expect(names(versionsToPrune(history, limit))).toEqual(expected);
  });

  it('never prunes a version that is not Rejected or Retired, however old', () => {
    const live = PHASES.filter((p) => !TERMINAL_PHASES.includes(p)).map((p, i) => v(p, p, i));
    expect(versionsToPrune(live, 0)).toEqual([]);
    expect(names(versionsToPrune([...live, v('old', 'Retired', 59)], 0))).toEqual(['old']);
  });

  it('breaks ties of creation time (one-second resolution) by name', () => {
    const same = [v('b', 'Retired', 1), v('c', 'Rejected', 1), v('a', 'Retired', 1)];
    expect(names(versionsToPrune(same, 1))).toEqual(['a', 'b']);
  });

  it('counts an unreadable creation time as oldest', () => {
    const vs = [
      v('new', 'Retired', 9),
      { name: 'broken', phase: 'Retired' as const, created: new Date('nonsense') },
    ];
    expect(names(versionsToPrune(vs, 1))).toEqual(['broken']);
  });

  it.each([NaN, -1, -Infinity])('prunes nothing for the invalid historyLimit %p', (limit) => {
    expect(versionsToPrune(history, limit)).toEqual([]);
  });

  it('rounds a fractional historyLimit down', () => {
    expect(names(versionsToPrune(history, 3.7))).toEqual(['v1-rejected']);
  });

  it('returns the caller’s objects and does not reorder the input', () => {
    type Mine = PrunableVersion & { uid: string };
    const mine: Mine[] = [
      { ...v('b', 'Retired', 2), uid: 'u2' },
      { ...v('a', 'Retired', 1), uid: 'u1' },
    ];
    const before = [...mine];
    const pruned = versionsToPrune(mine, 0);
    expect(pruned.map((x) => x.uid)).toEqual(['u1', 'u2']);
    expect(pruned[0]).toBe(mine[1]);
    expect(mine).toEqual(before);
  });

  it('handles an empty list', () => {
    expect(versionsToPrune([], 0)).toEqual([]);
  });
});
