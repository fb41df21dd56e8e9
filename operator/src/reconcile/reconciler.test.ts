import { describe, expect, it } from '@jest/globals';
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import type { ModelDeploymentSpec } from '../api/v1alpha1/schema.js';
import { kinds, ownedKinds } from '../resources.js';
import { MemoryWorld, namespace } from '../testing/memory-world.js';

const v1: ModelDeploymentSpec = { model: { version: '1', storageUri: 'pvc://models/iris/1/model.onnx' } };
const v2: ModelDeploymentSpec = { model: { version: '2', storageUri: 'pvc://models/iris/2/model.onnx' } };

/** Reconciles `name` at `spec` until its first revision is available and serves. */
async function serve(world: MemoryWorld, name: string, spec: ModelDeploymentSpec): Promise<string> {
  world.applyModelDeployment(name, spec);
  await world.reconcile(name);
  const [deployment] = world.deployments(name);
  world.markAvailable(deployment!.metadata!.name!);
  await world.reconcile(name);
  return deployment!.metadata!.labels!['modelship.dev/revision']!;
}

/** A world where `iris` serves v1 and every reconcile so far has been applied. */
async function settled(): Promise<{ world: MemoryWorld; revision: string }> {
  const world = new MemoryWorld();
  const revision = await serve(world, 'iris', v1);
  world.takeRequests();
  return { world, revision };
}

const mainService = (world: MemoryWorld) => world.api.get<V1Service>(ownedKinds.services, namespace, 'iris')!;

describe('ModelDeploymentReconciler', () => {
  it('creates the first revision, points the Service at it at once and writes the status once', async () => {
    const world = new MemoryWorld();
    world.applyModelDeployment('iris', v1);
    expect(await world.reconcile('iris')).toEqual({});

    const [deployment, ...others] = world.deployments('iris');
    expect(others).toEqual([]);
    const revision = deployment!.metadata!.labels!['modelship.dev/revision']!;
    expect(world.takeRequests()).toEqual([
      // Isolation before the pods exist (spec.networkPolicy is on by default).
      { verb: 'apply', kind: 'NetworkPolicy', namespace, name: 'iris' },
      { verb: 'apply', kind: 'Deployment', namespace, name: `iris-${revision}` },
      { verb: 'apply', kind: 'Service', namespace, name: `iris-${revision}` },
      { verb: 'apply', kind: 'Service', namespace, name: 'iris' },
      { verb: 'create-event', kind: 'Event', namespace, name: expect.stringMatching(/^iris\./) },
      { verb: 'patch-status', kind: 'ModelDeployment', namespace, name: 'iris' },
    ]);
    expect(mainService(world).spec!.selector).toEqual({
      'modelship.dev/deployment': 'iris',
      'modelship.dev/revision': revision,
    });
    expect(world.modelDeployment('iris').status).toMatchObject({
      phase: 'Pending',
      stable: { revision, version: '1', readyReplicas: 0 },
    });
    expect(world.api.events.map((e) => e.reason)).toEqual(['RevisionCreated']);
  });

  it('removes its NetworkPolicy when spec.networkPolicy.enabled turns false, without a rollout', async () => {
    const { world, revision } = await settled();
    world.applyModelDeployment('iris', { ...v1, networkPolicy: { enabled: false } });
    await world.reconcile('iris');
    expect(world.takeRequests().filter((r) => r.verb !== 'patch-status')).toEqual([
      { verb: 'delete', kind: 'NetworkPolicy', namespace, name: 'iris' },
    ]);
    expect(world.deployments('iris').map((d) => d.metadata!.name)).toEqual([`iris-${revision}`]);
  });

  it('makes no request at all when it reconciles a settled world again', async () => {
    const { world } = await settled();
    expect(world.modelDeployment('iris').status?.phase).toBe('Ready');
    for (let i = 0; i < 3; i++) await world.reconcile('iris');
    expect(world.takeRequests()).toEqual([]);
  });

  it('after a restart, checks its objects with dry-runs only, then makes no request', async () => {
    const { world } = await settled();
    const fresh = world.restartOperator(); // same API server, a new operator process that remembers nothing
    await fresh.reconcile('iris');
    expect(new Set(world.takeRequests().map((r) => r.verb))).toEqual(new Set(['apply-dry-run']));
    await fresh.reconcile('iris');
    expect(world.takeRequests()).toEqual([]);
  });

  it('reverts a hand edit of an owned object with one write', async () => {
    const { world, revision } = await settled();
    world.api.update<V1Deployment>(ownedKinds.deployments, namespace, `iris-${revision}`, (d) => {
      d.spec!.template.spec!.containers[0]!.image = 'someone/else:latest';
    });
    await world.reconcile('iris');
    expect(world.takeRequests()).toEqual([
      { verb: 'apply', kind: 'Deployment', namespace, name: `iris-${revision}` },
    ]);
    const deployment = world.api.get<V1Deployment>(ownedKinds.deployments, namespace, `iris-${revision}`)!;
    expect(deployment.spec!.template.spec!.containers[0]!.image).toBe('modelship/server:test');
  });

  it('does not write an object again while its cache has not seen the last write (stale cache)', async () => {
    const { world, revision } = await settled();
    world.applyModelDeployment('iris', { ...v1, runtime: { replicas: 2 } });
    world.freeze(); // the Deployment informer lags behind from here on
    await world.reconcile('iris');
    const first = world.takeRequests().filter((r) => r.kind === 'Deployment');
    expect(first.map((r) => r.verb)).toEqual(['apply-dry-run', 'apply']);
    // The cache still shows replicas: 1, older than the write that set 2: no second write.
    await world.reconcile('iris');
    expect(world.takeRequests().filter((r) => r.verb === 'apply')).toEqual([]);
    world.thaw();
    await world.reconcile('iris');
    expect(world.takeRequests().filter((r) => r.kind === 'Deployment')).toEqual([]);
    const deployment = world.api.get<V1Deployment>(ownedKinds.deployments, namespace, `iris-${revision}`)!;
    expect(deployment.spec!.replicas).toBe(2);
  });

  it('looks again soon when another writer changed the object between its read and its status write', async () => {
    const { world } = await settled();
    world.applyModelDeployment('iris', { ...v1, runtime: { replicas: 2 } });
    world.freeze();
    // Someone else (a second operator, a user) writes the object after the cache was read.
    world.api.update(kinds.modelDeployment, namespace, 'iris', (o) => {
      o.metadata!.annotations = { touched: 'yes' };
    });
    expect(await world.reconcile('iris')).toEqual({ requeueAfterMs: 250 });
    expect(world.takeRequests().at(-1)).toEqual({
      verb: 'patch-status',
      kind: 'ModelDeployment',
      namespace,
      name: 'iris',
    });
    world.thaw();
    expect(await world.reconcile('iris')).toEqual({});
    expect(world.modelDeployment('iris').status?.stable?.readyReplicas).toBe(1);
  });

  it('waits for its cache to show its own status write before acting again: a canary step is announced once', async () => {
    const rollout = { strategy: 'Canary' as const, steps: [{ setWeight: 20 }, { pause: {} }] };
    const world = new MemoryWorld();
    await serve(world, 'iris', { ...v1, rollout });
    const markAllAvailable = () =>
      world.deployments('iris').forEach((d) => world.markAvailable(d.metadata!.name!));
    markAllAvailable(); // the router too
    await world.reconcile('iris');
    world.applyModelDeployment('iris', { ...v2, rollout });
    await world.reconcile('iris'); // creates the canary's Deployment
    markAllAvailable();
    world.takeRequests();

    world.freeze(); // the ModelDeployment informer lags behind from here on
    await world.reconcile('iris'); // the canary takes 20%: one Event, one status write
    expect(world.takeRequests().filter((r) => r.kind === 'ModelDeployment' || r.kind === 'Event')).toEqual([
      { verb: 'create-event', kind: 'Event', namespace, name: expect.any(String) },
      { verb: 'patch-status', kind: 'ModelDeployment', namespace, name: 'iris' },
    ]);
    // The cache still shows the status before that write: acting on it would take the step a second time.
    expect(await world.reconcile('iris')).toEqual({ requeueAfterMs: 1000 });
    expect(world.takeRequests()).toEqual([]);

    world.thaw();
    await world.reconcile('iris'); // the canary's first judgement (no metrics here) is news; the step is not
    expect(world.takeRequests().filter((r) => r.kind !== 'ModelDeployment')).toEqual([]);
    const weightEvents = world.api.events.filter((e) => e.reason === 'CanaryWeightChanged');
    expect(weightEvents.map((e) => [e.message, e.count])).toEqual([
      [expect.stringContaining('now takes 20% of the traffic'), 1],
    ]);
    expect(world.modelDeployment('iris').status!.canary).toMatchObject({ weight: 20 });
  });

  it('reports an API error in the Degraded condition, keeps the rest of the status, and fails the reconcile', async () => {
    const { world } = await settled();
    const before = world.modelDeployment('iris').status!;
    world.applyModelDeployment('iris', v2);
    world.api.failNext({ verb: 'apply', kind: 'Deployment' }, 422);
    await expect(world.reconcile('iris')).rejects.toThrow('injected 422');
    const status = world.modelDeployment('iris').status!;
    expect(status.stable).toEqual(before.stable);
    expect(status.conditions!.find((c) => c.type === 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'ReconcileError',
      message: 'reconcile failed: 422: injected 422',
    });
    // The next attempt succeeds and clears it.
    await world.reconcile('iris');
    expect(
      world.modelDeployment('iris').status!.conditions!.find((c) => c.type === 'Degraded'),
    ).toMatchObject({
      status: 'False',
    });
  });

  it('rolls a new version out: the old revision serves until the new one is available, then is kept at 0 for undo', async () => {
    const { world, revision: old } = await settled();
    world.applyModelDeployment('iris', v2);
    await world.reconcile('iris');
    const created = world
      .deployments('iris')
      .find((d) => d.metadata!.labels!['modelship.dev/revision'] !== old)!;
    const next = created.metadata!.labels!['modelship.dev/revision']!;
    expect(mainService(world).spec!.selector!['modelship.dev/revision']).toBe(old);
    expect(world.modelDeployment('iris').status).toMatchObject({
      phase: 'Progressing',
      stable: { revision: old },
    });

    world.markAvailable(`iris-${next}`);
    world.takeRequests();
    await world.reconcile('iris');
    expect(mainService(world).spec!.selector!['modelship.dev/revision']).toBe(next);
    const replicas = Object.fromEntries(
      world.deployments('iris').map((d) => [d.metadata!.name, d.spec!.replicas]),
    );
    expect(replicas).toEqual({ [`iris-${next}`]: 1, [`iris-${old}`]: 0 });
    expect(world.api.get(ownedKinds.services, namespace, `iris-${old}`)).toBeDefined();
    expect(world.modelDeployment('iris').status).toMatchObject({
      phase: 'Ready',
      stable: { revision: next, version: '2' },
      history: [
        { revision: next, outcome: 'Promoted' },
        { revision: old, outcome: 'Promoted' },
      ],
    });
    expect(world.api.events.map((e) => e.reason)).toEqual([
      'RevisionCreated',
      'RevisionCreated',
      'TrafficSwitched',
    ]);
    // The Service moved before the old revision was scaled down.
    const verbs = world.takeRequests().map((r) => `${r.verb} ${r.kind} ${r.name}`);
    expect(verbs.indexOf('apply Service iris')).toBeLessThan(verbs.indexOf(`scale Deployment iris-${old}`));
  });

  it('rolls an operator upgrade (a new default image) --max-concurrent-rollouts at a time; a user change never waits', async () => {
    const before = new MemoryWorld(undefined, 1);
    const irisV1 = await serve(before, 'iris', v1);
    await serve(before, 'wine', v1);
    await serve(before, 'beer', v1);
    // The upgraded operator's default image gives every ModelDeployment a new revision.
    const world = new MemoryWorld(before.api, 1, 'modelship/server:upgraded');
    world.time = before.time;
    await world.reconcile('iris');
    await world.reconcile('wine');

    // iris took the only slot and created its new revision; wine waits with what it serves untouched.
    expect(world.deployments('iris')).toHaveLength(2);
    expect(world.deployments('wine')).toHaveLength(1);
    const wine = world.modelDeployment('wine').status!;
    expect(wine.phase).toBe('Progressing');
    expect(wine.conditions).toContainEqual(
      expect.objectContaining({
        type: 'Progressing',
        status: 'True',
        reason: 'RolloutQueued',
        message: expect.stringContaining('1 of 1 in use'),
      }),
    );
    await world.reconcile('wine');
    expect(world.deployments('wine')).toHaveLength(1);

    // A user's own change is no fleet-wide roll: it starts at once, slot or not.
    world.applyModelDeployment('beer', v2);
    await world.reconcile('beer');
    expect(world.deployments('beer')).toHaveLength(2);
    expect(world.modelDeployment('beer').status!.conditions).not.toContainEqual(
      expect.objectContaining({ reason: 'RolloutQueued' }),
    );

    // iris's rollout completes and frees the slot: wine's starts on its next reconcile.
    const incoming = world
      .deployments('iris')
      .find((d) => d.metadata!.labels!['modelship.dev/revision'] !== irisV1)!;
    world.markAvailable(incoming.metadata!.name!);
    await world.reconcile('iris');
    expect(world.modelDeployment('iris').status!.stable!.revision).not.toBe(irisV1);
    await world.reconcile('wine');
    expect(world.deployments('wine')).toHaveLength(2);
    expect(world.modelDeployment('wine').status!.conditions).not.toContainEqual(
      expect.objectContaining({ reason: 'RolloutQueued' }),
    );
  });

  it('undo brings the kept revision up before it sends traffic there, never to a revision at 0 replicas', async () => {
    const { world, revision: old } = await settled();
    world.applyModelDeployment('iris', v2);
    await world.reconcile('iris');
    const next = world
      .deployments('iris')
      .find((d) => d.metadata!.labels!['modelship.dev/revision'] !== old)!;
    world.markAvailable(next.metadata!.name!);
    await world.reconcile('iris');
    const newRevision = next.metadata!.labels!['modelship.dev/revision']!;
    expect(mainService(world).spec!.selector!['modelship.dev/revision']).toBe(newRevision);
    // The Deployment controller has caught up with the scale-down: 0 of 0 replicas, up to date.
    world.markAvailable(`iris-${old}`);
    expect(
      world.api.get<V1Deployment>(ownedKinds.deployments, namespace, `iris-${old}`)!.status,
    ).toMatchObject({
      replicas: 0,
      observedGeneration: expect.any(Number),
    });

    world.api.update(kinds.modelDeployment, namespace, 'iris', (md) => {
      md.metadata!.annotations = { 'modelship.dev/request': JSON.stringify({ id: 'u1', action: 'undo' }) };
    });
    await world.reconcile('iris');
    // The kept revision is scaled up; the live one keeps the traffic meanwhile.
    const kept = () => world.api.get<V1Deployment>(ownedKinds.deployments, namespace, `iris-${old}`)!;
    expect(kept().spec!.replicas).toBe(1);
    expect(mainService(world).spec!.selector!['modelship.dev/revision']).toBe(newRevision);
    expect(world.modelDeployment('iris').status).toMatchObject({
      phase: 'Progressing',
      lastRequest: { id: 'u1', action: 'undo' },
    });
    await world.reconcile('iris');
    expect(mainService(world).spec!.selector!['modelship.dev/revision']).toBe(newRevision);

    world.markAvailable(`iris-${old}`);
    await world.reconcile('iris');
    expect(mainService(world).spec!.selector!['modelship.dev/revision']).toBe(old);
    expect(world.modelDeployment('iris').status).toMatchObject({
      phase: 'RolledBack',
      stable: { revision: old, version: '1' },
    });
  });

  it('removes revisions beyond revisionHistoryLimit', async () => {
    const world = new MemoryWorld();
    const spec = (version: string): ModelDeploymentSpec => ({
      model: { version, storageUri: `file:///m${version}.onnx` },
      rollout: { revisionHistoryLimit: 1 },
    });
    for (const version of ['1', '2', '3']) {
      world.applyModelDeployment('iris', spec(version));
      await world.reconcile('iris');
      const fresh = world
        .deployments('iris')
        .find((d) => d.metadata!.labels!['app.kubernetes.io/version'] === version)!;
      world.markAvailable(fresh.metadata!.name!);
      await world.reconcile('iris');
    }
    const versions = world
      .deployments('iris')
      .map((d) => [d.metadata!.labels!['app.kubernetes.io/version'], d.spec!.replicas]);
    expect(versions.sort()).toEqual([
      ['2', 0],
      ['3', 1],
    ]);
    expect(world.api.events.filter((e) => e.reason === 'RevisionRemoved').map((e) => e.message)).toEqual([
      expect.stringMatching(/^Removed revision \w+ \(version 1\)$/),
    ]);
  });

  it('writes nothing for an object being deleted, and forgets a deleted one', async () => {
    const { world, revision } = await settled();
    world.api.update(kinds.modelDeployment, namespace, 'iris', (o) => {
      o.metadata!.deletionTimestamp = '2026-11-01T10:05:00Z' as never;
    });
    await world.reconcile('iris');
    expect(world.takeRequests()).toEqual([]);

    // Gone, and its objects collected: what the operator remembered about them goes too.
    expect(world.applier.size()).toBeGreaterThan(0);
    world.api.remove(kinds.modelDeployment, namespace, 'iris');
    for (const d of world.deployments('iris'))
      world.api.remove(ownedKinds.deployments, namespace, d.metadata!.name!);
    for (const name of ['iris', `iris-${revision}`]) world.api.remove(ownedKinds.services, namespace, name);
    await world.reconcile('iris');
    expect(world.takeRequests()).toEqual([]);
    expect(world.applier.size()).toBe(0);

    // A new ModelDeployment of the same name starts from scratch: its objects are created, not taken as known.
    world.applyModelDeployment('iris', v1);
    await world.reconcile('iris');
    expect(world.deployments('iris')).toHaveLength(1);
    expect(world.api.events.filter((e) => e.reason === 'RevisionCreated')).toHaveLength(2);
  });

  it('neither applies nor announces a second time what it created while the cache has not shown it yet', async () => {
    const world = new MemoryWorld();
    world.applyModelDeployment('iris', v1);
    world.freeze(); // no informer has delivered anything the operator creates
    await world.reconcile('iris');
    world.takeRequests();
    await world.reconcile('iris');
    expect(world.takeRequests().filter((r) => r.verb.startsWith('apply'))).toEqual([]);
    expect(world.api.events.map((e) => e.reason)).toEqual(['RevisionCreated']);
  });

  describe('metrics for alerts and dashboards', () => {
    const md = { modeldeployment_namespace: namespace, modeldeployment: 'iris', model: 'iris' };
    const phase = (world: MemoryWorld, p: string) =>
      world.sample('modelship_operator_modeldeployment_phase', { ...md, phase: p });

    it('counts a revision that failed once, shows the phase Degraded while the old one serves', async () => {
      const { world, revision: old } = await settled();
      expect(await world.sample('modelship_operator_revision_failures_total', md)).toBe(0);
      expect(await phase(world, 'Ready')).toBe(1);
      world.applyModelDeployment('iris', v2);
      await world.reconcile('iris');
      const next = world
        .deployments('iris')
        .find((d) => d.metadata!.labels!['modelship.dev/revision'] !== old)!;
      world.markProgressDeadlineExceeded(next.metadata!.name!);
      await world.reconcile('iris');
      await world.reconcile('iris');
      expect(await world.sample('modelship_operator_revision_failures_total', md)).toBe(1);
      expect(await phase(world, 'Degraded')).toBe(1);
      expect(await phase(world, 'Ready')).toBe(0);
      expect(await world.sample('modelship_operator_rollbacks_total', md)).toBe(0);
    });

    it('counts a canary the operator rolled back by itself, shows its weight while it runs, and forgets a deleted one', async () => {
      const canary: ModelDeploymentSpec = {
        ...v2,
        rollout: { strategy: 'Canary', steps: [{ setWeight: 20 }, { pause: {} }] },
      };
      const { world, revision: old } = await settled();
      world.applyModelDeployment('iris', canary);
      await world.reconcile('iris');
      const next = world
        .deployments('iris')
        .find((d) => d.metadata!.labels!['modelship.dev/revision'] !== old)!;
      world.markAvailable(next.metadata!.name!);
      await world.reconcile('iris');
      expect(await world.sample('modelship_operator_canary_weight_percent', md)).toBe(20);
      expect(await phase(world, 'Paused')).toBe(1);
      world.markProgressDeadlineExceeded(next.metadata!.name!);
      await world.reconcile('iris');
      await world.reconcile('iris');
      expect(world.modelDeployment('iris').status?.phase).toBe('RolledBack');
      expect(await world.sample('modelship_operator_rollbacks_total', md)).toBe(1);
      expect(await phase(world, 'RolledBack')).toBe(1);
      expect(await world.sample('modelship_operator_canary_weight_percent', md)).toBe(0);

      world.api.remove(kinds.modelDeployment, namespace, 'iris');
      await world.reconcile('iris');
      expect(await world.sample('modelship_operator_rollbacks_total', md)).toBeUndefined();
      expect(await phase(world, 'RolledBack')).toBeUndefined();
    });
  });
});
