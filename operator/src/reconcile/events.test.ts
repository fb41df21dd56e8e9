import { describe, expect, it } from '@jest/globals';
import { eventsFor } from './events.js';
import type { Decision } from './plan.js';

const base: Decision = {
  target: 'b',
  targetVersion: '2',
  live: 'b',
  liveVersion: '2',
  previousLive: 'a',
  keep: ['b'],
  targetExists: true,
  health: {},
};
const none = { targetCreated: false, switched: false, removed: [] };

describe('eventsFor', () => {
  it('records what was done: a revision created, traffic switched, a revision removed', () => {
    const events = eventsFor(
      base,
      { targetCreated: true, switched: true, removed: [{ revision: 'a', version: '1' }] },
      undefined,
    );
    expect(events.map((e) => `${e.type} ${e.reason}: ${e.message}`)).toEqual([
      'Normal RevisionCreated: Created revision b (version 2)',
      'Normal TrafficSwitched: Traffic moved from revision a (version 1) to revision b (version 2)',
      'Normal RevisionRemoved: Removed revision a (version 1)',
    ]);
  });

  it('records nothing when nothing was done (a repeated decision on a stale cache)', () => {
    expect(eventsFor(base, none, undefined)).toEqual([]);
  });

  it('warns about a failed revision once, and again only if the failure changes', () => {
    const failing: Decision = {
      ...base,
      live: 'a',
      health: {
        b: {
          state: 'Failed',
          reason: 'CrashLoopBackOff',
          message: 'boom',
          desiredReplicas: 1,
          readyReplicas: 0,
          availableReplicas: 0,
        },
      },
    };
    const first = eventsFor(failing, none, undefined);
    expect(first).toEqual([
      {
        type: 'Warning',
        reason: 'RevisionFailed',
        message: 'revision b (version 2) failed (CrashLoopBackOff): boom',
      },
    ]);
    expect(
      eventsFor(
        failing,
        none,
        `revision b (version 2) failed (CrashLoopBackOff): boom; revision a (version 1) keeps serving`,
      ),
    ).toEqual([]);
    expect(
      eventsFor(failing, none, 'revision b (version 2) failed (ImagePullBackOff): no such image'),
    ).toHaveLength(1);
  });
});
