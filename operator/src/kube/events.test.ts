import { describe, expect, it } from '@jest/globals';
import { silentLogger } from '../telemetry/logger.js';
import { EventRecorder, type InvolvedObject } from './events.js';
import { MemoryApi } from './testing/memory-api.js';

const model = (namespace: string, uid: string): InvolvedObject => ({
  apiVersion: 'modelship.dev/v1alpha1',
  kind: 'ModelDeployment',
  metadata: { name: 'iris', namespace, uid },
});
const created = { type: 'Normal', reason: 'RevisionCreated', message: 'Created revision r1' } as const;

function setup() {
  const api = new MemoryApi([]);
  const recorder = new EventRecorder(api, silentLogger(), () => new Date('2026-11-01T10:00:00Z'));
  return { api, recorder };
}

describe('EventRecorder', () => {
  it('creates an Event about the object, then bumps its count when it happens again', async () => {
    const { api, recorder } = setup();
    await recorder.record(model('a', 'u1'), created);
    await recorder.record(model('a', 'u1'), created);
    expect(api.events).toHaveLength(1);
    expect(api.events[0]).toMatchObject({
      involvedObject: { kind: 'ModelDeployment', name: 'iris', namespace: 'a', uid: 'u1' },
      reason: 'RevisionCreated',
      message: 'Created revision r1',
      type: 'Normal',
      count: 2,
    });
  });

  it('forgets an object by namespace and name: a namesake in another namespace keeps its counts', async () => {
    const { api, recorder } = setup();
    await recorder.record(model('a', 'u1'), created);
    await recorder.record(model('b', 'u2'), created);
    recorder.forget('a', 'iris');
    await recorder.record(model('b', 'u2'), created);
    expect(api.requests.map((r) => `${r.verb} ${r.namespace}`)).toEqual([
      'create-event a',
      'create-event b',
      'patch-event b',
    ]);
  });

  it('never fails the caller: an Event an earlier run created is bumped next time', async () => {
    const { api, recorder } = setup();
    await recorder.record(model('a', 'u1'), created);
    const restarted = new EventRecorder(api, silentLogger(), () => new Date('2026-11-01T10:00:00Z'));
    await restarted.record(model('a', 'u1'), created); // 409: it exists
    await restarted.record(model('a', 'u1'), created);
    expect(api.requests.map((r) => r.verb)).toEqual(['create-event', 'create-event', 'patch-event']);
    api.failNext({ verb: 'patch-event' }, 500);
    await expect(restarted.record(model('a', 'u1'), created)).resolves.toBeUndefined();
  });

  it('records an Event afresh once the API server has let the old one expire', async () => {
    const { api, recorder } = setup();
    await recorder.record(model('a', 'u1'), created);
    api.events.splice(0); // deleted by the API server after its TTL
    await recorder.record(model('a', 'u1'), created);
    expect(api.requests.map((r) => r.verb)).toEqual(['create-event', 'patch-event', 'create-event']);
    expect(api.events).toHaveLength(1);
  });
});
