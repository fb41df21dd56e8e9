import { describe, expect, it } from '@jest/globals';
import { deployment, pod } from '../testing/fixtures.js';
import { assessRevision } from './health.js';

describe('assessRevision', () => {
  it.each([
    [
      'all desired replicas available',
      deployment('r', { replicas: 2, ready: 2 }),
      [],
      'Available',
      'Available',
    ],
    // Kept for undo or rolled back: no pods to send traffic to.
    ['scaled to zero by the operator', deployment('r', { replicas: 0 }), [], 'Progressing', 'ScaledToZero'],
    [
      'fewer ready than desired',
      deployment('r', { replicas: 3, ready: 1 }),
      [],
      'Progressing',
      'ReplicasNotReady',
    ],
    [
      'a status older than the spec',
      deployment('r', { replicas: 1, ready: 1, generation: 2, observed: 1 }),
      [],
      'Progressing',
      'ReplicasNotReady',
    ],
    [
      'old pods not yet replaced',
      deployment('r', { replicas: 2, ready: 2, updated: 1 }),
      [],
      'Progressing',
      'ReplicasNotReady',
    ],
    [
      'the progress deadline passed',
      deployment('r', {
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'ReplicaSet "x" has timed out progressing.',
          },
        ],
      }),
      [],
      'Failed',
      'ProgressDeadlineExceeded',
    ],
    [
      'pods cannot be created',
      deployment('r', {
        conditions: [
          {
            type: 'ReplicaFailure',
            status: 'True',
            reason: 'FailedCreate',
            message: 'pods "x" is forbidden: exceeded quota',
          },
        ],
      }),
      [],
      'Failed',
      'FailedCreate',
    ],
    [
      'a crash loop',
      deployment('r'),
      [pod('p', { state: { waiting: { reason: 'CrashLoopBackOff' } } })],
      'Failed',
      'CrashLoopBackOff',
    ],
    [
      'an image that cannot be pulled',
      deployment('r'),
      [pod('p', { state: { waiting: { reason: 'ImagePullBackOff', message: 'not found' } } })],
      'Failed',
      'ImagePullBackOff',
    ],
    [
      'a container still being created',
      deployment('r'),
      [pod('p', { state: { waiting: { reason: 'ContainerCreating' } } })],
      'Progressing',
      'ReplicasNotReady',
    ],
    [
      'repeated restarts between back-offs',
      deployment('r'),
      [pod('p', { restartCount: 3, state: { running: {} } })],
      'Failed',
      'RepeatedRestarts',
    ],
    [
      'a failed pod',
      deployment('r'),
      [pod('p', {}, { phase: 'Failed', reason: 'Evicted', message: 'low on memory' })],
      'Failed',
      'Evicted',
    ],
  ])('%s', (_what, d, pods, state, reason) => {
    const h = assessRevision(d, pods);
    expect([h.state, h.reason]).toEqual([state, reason]);
  });

  it('takes 0 of 0 replicas as available when the spec asks for 0 (a parked model)', () => {
    const h = assessRevision(deployment('r', { replicas: 0 }), [], true);
    expect([h.state, h.reason]).toEqual(['Available', 'Available']);
  });

  it("quotes the container's last termination message, its last lines only", () => {
    const message = 'loading model\nfetching file:///m.onnx\nerror: sha256 mismatch (expected aa, got bb)\n';
    const h = assessRevision(deployment('r'), [
      pod('p-2', {
        state: { waiting: { reason: 'CrashLoopBackOff' } },
        lastState: { terminated: { exitCode: 1, reason: 'Error', message } },
      }),
    ]);
    expect(h.message).toBe(
      'pod p-2: container server keeps crashing (CrashLoopBackOff); last exit code 1 (Error): loading model | fetching file:///m.onnx | error: sha256 mismatch (expected aa, got bb)',
    );
  });

  it('reports the first failing pod by name, so the message is stable', () => {
    const crash = { state: { waiting: { reason: 'CrashLoopBackOff' } } };
    const a = assessRevision(deployment('r', { replicas: 2 }), [pod('b', crash), pod('a', crash)]);
    const b = assessRevision(deployment('r', { replicas: 2 }), [pod('a', crash), pod('b', crash)]);
    expect(a.message).toBe(b.message);
    expect(a.message).toMatch(/^pod a:/);
  });

  it('ignores pods that are terminating', () => {
    const p = pod('old', { state: { waiting: { reason: 'CrashLoopBackOff' } } });
    p.metadata!.deletionTimestamp = new Date();
    expect(assessRevision(deployment('r', { ready: 1 }), [p]).state).toBe('Available');
  });

  it('says why pods are pending', () => {
    const h = assessRevision(deployment('r'), [
      {
        metadata: { name: 'p' },
        status: {
          phase: 'Pending',
          conditions: [
            { type: 'PodScheduled', status: 'False', message: '0/3 nodes are available: insufficient cpu' },
          ],
        },
      } as never,
    ]);
    expect(h.message).toBe(
      '0/1 replicas ready; pod p is not scheduled: 0/3 nodes are available: insufficient cpu',
    );
  });
});
