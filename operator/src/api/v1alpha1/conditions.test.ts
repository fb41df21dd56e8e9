import { describe, expect, it } from '@jest/globals';
import { setCondition } from './conditions.js';

describe('setCondition', () => {
  const ready = { type: 'Ready' as const, status: 'True' as const, reason: 'Serving', message: 'ok' };

  it('adds a condition with the transition time and generation', () => {
    expect(setCondition([], ready, 'T1', 4)).toEqual([
      { ...ready, lastTransitionTime: 'T1', observedGeneration: 4 },
    ]);
  });

  it('keeps lastTransitionTime while the status stays, and moves it when the status changes', () => {
    const once = setCondition([], ready, 'T1', 1);
    expect(setCondition(once, { ...ready, message: 'still ok' }, 'T2', 2)[0]).toMatchObject({
      lastTransitionTime: 'T1',
      message: 'still ok',
      observedGeneration: 2,
    });
    expect(
      setCondition(once, { ...ready, status: 'False', reason: 'NoReadyReplicas' }, 'T3', 2)[0],
    ).toMatchObject({ lastTransitionTime: 'T3', status: 'False' });
  });

  it('keeps the conditions in a fixed order', () => {
    let cs = setCondition(
      [],
      { type: 'Degraded', status: 'False', reason: 'AsExpected', message: '' },
      'T',
      1,
    );
    cs = setCondition(cs, { type: 'Stalled', status: 'False', reason: 'AsExpected', message: '' }, 'T', 1);
    cs = setCondition(cs, ready, 'T', 1);
    cs = setCondition(
      cs,
      { type: 'Reconciling', status: 'False', reason: 'RolloutComplete', message: '' },
      'T',
      1,
    );
    cs = setCondition(
      cs,
      { type: 'Progressing', status: 'False', reason: 'RolloutComplete', message: '' },
      'T',
      1,
    );
    expect(cs.map((c) => c.type)).toEqual(['Ready', 'Progressing', 'Degraded', 'Reconciling', 'Stalled']);
  });
});
