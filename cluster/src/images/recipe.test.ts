import { describe, expect, it } from '@jest/globals';
import { RECIPES } from './index.js';
import { buildOrder, IMAGE_IDS, type ImageId, type RecipeContext } from './recipe.js';
import { nodeBaseRef } from './node-base.js';

const deps = (id: ImageId) => RECIPES[id].deps;

describe('buildOrder', () => {
  it('puts node-base before the server and lists every image once', () => {
    expect(buildOrder(['server'], deps)).toEqual(['node-base', 'server']);
    expect(buildOrder(['operator', 'server'], deps)).toEqual(['node-base', 'operator', 'server']);
    expect(buildOrder(['pause', 'server', 'node-base'], deps)).toEqual(['pause', 'node-base', 'server']);
    expect(buildOrder([...IMAGE_IDS], deps).sort()).toEqual([...IMAGE_IDS].sort());
  });

  it('reports a dependency cycle instead of recursing forever', () => {
    const cyclic = (id: ImageId): ImageId[] => (id === 'pause' ? ['s3'] : id === 's3' ? ['pause'] : []);
    expect(() => buildOrder(['pause'], cyclic)).toThrow(/cycle/);
  });
});

describe('image references', () => {
  const ctx = (versions: Record<string, string>): RecipeContext => ({
    repoRoot: '/nowhere',
    cacheRoot: '/nowhere',
    versions,
    packageVersion: '0.1.0',
    deps: new Map(),
    log: () => {},
  });
  const versions = {
    NODE_IMAGE_VERSION: '26.12.1',
    PAUSE_VERSION: '3.10',
    COREDNS_VERSION: 'v1.14.7',
    GOFAKES3_VERSION: 'v1.2.0',
  };

  it('are the names pods and Dockerfiles use', () => {
    const refs = Object.fromEntries(IMAGE_IDS.map((id) => [id, RECIPES[id].ref(ctx(versions))]));
    expect(refs).toEqual({
      pause: 'registry.k8s.io/pause:3.10',
      'node-base': 'node:26-bookworm-slim',
      server: 'modelship/server:0.1.0',
      coredns: 'modelship.local/coredns:1.14.7',
      fileserver: 'modelship.local/fileserver:1',
      s3: 'modelship.local/s3:1',
      operator: 'modelship/operator:0.1.0',
      trainer: 'modelship/example-trainer:0.1.0',
    });
  });

  it('follow the pinned Node major, and reject a version that is not one', () => {
    expect(nodeBaseRef({ NODE_IMAGE_VERSION: '24.11.0' })).toBe('node:24-bookworm-slim');
    expect(() => nodeBaseRef({ NODE_IMAGE_VERSION: 'latest' })).toThrow(/not a version/);
  });
});
