import { describe, expect, it } from '@jest/globals';
import type { V1Service } from '@kubernetes/client-node';
import { deployment, pod } from '../testing/fixtures.js';
import { decide, type Observed, type ObservedRevision } from './plan.js';

const rev = (
  revision: string,
  version: string,
  health: 'available' | 'progressing' | 'failed',
): ObservedRevision => ({
  revision,
  version,
  deployment: deployment(revision, { ready: health === 'available' ? 1 : 0 }),
  pods:
    health === 'failed' ? [pod(`${revision}-p`, { state: { waiting: { reason: 'CrashLoopBackOff' } } })] : [],
});
const service = (revision: string): V1Service => ({
  metadata: { name: 'churn' },
  spec: { selector: { 'modelship.dev/revision': revision } },
});

describe('decide', () => {
  const cases: [string, Observed, string, { live: string; keep: string[]; previousLive?: string }][] = [
    ['nothing exists: the target serves at once', { revisions: [] }, 'b', { live: 'b', keep: ['b'] }],
    [
      'the target is live',
      { revisions: [rev('b', '2', 'available')], mainService: service('b') },
      'b',
      { live: 'b', keep: ['b'], previousLive: 'b' },
    ],
    [
      'a new target still starting: the old one keeps serving',
      { revisions: [rev('a', '1', 'available'), rev('b', '2', 'progressing')], mainService: service('a') },
      'b',
      { live: 'a', keep: ['a', 'b'], previousLive: 'a' },
    ],
    [
      'a new target not created yet',
      { revisions: [rev('a', '1', 'available')], mainService: service('a') },
      'b',
      { live: 'a', keep: ['a', 'b'], previousLive: 'a' },
    ],
    [
      'a new target available: traffic moves, the old one goes',
      { revisions: [rev('a', '1', 'available'), rev('b', '2', 'available')], mainService: service('a') },
      'b',
      { live: 'b', keep: ['b'], previousLive: 'a' },
    ],
    [
      'a failed target never takes traffic',
      { revisions: [rev('a', '1', 'available'), rev('b', '2', 'failed')], mainService: service('a') },
      'b',
      { live: 'a', keep: ['a', 'b'], previousLive: 'a' },
    ],
    [
      'an abandoned intermediate revision goes, the serving one stays',
      {
        revisions: [rev('a', '1', 'available'), rev('b', '2', 'failed'), rev('c', '3', 'progressing')],
        mainService: service('a'),
      },
      'c',
      { live: 'a', keep: ['a', 'c'], previousLive: 'a' },
    ],
    [
      'the main Service was deleted: the last stable revision still counts as live',
      { revisions: [rev('a', '1', 'available'), rev('b', '2', 'progressing')], lastStableRevision: 'a' },
      'b',
      { live: 'a', keep: ['a', 'b'], previousLive: 'a' },
    ],
    [
      'the live Deployment was deleted: nothing serves, so the target does',
      { revisions: [rev('b', '2', 'progressing')], mainService: service('a'), lastStableRevision: 'a' },
      'b',
      { live: 'b', keep: ['b'] },
    ],
    [
      'a Service pointing at an unknown revision is ignored',
      { revisions: [rev('a', '1', 'available')], mainService: service('zzz') },
      'a',
      { live: 'a', keep: ['a'] },
    ],
  ];
  it.each(cases)('%s', (_what, observed, target, expected) => {
    const d = decide(observed, target, 'v');
    expect({ live: d.live, keep: d.keep, previousLive: d.previousLive }).toEqual({
      previousLive: undefined,
      ...expected,
    });
  });

  it('reports the versions and whether the target exists', () => {
    const d = decide({ revisions: [rev('a', '1', 'available')], mainService: service('a') }, 'b', '2');
    expect(d).toMatchObject({
      target: 'b',
      targetVersion: '2',
      live: 'a',
      liveVersion: '1',
      targetExists: false,
    });
    expect(d.health.a?.state).toBe('Available');
  });
});
