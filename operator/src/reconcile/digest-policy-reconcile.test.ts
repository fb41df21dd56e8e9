/** The digest policy through the reconciler, on the in-memory API: what is (not) created, the status, the Event. */
import { describe, expect, it } from '@jest/globals';
import type { ModelDeploymentSpec } from '../api/v1alpha1/schema.js';
import { MemoryApi } from '../kube/testing/memory-api.js';
import { allKinds, image, MemoryWorld } from '../testing/memory-world.js';

const remote: ModelDeploymentSpec = {
  model: { version: '2', storageUri: 'https://models.example.com/m.onnx' },
};
const local: ModelDeploymentSpec = { model: { version: '1', storageUri: 'pvc://models/iris/1/model.onnx' } };
const strict = () => new MemoryWorld(new MemoryApi(allKinds), 3, image, true);

describe('--require-model-digest', () => {
  it('creates nothing for a remote model without sha256, says why in Ready and one Warning Event', async () => {
    const world = strict();
    world.applyModelDeployment('iris', remote);
    expect(await world.reconcile('iris')).toEqual({});
    expect(world.deployments('iris')).toEqual([]);
    const status = world.modelDeployment('iris').status!;
    expect(status.phase).toBe('Failed');
    const ready = status.conditions!.find((c) => c.type === 'Ready')!;
    expect(ready).toMatchObject({ status: 'False', reason: 'DigestRequired' });
    expect(ready.message).toMatch(
      /https:\/\/models\.example\.com\/m\.onnx has no sha256.*--require-model-digest/,
    );
    expect(world.api.events.map((e) => [e.type, e.reason])).toEqual([['Warning', 'DigestRequired']]);

    world.takeRequests();
    await world.reconcile('iris');
    expect(world.takeRequests()).toEqual([]);
  });

  it('keeps the serving revision when a new spec lacks the digest (Degraded), and rolls out once it has one', async () => {
    const world = strict();
    world.applyModelDeployment('iris', local);
    await world.reconcile('iris');
    const [first] = world.deployments('iris');
    world.markAvailable(first!.metadata!.name!);
    await world.reconcile('iris');
    expect(world.modelDeployment('iris').status?.phase).toBe('Ready');

    world.applyModelDeployment('iris', remote);
    await world.reconcile('iris');
    expect(world.deployments('iris').map((d) => d.metadata!.name)).toEqual([first!.metadata!.name]);
    const status = world.modelDeployment('iris').status!;
    expect(status.phase).toBe('Degraded');
    expect(status.conditions!.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(status.conditions!.find((c) => c.type === 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'DigestRequired',
    });
    expect(world.api.events.filter((e) => e.reason === 'DigestRequired')).toHaveLength(1);

    world.applyModelDeployment('iris', { model: { ...remote.model, sha256: 'a'.repeat(64) } });
    await world.reconcile('iris');
    expect(world.deployments('iris')).toHaveLength(2);
  });

  it('without the flag, the same spec rolls out', async () => {
    const world = new MemoryWorld();
    world.applyModelDeployment('iris', remote);
    await world.reconcile('iris');
    expect(world.deployments('iris')).toHaveLength(1);
  });
});
