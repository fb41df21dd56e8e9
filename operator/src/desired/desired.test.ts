import { describe, expect, it } from '@jest/globals';
import { operatorEnv } from '../api/v1alpha1/schema.js';
import { md } from '../testing/fixtures.js';
import { desiredDeployment, desiredReplicas } from './deployment.js';
import { desiredHpa } from './hpa.js';
import { canonicalJson } from '../util/canonical-json.js';
import { revisionOf, servedModelName } from './names.js';
import { desiredPdb } from './pdb.js';
import { parsePvcUri } from './pod.js';
import { desiredPeersService } from './service.js';

describe('revisionOf', () => {
  const base = md().spec;
  it('is 10 lowercase base-36 characters and stable', () => {
    expect(revisionOf(base, 'img:1')).toMatch(/^[0-9a-z]{10}$/);
    expect(revisionOf(base, 'img:1')).toBe(revisionOf(structuredClone(base), 'img:1'));
  });

  it.each([
    ['the version', { ...base, model: { ...base.model, version: '2' } }],
    ['the storage URI', { ...base, model: { ...base.model, storageUri: 's3://b/k' } }],
    [
      'batching',
      {
        ...base,
        runtime: { ...base.runtime, batching: { maxBatchSize: 4, maxQueueDelayMs: 2, maxQueueSize: 1024 } },
      },
    ],
    ['env', { ...base, runtime: { ...base.runtime, env: [{ name: 'A', value: 'b' }] } }],
  ])('changes with %s', (_what, spec) => {
    expect(revisionOf(spec, 'img:1')).not.toBe(revisionOf(base, 'img:1'));
  });

  it('changes with the image', () => {
    expect(revisionOf(base, 'img:2')).not.toBe(revisionOf(base, 'img:1'));
  });

  it.each([
    ['replicas', { ...base, runtime: { ...base.runtime, replicas: 9 } }],
    ['autoscaling', { ...base, runtime: { ...base.runtime, autoscaling: { maxReplicas: 5 } } }],
  ])('does not change with %s (scaling is not a rollout)', (_what, spec) => {
    expect(revisionOf(spec, 'img:1')).toBe(revisionOf(base, 'img:1'));
  });

  it('does not depend on key order', () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: [3, { f: 1, e: 2 }] } })).toBe(
      '{"a":{"c":[3,{"e":2,"f":1}],"d":2},"b":1}',
    );
  });
});

describe('names', () => {
  it('serves under spec.model.name, or the object name', () => {
    expect(servedModelName(md({ model: { name: 'fraud', version: '1', storageUri: 'file:///m' } }))).toBe(
      'fraud',
    );
    expect(servedModelName(md())).toBe('churn');
  });

  it('parses pvc URIs', () => {
    expect(parsePvcUri('pvc://models/a/b/model.onnx')).toEqual({ claim: 'models', path: 'a/b/model.onnx' });
    expect(parsePvcUri('s3://models/a')).toBeUndefined();
  });
});

describe('desiredDeployment', () => {
  it('leaves replicas to the autoscaler when autoscaling is set', () => {
    const m = md({ runtime: { autoscaling: { minReplicas: 3, maxReplicas: 5 } } });
    expect(desiredDeployment(m, 'r', 'img').spec?.replicas).toBeUndefined();
    expect(desiredReplicas(m)).toBe(3);
  });

  it("sets the operator's variables from the spec and adds the user's after them", () => {
    const m = md({
      runtime: {
        batching: { maxBatchSize: 8 },
        env: [
          { name: 'NODE_EXTRA_CA_CERTS', value: '/etc/ca/ca.crt' },
          { name: 'MODELSHIP_LOG_LEVEL', value: 'debug' },
        ],
      },
    });
    const env = desiredDeployment(m, 'r', 'img').spec!.template.spec!.containers[0]!.env!;
    const names = env.map((e) => e.name);
    expect(env.find((e) => e.name === 'MODELSHIP_MAX_BATCH_SIZE')).toEqual({
      name: 'MODELSHIP_MAX_BATCH_SIZE',
      value: '8',
    });
    expect(names.slice(-2)).toEqual(['NODE_EXTRA_CA_CERTS', 'MODELSHIP_LOG_LEVEL']);
    expect(new Set(names).size).toBe(names.length);
    // Every variable the API server keeps out of spec.runtime.env is one the operator sets, and the reverse.
    // (With every optional setting that has a variable: monitoring, payload logging and security; a signature is
    // inline or a URI, never both, hence two specs.)
    const publicKey = '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----';
    const every = (signature: { signature: string } | { signatureUri: string }) =>
      md({
        model: {
          version: '1',
          storageUri: 'file:///m.onnx',
          sha256: 'a'.repeat(64),
          requireDigest: true,
          signature: { publicKey, ...signature },
        },
        monitoring: {
          drift: { window: '10m' },
          feedback: { output: 'label', storeSize: 5, maxAge: '1m', window: '1m' },
        },
        logging: {
          payloads: { sink: 'http', url: 'http://collector', sample: 0.5, redact: ['x'], maxBytes: 2048 },
        },
        auth: {
          apiKeys: { secretRef: { name: 'keys' } },
          oidc: {
            issuer: 'https://i',
            audiences: ['a'],
            jwksUri: 'https://i/jwks',
            requiredClaims: { a: 'b' },
          },
        },
        tls: { secretRef: { name: 'tls' }, metrics: true },
        modelCard: { owner: 'me' },
      });
    const envNames = (x: ReturnType<typeof md>) =>
      desiredDeployment(x, 'r', 'img').spec!.template.spec!.containers[0]!.env!.map((e) => e.name);
    const all = new Set([
      ...envNames(every({ signature: 'AA==' })),
      ...envNames(every({ signatureUri: 'file:///s' })),
    ]);
    expect([...all].sort()).toEqual(Object.keys(operatorEnv).sort());
  });
});

describe('budgets and autoscalers', () => {
  it('has a PodDisruptionBudget only with more than one replica', () => {
    expect(desiredPdb(md({ runtime: { replicas: 1 } }), 'r')).toBeUndefined();
    expect(desiredPdb(md({ runtime: { replicas: 2 } }), 'r')?.spec?.maxUnavailable).toBe(1);
    expect(
      desiredPdb(md({ runtime: { autoscaling: { minReplicas: 2, maxReplicas: 4 } } }), 'r'),
    ).toBeDefined();
  });

  it('has an autoscaler only with autoscaling, with the defaults of the schema', () => {
    expect(desiredHpa(md(), 'r')).toBeUndefined();
    const hpa = desiredHpa(md({ runtime: { autoscaling: { maxReplicas: 4 } } }), 'r')!;
    expect(hpa.spec).toMatchObject({ minReplicas: 1, maxReplicas: 4 });
    expect(hpa.spec?.metrics?.[0]?.resource?.target.averageUtilization).toBe(80);
  });
});

describe('the peers Service of ground-truth feedback', () => {
  it('is headless over every serving pod, only with spec.monitoring.feedback, and the pods know its name', () => {
    const plain = md({ model: { version: '1', storageUri: 'file:///m.onnx' } });
    expect(desiredPeersService(plain)).toBeUndefined();
    const withFeedback = md({
      model: { version: '1', storageUri: 'file:///m.onnx' },
      monitoring: { feedback: {} },
    });
    const svc = desiredPeersService(withFeedback)!;
    expect(svc.metadata!.name).toBe(`${withFeedback.metadata.name}-pods`);
    expect(svc.spec).toMatchObject({
      clusterIP: 'None',
      selector: {
        'modelship.dev/deployment': withFeedback.metadata.name,
        'app.kubernetes.io/component': 'model-server',
      },
    });
    const env = desiredDeployment(withFeedback, 'r', 'img').spec!.template.spec!.containers[0]!.env!;
    expect(env.find((e) => e.name === 'MODELSHIP_FEEDBACK_PEERS')!.value).toBe(
      `http://${withFeedback.metadata.name}-pods.${withFeedback.metadata.namespace}.svc.cluster.local:8080`,
    );
  });
});
