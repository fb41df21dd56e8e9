import { describe, expect, it } from '@jest/globals';
import type { KubernetesObject } from '@kubernetes/client-node';
import { Applier, createExpectationMs } from './applier.js';
import type { ResourceKind } from './resource.js';
import { FakeClock } from './testing/fake-clock.js';
import { MemoryApi } from './testing/memory-api.js';

const configMaps: ResourceKind = { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps' };

const desired = (data: Record<string, string>): KubernetesObject =>
  ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cm', namespace: 'ns' },
    data,
  }) as KubernetesObject;

function setup() {
  const api = new MemoryApi([configMaps]);
  const clock = new FakeClock();
  const applier = new Applier(api, clock);
  const stored = () => api.get(configMaps, 'ns', 'cm');
  return { api, clock, applier, stored };
}

describe('Applier', () => {
  it('creates, then makes no request while the cache shows what it applied', async () => {
    const { api, applier, stored } = setup();
    expect(await applier.ensure(desired({ a: '1' }), undefined, 'ns/cm')).toBe('created');
    expect(await applier.ensure(desired({ a: '1' }), stored(), 'ns/cm')).toBe('unchanged');
    expect(api.requests.map((r) => r.verb)).toEqual(['apply']);
  });

  it("does not take the server's defaulting and normalisation for drift", async () => {
    const { api, applier, stored } = setup();
    // The server rewrites a value we set (as it does with quantities: 1000m becomes 1) and adds one of its own.
    api.defaulters.set('v1/ConfigMap', (o) => {
      const data = o.data as Record<string, string>;
      if (data.cpu === '1000m') data.cpu = '1';
      data.added = 'by-the-server';
    });
    await applier.ensure(desired({ cpu: '1000m' }), undefined, 'ns/cm');
    expect(stored()).toMatchObject({ data: { cpu: '1', added: 'by-the-server' } });
    expect(await applier.ensure(desired({ cpu: '1000m' }), stored(), 'ns/cm')).toBe('unchanged');
    // A restarted operator asks the server once (a dry-run, nothing persisted) and then knows.
    const restarted = new Applier(api);
    expect(await restarted.ensure(desired({ cpu: '1000m' }), stored(), 'ns/cm')).toBe('unchanged');
    expect(await restarted.ensure(desired({ cpu: '1000m' }), stored(), 'ns/cm')).toBe('unchanged');
    expect(api.requests.map((r) => r.verb)).toEqual(['apply', 'apply-dry-run']);
  });

  it('reverts a change made by someone else, and applies a change of its own', async () => {
    const { api, applier, stored } = setup();
    await applier.ensure(desired({ a: '1' }), undefined, 'ns/cm');
    api.update(configMaps, 'ns', 'cm', (o) => Object.assign(o, { data: { a: 'edited' } }));
    expect(await applier.ensure(desired({ a: '1' }), stored(), 'ns/cm')).toBe('updated');
    expect(stored()).toMatchObject({ data: { a: '1' } });
    expect(await applier.ensure(desired({ a: '2' }), stored(), 'ns/cm')).toBe('updated');
    expect(stored()).toMatchObject({ data: { a: '2' } });
    expect(api.requests.map((r) => r.verb)).toEqual(['apply', 'apply', 'apply-dry-run', 'apply']);
  });

  it('waits for the cache to see its last write instead of writing again', async () => {
    const { api, applier, stored } = setup();
    await applier.ensure(desired({ a: '1' }), undefined, 'ns/cm');
    const old = stored();
    await applier.ensure(desired({ a: '2' }), old, 'ns/cm');
    // The cache still holds the version from before that write: older, so not drift.
    expect(await applier.ensure(desired({ a: '2' }), old, 'ns/cm')).toBe('unchanged');
    expect(api.requests.map((r) => r.verb)).toEqual(['apply', 'apply-dry-run', 'apply']);
  });

  it('does not create again an object the cache has not shown yet, unless that takes implausibly long', async () => {
    const { api, clock, applier, stored } = setup();
    expect(await applier.ensure(desired({ a: '1' }), undefined, 'ns/cm')).toBe('created');
    expect(await applier.ensure(desired({ a: '1' }), undefined, 'ns/cm')).toBe('unchanged');
    await clock.advance(createExpectationMs - 1);
    expect(await applier.ensure(desired({ a: '1' }), undefined, 'ns/cm')).toBe('unchanged');
    expect(api.requests).toHaveLength(1);
    // Deleted before the cache ever showed it: after the expectation, it is created again.
    api.remove(configMaps, 'ns', 'cm');
    await clock.advance(1);
    expect(await applier.ensure(desired({ a: '1' }), undefined, 'ns/cm')).toBe('created');
    expect(stored()).toBeDefined();
  });

  it('creates again at once an object the cache showed and then lost', async () => {
    const { api, applier, stored } = setup();
    await applier.ensure(desired({ a: '1' }), undefined, 'ns/cm');
    expect(await applier.ensure(desired({ a: '1' }), stored(), 'ns/cm')).toBe('unchanged');
    api.remove(configMaps, 'ns', 'cm');
    expect(await applier.ensure(desired({ a: '1' }), undefined, 'ns/cm')).toBe('created');
    expect(api.requests.map((r) => r.verb)).toEqual(['apply', 'apply']);
  });

  it('forgets the objects of a deleted owner', async () => {
    const { applier } = setup();
    await applier.ensure(desired({ a: '1' }), undefined, 'ns/cm');
    expect(applier.size()).toBe(1);
    await applier.ensure(
      { ...desired({ a: '1' }), metadata: { name: 'cm-2', namespace: 'ns' } },
      undefined,
      'ns/cm-2',
    );
    applier.forget('ns/other');
    expect(applier.size()).toBe(2);
    // By owner, not by name: the owner "cm" has no claim on "cm-2"'s objects.
    applier.forget('ns/cm');
    expect(applier.size()).toBe(1);
  });
});
