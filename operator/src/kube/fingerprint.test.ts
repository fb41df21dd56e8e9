import { describe, expect, it } from '@jest/globals';
import { fingerprint } from './fingerprint.js';

/** True when, at every path `desired` sets, `observed` holds what the server made of our apply. */
const matchesApplied = (desired: unknown, applied: unknown, observed: unknown) =>
  fingerprint(desired, applied) === fingerprint(desired, observed);

const desired = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'x', labels: { a: '1' } },
  spec: {
    replicas: 2,
    template: { spec: { containers: [{ name: 's', image: 'i', resources: { limits: { cpu: '1000m' } } }] } },
  },
};
// What the API server made of it: defaults added, the quantity normalised.
const applied = {
  metadata: { name: 'x', labels: { a: '1' }, resourceVersion: '5' },
  spec: {
    replicas: 2,
    progressDeadlineSeconds: 600,
    template: {
      spec: {
        containers: [
          {
            name: 's',
            image: 'i',
            resources: { limits: { cpu: '1' } },
            terminationMessagePath: '/dev/termination-log',
          },
        ],
      },
    },
  },
};

describe('matchesApplied', () => {
  it('ignores server defaults and normalisation', () => {
    expect(matchesApplied(desired, applied, { ...applied, status: { readyReplicas: 1 } })).toBe(true);
  });

  it('ignores fields others set: extra labels, annotations, status', () => {
    const observed = structuredClone(applied) as typeof applied & { metadata: { annotations?: object } };
    observed.metadata.labels = { a: '1', team: 'ml' } as never;
    observed.metadata.annotations = { 'deployment.kubernetes.io/revision': '1' };
    expect(matchesApplied(desired, applied, observed)).toBe(true);
  });

  it.each([
    ['replicas edited by hand', (o: typeof applied) => (o.spec.replicas = 5)],
    ['an image changed by hand', (o: typeof applied) => (o.spec.template.spec.containers[0]!.image = 'evil')],
    ['one of our labels changed', (o: typeof applied) => (o.metadata.labels.a = '2')],
    ['a container removed', (o: typeof applied) => (o.spec.template.spec.containers = [])],
  ])('detects %s', (_what, edit) => {
    const observed = structuredClone(applied);
    edit(observed);
    expect(matchesApplied(desired, applied, observed)).toBe(false);
  });

  it('skips apiVersion and kind, which list responses omit', () => {
    expect(
      matchesApplied(
        { apiVersion: 'v1', kind: 'Service', spec: { a: 1 } },
        { apiVersion: 'v1', kind: 'Service', spec: { a: 1 } },
        { spec: { a: 1 } },
      ),
    ).toBe(true);
  });
});
