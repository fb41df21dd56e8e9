import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import type { V1Container, V1Deployment, V1Pod } from '@kubernetes/client-node';
import type { ModelDeploymentSpec } from '../api/v1alpha1/schema.js';
import { md } from '../testing/fixtures.js';
import { routeTable, routerDeployment } from '../traffic/router.js';
import type { TrafficSplit } from '../traffic/split.js';
import { canonicalJson } from '../util/canonical-json.js';
import { desiredDeployment } from './deployment.js';
import { revisionOf } from './names.js';
import { podMetricsUrl } from './pod.js';
import { deploymentServesTls, metricsTlsSecretAnnotation, podMetricsEndpoint } from './security.js';
import { desiredRevisionService } from './service.js';
import { validationJob } from './validation-job.js';
import type { ModelVersion } from '../api/v1alpha1/model-version.js';

const publicKey =
  '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n';

const secured: Partial<ModelDeploymentSpec> = {
  model: {
    version: '1.0.0',
    storageUri: 'https://models.example.com/m.onnx',
    sha256: 'a'.repeat(64),
    requireDigest: true,
    caBundle: { configMapRef: { name: 'private-ca', key: 'bundle.pem' } },
    signature: { publicKey, signature: 'MEUCIQ==' },
  },
  auth: {
    apiKeys: { secretRef: { name: 'churn-keys' } },
    oidc: {
      issuer: 'https://issuer.example.com',
      audiences: ['churn', 'scoring'],
      requiredClaims: { tier: 'gold', groups: 'ml' },
      clockSkew: '1500ms',
    },
  },
  tls: { secretRef: { name: 'churn-tls' }, metrics: true },
  modelCard: { owner: 'ml-team', license: 'MIT', evaluationMetrics: { f1: 0.9, accuracy: 0.97 } },
};

const server = (d: V1Deployment): V1Container => d.spec!.template.spec!.containers[0]!;
const env = (c: V1Container) => Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));

describe('the serving pod with every security field', () => {
  const d = desiredDeployment(md(secured), 'r1', 'img:1');
  const pod = d.spec!.template;
  const c = server(d);

  it('sets the server variables from the fields', () => {
    expect(env(c)).toMatchObject({
      MODELSHIP_AUTH_API_KEYS_DIR: '/etc/modelship/auth/api-keys',
      MODELSHIP_AUTH_OIDC_ISSUER: 'https://issuer.example.com',
      MODELSHIP_AUTH_OIDC_AUDIENCES: 'churn,scoring',
      // Sorted keys, so the same claims always make the same template.
      MODELSHIP_AUTH_OIDC_REQUIRED_CLAIMS: '{"groups":"ml","tier":"gold"}',
      MODELSHIP_AUTH_OIDC_CLOCK_SKEW_SECONDS: '2',
      MODELSHIP_TLS_DIR: '/etc/modelship/tls',
      MODELSHIP_METRICS_TLS: 'true',
      MODELSHIP_REQUIRE_DIGEST: 'true',
      MODELSHIP_MODEL_PUBLIC_KEY: publicKey,
      MODELSHIP_MODEL_SIGNATURE: 'MEUCIQ==',
      MODELSHIP_MODEL_CARD:
        '{"evaluationMetrics":{"accuracy":0.97,"f1":0.9},"license":"MIT","owner":"ml-team"}',
      NODE_EXTRA_CA_CERTS: '/etc/modelship/ca/ca.crt',
    });
    expect(env(c)).not.toHaveProperty('MODELSHIP_AUTH_OIDC_JWKS_URI');
    expect(env(c)).not.toHaveProperty('MODELSHIP_MODEL_SIGNATURE_URI');
  });

  it('mounts the Secrets read-only, group-readable (0440) and nothing else, and the CA bundle under ca.crt', () => {
    expect(pod.spec!.volumes).toEqual(
      expect.arrayContaining([
        { name: 'auth-api-keys', secret: { secretName: 'churn-keys', defaultMode: 0o440 } },
        { name: 'tls', secret: { secretName: 'churn-tls', defaultMode: 0o440 } },
        {
          name: 'ca-bundle',
          configMap: {
            name: 'private-ca',
            items: [{ key: 'bundle.pem', path: 'ca.crt' }],
            defaultMode: 0o444,
          },
        },
      ]),
    );
    expect(c.volumeMounts).toEqual(
      expect.arrayContaining([
        { name: 'auth-api-keys', mountPath: '/etc/modelship/auth/api-keys', readOnly: true },
        { name: 'tls', mountPath: '/etc/modelship/tls', readOnly: true },
        { name: 'ca-bundle', mountPath: '/etc/modelship/ca', readOnly: true },
      ]),
    );
    // The group the files are readable by is the server's.
    expect(pod.spec!.securityContext?.fsGroup).toBe(65532);
  });

  it('probes over HTTPS (the kubelet does not verify) and tells Prometheus the metrics are https', () => {
    for (const p of [c.startupProbe, c.readinessProbe, c.livenessProbe])
      expect(p?.httpGet).toMatchObject({ port: 'http', scheme: 'HTTPS' });
    expect(pod.metadata?.annotations).toMatchObject({
      'prometheus.io/scheme': 'https',
      [metricsTlsSecretAnnotation]: 'churn-tls',
    });
  });

  it('names what the revision Service carries', () => {
    const ports = desiredRevisionService(md(secured), 'r1').spec!.ports!;
    expect(ports.map((p) => [p.name, p.appProtocol])).toEqual([
      ['http', 'https'],
      ['metrics', 'https'],
    ]);
  });

  it('never carries a Secret’s contents: only its name, so a rotated Secret is the same template', () => {
    const text = JSON.stringify(pod);
    expect(text).toContain('churn-keys');
    expect(c.env!.every((e) => e.valueFrom === undefined)).toBe(true);
    // The template is a function of the spec alone: rotating the keys or the certificate changes no input of it.
    expect(desiredDeployment(md(secured), 'r1', 'img:1')).toEqual(d);
  });
});

describe('the serving pod without the security fields', () => {
  const c = server(desiredDeployment(md(), 'r1', 'img:1'));
  const pod = desiredDeployment(md(), 'r1', 'img:1').spec!.template;

  it('has none of their variables, volumes or annotations, and probes plain http', () => {
    expect(
      Object.keys(env(c)).filter((n) => /AUTH|TLS|DIGEST|SIGNATURE|PUBLIC_KEY|CARD|NODE_EXTRA/.test(n)),
    ).toEqual([]);
    expect(pod.spec!.volumes!.map((v) => v.name)).toEqual(['model-cache', 'tmp']);
    expect(c.readinessProbe?.httpGet?.scheme).toBeUndefined();
    expect(Object.keys(pod.metadata!.annotations!)).toEqual([
      'prometheus.io/scrape',
      'prometheus.io/port',
      'prometheus.io/path',
    ]);
    expect(desiredRevisionService(md(), 'r1').spec!.ports!.map((p) => p.appProtocol)).toEqual([
      undefined,
      undefined,
    ]);
  });

  it('TLS without metrics: https probes, plain metrics', () => {
    const d = desiredDeployment(md({ tls: { secretRef: { name: 't' } } }), 'r1', 'img:1');
    expect(env(server(d))).toMatchObject({ MODELSHIP_TLS_DIR: '/etc/modelship/tls' });
    expect(env(server(d))).not.toHaveProperty('MODELSHIP_METRICS_TLS');
    expect(server(d).livenessProbe?.httpGet?.scheme).toBe('HTTPS');
    expect(d.spec!.template.metadata!.annotations).not.toHaveProperty('prometheus.io/scheme');
  });

  it('a signature on another claim than the model mounts that claim too, once', () => {
    const spec = (signatureUri: string): Partial<ModelDeploymentSpec> => ({
      model: { version: '1', storageUri: 'pvc://models/m.onnx', signature: { publicKey, signatureUri } },
    });
    const names = (s: Partial<ModelDeploymentSpec>) =>
      desiredDeployment(md(s), 'r1', 'img:1').spec!.template.spec!.volumes!.map((v) => v.name);
    expect(names(spec('pvc://sigs/m.onnx.sig'))).toEqual([
      'model-cache',
      'tmp',
      'model-pvc',
      'signature-pvc',
    ]);
    expect(names(spec('pvc://models/m.onnx.sig'))).toEqual(['model-cache', 'tmp', 'model-pvc']);
    expect(env(server(desiredDeployment(md(spec('pvc://sigs/m.sig')), 'r1', 'i')))).toMatchObject({
      MODELSHIP_MODEL_SIGNATURE_URI: 'pvc://sigs/m.sig',
    });
  });
});

describe('the revision with the security fields', () => {
  const base = md().spec;
  it('keeps the revision a spec without them always had (no rollout on an operator upgrade)', () => {
    const { replicas: _r, autoscaling: _a, image: _i, ...shaping } = base.runtime ?? {};
    const old = createHash('sha256')
      .update(canonicalJson({ model: base.model, runtime: shaping, image: 'img:1' }))
      .digest();
    const expected = BigInt(`0x${old.subarray(0, 8).toString('hex')}`)
      .toString(36)
      .padStart(10, '0')
      .slice(-10);
    expect(revisionOf(base, 'img:1')).toBe(expected);
  });

  it.each([
    ['api keys', { auth: { apiKeys: { secretRef: { name: 'k' } } } }],
    ['another api key Secret', { auth: { apiKeys: { secretRef: { name: 'k2' } } } }],
    ['oidc', { auth: { oidc: { issuer: 'https://i', audiences: ['a'] } } }],
    ['tls', { tls: { secretRef: { name: 't' } } }],
    ['metrics tls', { tls: { secretRef: { name: 't' }, metrics: true } }],
    ['the model card', { modelCard: { owner: 'me' } }],
    ['requireDigest', { model: { ...base.model, requireDigest: true } }],
    ['a CA bundle', { model: { ...base.model, caBundle: { configMapRef: { name: 'ca' } } } }],
    ['a signature', { model: { ...base.model, signature: { publicKey, signature: 'AA==' } } }],
  ])('changes with %s', (_what, change) => {
    const spec = { ...base, ...change } as ModelDeploymentSpec;
    expect(revisionOf(spec, 'img:1')).not.toBe(revisionOf(base, 'img:1'));
  });

  it('is the same for two specs naming the same Secrets (their contents are not part of it)', () => {
    const a = { ...base, auth: { apiKeys: { secretRef: { name: 'k' } } } };
    expect(revisionOf(a, 'img:1')).toBe(revisionOf(structuredClone(a), 'img:1'));
  });
});

describe('where the operator reads a pod’s metrics', () => {
  const ready = (annotations?: Record<string, string>, component = 'model-server'): V1Pod => ({
    metadata: {
      name: 'p',
      namespace: 'ml',
      labels: { 'modelship.dev/deployment': 'churn', 'app.kubernetes.io/component': component },
      annotations,
    },
    status: { podIP: '10.0.0.7' },
  });

  it('plain http without the annotation (also the router’s pods)', () => {
    expect(podMetricsUrl(ready())).toEqual({ url: 'http://10.0.0.7:9090/metrics' });
    expect(podMetricsUrl(ready(undefined, 'router'))).toEqual({ url: 'http://10.0.0.7:9090/metrics' });
  });

  it('https, verified against the named Secret for the Service name, with it', () => {
    expect(podMetricsEndpoint(ready({ [metricsTlsSecretAnnotation]: 'churn-tls' }), 9090)).toEqual({
      url: 'https://10.0.0.7:9090/metrics',
      tls: { namespace: 'ml', secretName: 'churn-tls', serverName: 'churn.ml.svc' },
    });
  });
});

describe('a Deployment’s TLS', () => {
  it('is read from its template (for revisions of older specs)', () => {
    expect(deploymentServesTls(desiredDeployment(md({ tls: { secretRef: { name: 't' } } }), 'r', 'i'))).toBe(
      true,
    );
    expect(deploymentServesTls(desiredDeployment(md(), 'r', 'i'))).toBe(false);
  });
});

describe('the router with TLS', () => {
  const split: TrafficSplit = {
    stable: { revision: 'old', version: '1' },
    canary: { revision: 'new', version: '2' },
    canaryWeight: 20,
    matches: [],
    shadow: { ref: { revision: 'new', version: '2' } },
  } as unknown as TrafficSplit;

  it('reaches each TLS revision over https, verified for <name>.<namespace>.svc, and the others over http', () => {
    const t = routeTable(md({ tls: { secretRef: { name: 't' } } }), split, new Set(['new']));
    const backend = (r: string) => t.backends.find((b) => b.revision === r);
    expect(backend('new')).toMatchObject({
      url: 'https://churn-new.ml.svc.cluster.local:80',
      serverName: 'churn.ml.svc',
    });
    expect(backend('old')).toEqual({
      revision: 'old',
      url: 'http://churn-old.ml.svc.cluster.local:80',
      weight: 80,
    });
    expect(t.shadow).toMatchObject({
      url: 'https://churn-new.ml.svc.cluster.local:80',
      serverName: 'churn.ml.svc',
    });
  });

  it('terminates TLS with the Secret and verifies backends against its ca.crt', () => {
    const d = routerDeployment(md({ tls: { secretRef: { name: 'churn-tls' } } }), 'img:1');
    const c = d.spec!.template.spec!.containers[0]!;
    expect(env(c)).toMatchObject({
      MODELSHIP_TLS_DIR: '/etc/modelship/tls',
      MODELSHIP_ROUTER_BACKEND_CA_FILE: '/etc/modelship/tls/ca.crt',
    });
    expect(d.spec!.template.spec!.volumes).toEqual([
      { name: 'tls', secret: { secretName: 'churn-tls', defaultMode: 0o440 } },
    ]);
    expect(c.volumeMounts).toEqual([{ name: 'tls', mountPath: '/etc/modelship/tls', readOnly: true }]);
    expect(d.spec!.template.spec!.securityContext?.fsGroup).toBe(65532);
    expect(c.readinessProbe?.httpGet?.scheme).toBe('HTTPS');
  });

  it('without spec.tls is as it always was', () => {
    const d = routerDeployment(md(), 'img:1');
    const c = d.spec!.template.spec!.containers[0]!;
    expect(d.spec!.template.spec!.volumes).toBeUndefined();
    expect(c.volumeMounts).toBeUndefined();
    expect(d.spec!.template.spec!.securityContext?.fsGroup).toBeUndefined();
    expect(Object.keys(env(c))).not.toContain('MODELSHIP_TLS_DIR');
    expect(routeTable(md(), split).backends.every((b) => b.url.startsWith('http://') && !b.serverName)).toBe(
      true,
    );
  });
});

describe('the other pods that fetch the model or call the serving pods', () => {
  it('the validation Job trusts the CA bundle as the serving pods do', () => {
    const mv = {
      apiVersion: 'modelship.dev/v1alpha1',
      kind: 'ModelVersion',
      metadata: { name: 'churn-spec-1', namespace: 'ml', uid: 'u' },
      spec: {
        deployment: 'churn',
        model: { name: 'churn', version: '1', storageUri: 'https://models.example.com/m.onnx' },
        source: { kind: 'Spec' },
      },
    } as ModelVersion;
    const job = validationJob(md(secured), mv, 'img:1');
    const c = job.spec!.template.spec!.containers[0]!;
    expect(env(c)).toMatchObject({ NODE_EXTRA_CA_CERTS: '/etc/modelship/ca/ca.crt' });
    expect(c.volumeMounts).toContainEqual({
      name: 'ca-bundle',
      mountPath: '/etc/modelship/ca',
      readOnly: true,
    });
    expect(job.spec!.template.spec!.volumes!.map((v) => v.name)).toContain('ca-bundle');
    // Nothing of auth or TLS: the Job serves nothing.
    expect(Object.keys(env(c)).filter((n) => /AUTH|TLS/.test(n))).toEqual([]);
  });

  it('feedback peers are called over https when the pods serve TLS', () => {
    const peers = (s: Partial<ModelDeploymentSpec>) =>
      env(server(desiredDeployment(md({ ...s, monitoring: { feedback: {} } }), 'r1', 'i')))
        .MODELSHIP_FEEDBACK_PEERS;
    expect(peers({ tls: { secretRef: { name: 't' } } })).toBe('https://churn-pods.ml.svc.cluster.local:8080');
    expect(peers({})).toBe('http://churn-pods.ml.svc.cluster.local:8080');
  });
});
