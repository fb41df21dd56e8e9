import { describe, expect, it } from '@jest/globals';
import { parseConfig } from './config.js';

const argv = (...args: string[]) => ['node', 'modelship-operator', ...args];

describe('parseConfig', () => {
  it('has defaults for a production install', () => {
    const c = parseConfig(argv(), {});
    expect(c).toMatchObject({
      namespaces: 'all',
      serverImage: expect.stringMatching(/^modelship\/server:\d+\.\d+\.\d+/),
      leaderElect: true,
      leaderElectionNamespace: 'modelship-system',
      leaseDurationMs: 15000,
      metricsPort: 8080,
      healthPort: 8081,
      concurrency: 4,
      requireModelDigest: false,
    });
  });

  it('requires model digests with --require-model-digest or MODELSHIP_REQUIRE_MODEL_DIGEST=true', () => {
    expect(parseConfig(argv('--require-model-digest'), {}).requireModelDigest).toBe(true);
    expect(parseConfig(argv(), { MODELSHIP_REQUIRE_MODEL_DIGEST: 'true' }).requireModelDigest).toBe(true);
    expect(parseConfig(argv(), { MODELSHIP_REQUIRE_MODEL_DIGEST: 'false' }).requireModelDigest).toBe(false);
  });

  it('reads flags, and environment variables where flags are absent', () => {
    const c = parseConfig(argv('--namespaces', 'a, b', '--no-leader-elect'), {
      MODELSHIP_SERVER_IMAGE: 'registry/server:2',
      MODELSHIP_CONCURRENCY: '8',
      POD_NAMESPACE: 'ml-system',
    });
    expect(c).toMatchObject({
      namespaces: ['a', 'b'],
      leaderElect: false,
      serverImage: 'registry/server:2',
      concurrency: 8,
      leaderElectionNamespace: 'ml-system',
    });
  });
});
