import { describe, expect, it } from '@jest/globals';
import type { KubernetesObject } from '@kubernetes/client-node';
import { ObjectCache, objectKey } from './object-cache.js';

const obj = (namespace: string | undefined, name: string, resourceVersion: string): KubernetesObject => ({
  metadata: { namespace, name, resourceVersion },
});

describe('ObjectCache', () => {
  it('keys namespaced objects by namespace/name and cluster-scoped ones by name', () => {
    expect(objectKey(obj('ns', 'a', '1'))).toBe('ns/a');
    expect(objectKey(obj(undefined, 'node-1', '1'))).toBe('node-1');
    const cache = new ObjectCache();
    cache.upsert(obj(undefined, 'node-1', '1'));
    expect(cache.get('', 'node-1')?.metadata?.resourceVersion).toBe('1');
    expect(cache.list('')).toHaveLength(1);
  });

  it('reports an add, an update only when the resourceVersion moves, and a delete only for cached objects', () => {
    const cache = new ObjectCache();
    expect(cache.upsert(obj('ns', 'a', '1'))?.type).toBe('add');
    expect(cache.upsert(obj('ns', 'a', '1'))).toBeUndefined();
    const update = cache.upsert(obj('ns', 'a', '2'));
    expect(update?.type === 'update' && update.old.metadata?.resourceVersion).toBe('1');
    expect(cache.remove(obj('ns', 'b', '3'))).toBeUndefined();
    expect(cache.remove(obj('ns', 'a', '3'))?.type).toBe('delete');
    expect(cache.size()).toBe(0);
  });

  it('replaces the content of one namespace with a fresh list and returns the difference', () => {
    const cache = new ObjectCache();
    for (const o of [
      obj('a', 'same', '1'),
      obj('a', 'changed', '2'),
      obj('a', 'gone', '3'),
      obj('b', 'other', '4'),
    ]) {
      cache.upsert(o);
    }
    const deltas = cache.replace(
      [obj('a', 'same', '1'), obj('a', 'changed', '5'), obj('a', 'new', '6')],
      'a',
    );
    expect(deltas.map((d) => `${d.type} ${objectKey(d.obj)}@${d.obj.metadata?.resourceVersion}`)).toEqual([
      'delete a/gone@3',
      'update a/changed@5',
      'add a/new@6',
    ]);
    expect(cache.list().map(objectKey).sort()).toEqual(['a/changed', 'a/new', 'a/same', 'b/other']);
    // Without a namespace, the list stands for everything.
    expect(cache.replace([obj('a', 'same', '1')]).map((d) => `${d.type} ${objectKey(d.obj)}`)).toEqual([
      'delete a/changed',
      'delete a/new',
      'delete b/other',
    ]);
  });
});
