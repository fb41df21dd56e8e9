import { describe, expect, it } from '@jest/globals';
import type { TickResult } from './machine.js';
import { computeStatus } from '../reconcile/status.js';
import { deployment, md, pod } from '../testing/fixtures.js';
import { assessRevision } from './health.js';
import { knownLoadFailure } from './load-failure.js';

/** The last log lines of a server whose model signature does not verify, as winston writes them. */
const logs = [
  '{"level":"info","message":"fetching the model","uri":"https://models.example.com/m.onnx"}',
  '{"level":"error","message":"load attempt 3 of 3 failed: signature verification failed: the signature does not match the model file and the public key"}',
  '{"level":"error","message":"giving up: the model did not load"}',
].join('\n');

describe('knownLoadFailure', () => {
  it("finds the server's signature failure in JSON log lines, however far from the end", () => {
    expect(knownLoadFailure(logs)).toEqual({
      reason: 'SignatureVerificationFailed',
      detail: 'signature verification failed: the signature does not match the model file and the public key',
    });
  });

  it('reads plain lines too, and nothing else counts', () => {
    expect(knownLoadFailure('boom\nError: signature verification failed: no signature\n')?.detail).toBe(
      'signature verification failed: no signature',
    );
    expect(knownLoadFailure('error: sha256 mismatch')).toBeUndefined();
    expect(knownLoadFailure(undefined)).toBeUndefined();
  });
});

describe('a model whose signature does not verify', () => {
  const crashed = pod('churn-r1-abc', {
    state: { waiting: { reason: 'CrashLoopBackOff' } },
    restartCount: 1,
    lastState: { terminated: { exitCode: 1, reason: 'Error', message: logs } },
  });

  it('fails its revision at the first exit, saying why in the server’s words', () => {
    const h = assessRevision(deployment('r1'), [crashed]);
    expect(h).toMatchObject({
      state: 'Failed',
      reason: 'SignatureVerificationFailed',
      message:
        'pod churn-r1-abc: container server cannot load the model: signature verification failed: the signature does not match the model file and the public key',
    });
  });

  it('says so in the Ready condition when nothing else serves', () => {
    const stable = { revision: 'r1', version: '1.0.0' };
    const result: TickResult = {
      state: { stable, history: [] },
      traffic: { stable, canaryWeight: 0 },
      revisions: [{ ref: stable, role: 'stable' }],
      events: [],
    } as unknown as TickResult;
    const status = computeStatus(md(), result, { r1: assessRevision(deployment('r1'), [crashed]) }, 1, 'T');
    const text = JSON.stringify(status.conditions);
    expect(text).toContain('signature verification failed: the signature does not match');
    expect(status.phase).toBe('Failed');
  });
});
