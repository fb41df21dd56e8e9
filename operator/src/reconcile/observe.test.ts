import { describe, expect, it } from '@jest/globals';
import type { V1Deployment, V1Pod, V1Service } from '@kubernetes/client-node';
import { md } from '../testing/fixtures.js';
import { observe, ownedBy, ownedObjects, podSummary, type Cache, type Caches } from './observe.js';

const owner = md({}, 'churn'); // uid-1, namespace ml
const controllerRef = (uid: string) => [
  { apiVersion: 'modelship.dev/v1alpha1', kind: 'ModelDeployment', name: 'churn', uid, controller: true },
];
const deployment = (revision: string, uid = 'uid-1', name = 'churn'): V1Deployment => ({
  metadata: {
    name: `${name}-${revision}`,
    namespace: 'ml',
    labels: {
      'modelship.dev/deployment': name,
      'modelship.dev/revision': revision,
      'app.kubernetes.io/version': revision,
    },
    ownerReferences: controllerRef(uid),
  },
});
const pod = (revision: string, deploymentName = 'churn'): V1Pod => ({
  metadata: {
    name: `p-${revision}`,
    namespace: 'ml',
    labels: { 'modelship.dev/deployment': deploymentName, 'modelship.dev/revision': revision },
  },
  spec: { containers: [{ name: 'server', image: 'i' }] },
  status: { phase: 'Running' },
});

function cache<T extends { metadata?: { namespace?: string; name?: string } }>(items: T[]): Cache<T> {
  return {
    get: (ns, name) => items.find((o) => o.metadata?.namespace === ns && o.metadata?.name === name),
    list: (ns) => items.filter((o) => ns === undefined || o.metadata?.namespace === ns),
  };
}

describe('ownedBy', () => {
  it("keeps objects labelled with the ModelDeployment's name and controlled by its uid", () => {
    const mine = deployment('a');
    const namesakeOfOld = deployment('b', 'uid-of-a-deleted-namesake');
    const other = deployment('c', 'uid-1', 'other');
    expect(ownedBy(owner, [mine, namesakeOfOld, other])).toEqual([mine]);
  });
});

describe('observe', () => {
  it('lists the revisions in a stable order, each with its own pods, and finds the main Service', () => {
    const main: V1Service = { metadata: { name: 'churn', namespace: 'ml' } };
    const caches: Caches = {
      modelDeployments: cache([owner]),
      deployments: cache([deployment('zz'), deployment('aa')]),
      services: cache(
        [main, { metadata: { name: 'churn-aa', namespace: 'ml' } }].map((s) => ({
          ...s,
          metadata: {
            ...s.metadata,
            labels: { 'modelship.dev/deployment': 'churn' },
            ownerReferences: controllerRef('uid-1'),
          },
        })),
      ),
      podDisruptionBudgets: cache([]),
      horizontalPodAutoscalers: cache([]),
      configMaps: cache([]),
      serviceAccounts: cache([]),
      roles: cache([]),
      roleBindings: cache([]),
      cronJobs: cache([]),
      networkPolicies: cache([]),
      jobs: cache([]),
      modelVersions: cache([]),
      optional: () => undefined,
      pods: cache([pod('aa'), pod('zz'), pod('zz'), pod('aa', 'other')]),
    };
    const observed = observe(owner, ownedObjects(owner, caches), caches);
    expect(observed.revisions.map((r) => [r.revision, r.version, r.pods.length])).toEqual([
      ['aa', 'aa', 1],
      ['zz', 'zz', 2],
    ]);
    expect(observed.liveRevision).toBeUndefined(); // the main Service here selects no revision
    expect(observed.pods).toHaveLength(3);
  });
});

describe('podSummary', () => {
  it('keeps only the metadata and status the operator reads', () => {
    const summary = podSummary({
      ...pod('aa'),
      metadata: { ...pod('aa').metadata, annotations: { big: 'x' } },
    });
    expect(summary).toEqual({
      metadata: {
        name: 'p-aa',
        namespace: 'ml',
        labels: { 'modelship.dev/deployment': 'churn', 'modelship.dev/revision': 'aa' },
        deletionTimestamp: undefined,
        resourceVersion: undefined,
        uid: undefined,
      },
      status: { phase: 'Running' },
    });
  });
});
