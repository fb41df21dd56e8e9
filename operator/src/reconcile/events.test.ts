import { describe, expect, it } from '@jest/globals';
import type { RevisionHealth } from '../rollout/health.js';
import { eventsFor } from './events.js';

const target = { revision: 'b', version: '2' };
const none = { targetCreated: false, removed: [] };
const failing: RevisionHealth = {
  state: 'Failed',
  reason: 'CrashLoopBackOff',
  message: 'boom',
  desiredReplicas: 1,
  readyReplicas: 0,
  availableReplicas: 0,
};

describe('eventsFor', () => {
  it('records what was done: a revision created, a revision removed', () => {
    const events = eventsFor(
      target,
      undefined,
      { targetCreated: true, removed: [{ revision: 'a', version: '1' }] },
      undefined,
    );
    expect(events.map((e) => `${e.type} ${e.reason}: ${e.message}`)).toEqual([
      'Normal RevisionCreated: Created revision b (version 2)',
      'Normal RevisionRemoved: Removed revision a (version 1)',
    ]);
  });

  it('records nothing when nothing was done (a repeated decision on a stale cache)', () => {
    expect(eventsFor(target, undefined, none, undefined)).toEqual([]);
  });

  it('warns about a failed revision once, and again only if the failure changes', () => {
    expect(eventsFor(target, failing, none, undefined)).toEqual([
      {
        type: 'Warning',
        reason: 'RevisionFailed',
        message: 'revision b (version 2) failed (CrashLoopBackOff): boom',
      },
    ]);
    expect(
      eventsFor(
        target,
        failing,
        none,
        'revision b (version 2) failed (CrashLoopBackOff): boom; revision a (version 1) keeps serving',
      ),
    ).toEqual([]);
    expect(
      eventsFor(target, failing, none, 'revision b (version 2) failed (ImagePullBackOff): no such image'),
    ).toHaveLength(1);
  });
});
