/**
 * The ModelDeployment CRD as users meet it: installed on a real API server, examples applied with kubectl,
 * bad objects refused with messages that name the field, printer columns and `kubectl explain`.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import yaml from 'js-yaml';
import {
  withDefaults,
  type ModelDeployment,
  type ModelDeploymentSpec,
} from '../../operator/src/api/v1alpha1/schema.js';
import {
  createNamespace,
  installCrds,
  kubeConfig,
  kubectl,
  kubectlOk,
  repoRoot,
} from '../support/cluster.js';

let ns: string;

beforeAll(async () => {
  await installCrds();
  ns = await createNamespace('crd');
}, 60_000);

function md(name: string, spec: string): string {
  return `apiVersion: modelship.dev/v1alpha1
kind: ModelDeployment
metadata:
  name: ${name}
spec:
${spec}`;
}

const mdObject = (name: string) => ({
  apiVersion: 'modelship.dev/v1alpha1',
  kind: 'ModelDeployment',
  metadata: { name },
});

/** A PEM public key as cosign generate-key-pair writes it (ECDSA P-256, SubjectPublicKeyInfo). */
const cosignPublicKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString();
const privateKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();
/** A YAML block scalar of a PEM, indented for a field at `indent` spaces. */
const block = (pem: string, indent: number) =>
  `|\n${pem
    .trim()
    .split('\n')
    .map((l) => ' '.repeat(indent) + l)
    .join('\n')}`;

const valid = `  model:
    version: "1"
    storageUri: file:///models/m.onnx`;

describe('installation', () => {
  it('is Established with the names, short name and category users type', async () => {
    const crd = JSON.parse(
      await kubectlOk(['get', 'crd', 'modeldeployments.modelship.dev', '-o', 'json']),
    ) as k8s.V1CustomResourceDefinition;
    expect(crd.status?.conditions?.find((c) => c.type === 'Established')?.status).toBe('True');
    expect(crd.spec.names.shortNames).toEqual(['md']);
    expect(crd.spec.names.categories).toEqual(['modelship']);
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.versions.map((v) => v.name)).toEqual(['v1alpha1']);
    expect(crd.spec.versions[0]!.subresources?.status).toEqual({});
  });

  it('applies every ModelDeployment file in examples/ (and its folders) cleanly', async () => {
    const kinds = (f: string) =>
      (yaml.loadAll(readFileSync(join(repoRoot, 'examples', f), 'utf8')) as { kind?: string }[]).map(
        (d) => d.kind,
      );
    const all = readdirSync(join(repoRoot, 'examples'), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.yaml'));
    const files = all.filter((f) => kinds(f).every((k) => k === 'ModelDeployment'));
    // examples/gitops/ also holds Argo CD Applications: gitops-examples.test.ts validates them against Argo CD's CRD.
    for (const f of all.filter((x) => !files.includes(x)))
      expect({ file: f, kinds: kinds(f) }).toEqual({ file: f, kinds: kinds(f).map(() => 'Application') });
    expect(files.length).toBeGreaterThanOrEqual(4);
    expect(files).toContain(join('gitops', 'models', 'iris.yaml'));
    const expected = new Set<string>();
    for (const f of files) {
      const r = await kubectl(['apply', '-n', ns, '-f', join(repoRoot, 'examples', f)]);
      expect({ file: f, code: r.code, stderr: r.stderr }).toEqual({ file: f, code: 0, stderr: '' });
      for (const d of yaml.loadAll(readFileSync(join(repoRoot, 'examples', f), 'utf8')) as ModelDeployment[])
        expected.add(`modeldeployment.modelship.dev/${d.metadata.name}`);
    }
    // Examples in different folders may share a name (examples/gitops/models/iris.yaml is examples/iris.yaml's).
    const names = (await kubectlOk(['get', 'md', '-n', ns, '-o', 'name'])).trim().split('\n');
    expect(new Set(names)).toEqual(expected);
    // The category works too: `kubectl get modelship` lists them.
    expect((await kubectlOk(['get', 'modelship', '-n', ns, '-o', 'name'])).trim().split('\n')).toEqual(names);
  });
});

describe('defaults', () => {
  it('fills in the same defaults on the API server as withDefaults() does in the operator', async () => {
    await kubectlOk(['apply', '-n', ns, '-f', '-'], md('defaults', valid));
    const obj = JSON.parse(await kubectlOk(['get', 'md', 'defaults', '-n', ns, '-o', 'json'])) as {
      spec: ModelDeploymentSpec;
    };
    expect(obj.spec.model.format).toBe('onnx');
    expect(obj.spec.runtime?.batching).toEqual({ maxBatchSize: 32, maxQueueDelayMs: 0, maxQueueSize: 1024 });
    expect(obj.spec.runtime?.threads).toEqual({ intraOp: 0, interOp: 0 });
    const local = withDefaults({ model: { version: '1', storageUri: 'file:///models/m.onnx' } });
    expect(local).toEqual(obj.spec);
  });

  it('accepts every security field (a real cosign-style public key), with the same defaults as withDefaults()', async () => {
    const spec: ModelDeploymentSpec = {
      model: {
        version: '1',
        storageUri: 'https://models.example.com/m.onnx',
        sha256: 'a'.repeat(64),
        requireDigest: true,
        caBundle: { configMapRef: { name: 'private-ca' } },
        signature: { publicKey: cosignPublicKey, signature: 'MEUCIQDx+/abc==' },
      },
      auth: {
        apiKeys: { secretRef: { name: 'iris-keys' } },
        oidc: {
          issuer: 'https://issuer.example.com',
          audiences: ['iris'],
          requiredClaims: { groups: 'ml-clients' },
        },
      },
      tls: { secretRef: { name: 'iris-tls' } },
      modelCard: {
        owner: 'ml-team',
        intendedUse: 'Classify iris flowers.',
        evaluationMetrics: { accuracy: 0.97 },
        license: 'Apache-2.0',
      },
    };
    await kubectlOk(['apply', '-n', ns, '-f', '-'], JSON.stringify({ ...mdObject('secured'), spec }));
    const obj = JSON.parse(await kubectlOk(['get', 'md', 'secured', '-n', ns, '-o', 'json'])) as {
      spec: ModelDeploymentSpec;
    };
    expect(obj.spec.auth?.oidc?.clockSkew).toBe('60s');
    expect(obj.spec.tls?.metrics).toBe(false);
    expect(obj.spec.model.caBundle?.configMapRef.key).toBe('ca.crt');
    expect(withDefaults(spec)).toEqual(obj.spec);
  });
});

describe('printer columns', () => {
  it('shows MODEL, STABLE, CANARY, WEIGHT, PHASE, READY and AGE, filled from status', async () => {
    await kubectlOk(
      ['apply', '-n', ns, '-f', '-'],
      md('columns', valid.replace('version: "1"', 'version: "1"\n    name: churn')),
    );
    const before = await kubectlOk(['get', 'md', 'columns', '-n', ns]);
    expect(before.split('\n')[0]!.split(/\s+/)).toEqual([
      'NAME',
      'MODEL',
      'STABLE',
      'CANARY',
      'WEIGHT',
      'PHASE',
      'READY',
      'AGE',
    ]);
    // Status is written through the status subresource, as the operator does.
    const api = kubeConfig().makeApiClient(k8s.CustomObjectsApi);
    const now = new Date().toISOString();
    await api.patchNamespacedCustomObjectStatus(
      {
        group: 'modelship.dev',
        version: 'v1alpha1',
        namespace: ns,
        plural: 'modeldeployments',
        name: 'columns',
        body: {
          status: {
            phase: 'Progressing',
            stable: { revision: 'abc123', version: '1', weight: 90, readyReplicas: 2 },
            canary: {
              revision: 'def456',
              version: '2',
              weight: 10,
              readyReplicas: 1,
              step: 1,
              steps: 6,
              startedAt: now,
              analysis: { verdict: 'Pending', failures: 0 },
            },
            conditions: [
              { type: 'Ready', status: 'True', reason: 'Serving', message: 'ok', lastTransitionTime: now },
              {
                type: 'Drifted',
                status: 'True',
                reason: 'InputDrift',
                message: 'x',
                lastTransitionTime: now,
              },
            ],
            feedback: { rows: 20, accuracy: 0.7, evaluatedAt: now },
          },
        },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const row = (await kubectlOk(['get', 'md', 'columns', '-n', ns, '--no-headers'])).trim().split(/\s+/);
    expect(row.slice(0, 7)).toEqual(['columns', 'churn', '1', '2', '10', 'Progressing', 'True']);
    // -o wide adds what the serving pods watch.
    const wide = (await kubectlOk(['get', 'md', 'columns', '-n', ns, '-o', 'wide', '--no-headers']))
      .trim()
      .split(/\s+/);
    expect(wide.slice(-2)).toEqual(['True', '0.7']);
  });

  it('keeps status out of reach of spec writes (status subresource)', async () => {
    const r = await kubectl([
      'patch',
      'md',
      'columns',
      '-n',
      ns,
      '--type=merge',
      '-p',
      '{"status":{"phase":"Failed"}}',
    ]);
    expect(r.code).toBe(0); // accepted, but the status part is ignored on the main resource
    expect(await kubectlOk(['get', 'md', 'columns', '-n', ns, '-o', 'jsonpath={.status.phase}'])).toBe(
      'Progressing',
    );
  });
});

describe('kubectl explain', () => {
  it.each([
    ['modeldeployment.spec.model.storageUri', /file:\/\/.*s3:\/\/bucket\/key.*pvc:\/\/claim\/path/s],
    ['modeldeployment.spec.model.format', /Only "onnx" is supported/],
    ['modeldeployment.spec.runtime.batching.maxQueueDelayMs', /oldest queued request/],
    ['modeldeployment.spec.runtime.autoscaling', /HorizontalPodAutoscaler/],
    ['modeldeployment.spec.runtime.affinity.nodeAffinity', /node affinity scheduling rules/i],
    ['modeldeployment.status.conditions', /Ready.*Progressing.*Degraded/s],
    ['modeldeployment.spec.networkPolicy.from', /Who may call inference.*Default: every pod of/s],
  ])('%s has a description', async (path, text) => {
    const out = (await kubectlOk(['explain', path])).replace(/\s+/g, ' ');
    expect(out).toMatch(text);
  });
});

describe('validation at the API server', () => {
  const cases: [string, string, RegExp][] = [
    [
      'an unknown URI scheme',
      `  model: {version: "1", storageUri: "gs://bucket/m.onnx"}`,
      /spec\.model\.storageUri: .*scheme file:\/\/, http:\/\/, https:\/\/, s3:\/\/ or pvc:\/\//,
    ],
    [
      'a pvc URI without a path',
      `  model: {version: "1", storageUri: "pvc://claim"}`,
      /spec\.model\.storageUri: .*pvc:\/\/<claim>\/<path>/,
    ],
    [
      'a format other than onnx',
      `  model: {version: "1", storageUri: "file:///m.pt", format: pytorch}`,
      /spec\.model\.format: .*only ONNX models are supported/,
    ],
    [
      'an empty version',
      `  model: {version: "", storageUri: "file:///m.onnx"}`,
      /spec\.model\.version: .*at least 1 chars long/,
    ],
    [
      'a version that is not a label value',
      `  model: {version: "1.0 beta", storageUri: "file:///m.onnx"}`,
      /spec\.model\.version: .*only letters, digits/,
    ],
    ['a missing model', `  runtime: {replicas: 1}`, /spec\.model: Required value/],
    ['a missing storageUri', `  model: {version: "1"}`, /spec\.model\.storageUri: Required value/],
    [
      'a malformed sha256',
      `  model: {version: "1", storageUri: "file:///m.onnx", sha256: "ABC"}`,
      /spec\.model\.sha256: .*64 lowercase hexadecimal/,
    ],
    [
      'negative replicas',
      `${valid}\n  runtime: {replicas: -1}`,
      /spec\.runtime\.replicas: .*greater than or equal to 0/,
    ],
    [
      'a zero batch size',
      `${valid}\n  runtime: {batching: {maxBatchSize: 0}}`,
      /spec\.runtime\.batching\.maxBatchSize: .*greater than or equal to 1/,
    ],
    [
      'a queue smaller than a batch',
      `${valid}\n  runtime: {batching: {maxBatchSize: 64, maxQueueSize: 8}}`,
      /spec\.runtime\.batching\.maxQueueSize: .*must be at least maxBatchSize/,
    ],
    [
      'minReplicas above maxReplicas',
      `${valid}\n  runtime: {autoscaling: {minReplicas: 5, maxReplicas: 2}}`,
      /spec\.runtime\.autoscaling\.minReplicas: .*must not exceed maxReplicas/,
    ],
    [
      'autoscaling without maxReplicas',
      `${valid}\n  runtime: {autoscaling: {minReplicas: 2}}`,
      /spec\.runtime\.autoscaling\.maxReplicas: Required value/,
    ],
    [
      'replicas together with autoscaling',
      `${valid}\n  runtime: {replicas: 3, autoscaling: {maxReplicas: 5}}`,
      /spec\.runtime\.replicas: .*mutually exclusive/,
    ],
    [
      'a CPU target above 100%',
      `${valid}\n  runtime: {autoscaling: {maxReplicas: 5, targetCPUUtilizationPercentage: 150}}`,
      /spec\.runtime\.autoscaling\.targetCPUUtilizationPercentage: .*less than or equal to 100/,
    ],
    [
      'negative threads',
      `${valid}\n  runtime: {threads: {intraOp: -2}}`,
      /spec\.runtime\.threads\.intraOp: .*greater than or equal to 0/,
    ],
    [
      'a resource quantity that is not one',
      `${valid}\n  runtime: {resources: {limits: {cpu: lots}}}`,
      /spec\.runtime\.resources\.limits\.cpu: .*should match/,
    ],
    [
      'an unknown field',
      `  model: {version: "1", storageUri: "file:///m.onnx", foo: 1}`,
      /unknown field "spec\.model\.foo"/,
    ],
    [
      'an unknown field deep in an embedded Kubernetes type',
      `${valid}\n  runtime: {tolerations: [{key: a, bogus: 1}]}`,
      /unknown field "spec\.runtime\.tolerations\[0\]\.bogus"/,
    ],
    ['a string where a number belongs', `${valid}\n  runtime: {replicas: "two"}`, /spec\.runtime\.replicas/],
    [
      'a variable in runtime.env that the operator sets from a field',
      `${valid}\n  runtime: {env: [{name: A, value: b}, {name: MODELSHIP_MAX_BATCH_SIZE, value: "1"}, {name: MODELSHIP_MODEL_URI, value: x}]}`,
      /spec\.runtime\.env\[1\]: .*MODELSHIP_MAX_BATCH_SIZE is set by the operator from spec\.runtime\.batching\.maxBatchSize: remove it from spec\.runtime\.env.*spec\.runtime\.env\[2\]: .*MODELSHIP_MODEL_URI is set by the operator from spec\.model\.storageUri/s,
    ],
    [
      'a shadow step without strategy Canary',
      `${valid}\n  rollout: {shadow: {duration: 1m}}`,
      /spec\.rollout\.shadow: .*shadow is only for strategy Canary/,
    ],
    [
      'a shadow step with a provider that cannot compare answers',
      `${valid}\n  rollout: {strategy: Canary, shadow: {}}\n  traffic: {provider: Istio}`,
      /spec\.rollout\.shadow: .*needs traffic\.provider Router/,
    ],
    [
      'an agreement above 1',
      `${valid}\n  rollout: {strategy: Canary, shadow: {agreement: 95}}`,
      /spec\.rollout\.shadow\.agreement: .*less than or equal to 1/,
    ],
    [
      'accuracy with max (higher is better)',
      `${valid}\n  rollout: {strategy: Canary}\n  analysis: {metrics: [{name: accuracy, max: 0.9}]}`,
      /spec\.analysis\.metrics\[0\]: .*accuracy takes min/,
    ],
    [
      'a metric with both min and relativeToStable',
      `${valid}\n  rollout: {strategy: Canary}\n  analysis: {metrics: [{name: accuracy, min: 0.9, relativeToStable: 0.01}]}`,
      /spec\.analysis\.metrics\[0\]: .*exactly one of max, min/,
    ],
    [
      'onDrift without drift monitoring',
      `${valid}\n  retraining: {schedule: "@daily", output: "pvc://runs/x", onDrift: true, template: {image: t}}`,
      /spec\.retraining\.onDrift: .*needs monitoring\.drift/,
    ],
    [
      'a drift threshold of 0',
      `${valid}\n  monitoring: {drift: {threshold: 0}}`,
      /spec\.monitoring\.drift\.threshold: .*must be greater than 0/,
    ],
    [
      'payload logs to http without a url',
      `${valid}\n  logging: {payloads: {sink: http}}`,
      /spec\.logging\.payloads\.url: .*url is set exactly when sink is http/,
    ],
    [
      'a payload sample above 1',
      `${valid}\n  logging: {payloads: {sample: 2}}`,
      /spec\.logging\.payloads\.sample: .*less than or equal to 1/,
    ],
    [
      'requireDigest with a remote model and no sha256',
      `  model: {version: "1", storageUri: "https://models.example.com/m.onnx", requireDigest: true}`,
      /spec\.model\.sha256: .*requireDigest: an http:\/\/, https:\/\/ or s3:\/\/ storageUri needs sha256/,
    ],
    [
      'requireDigest with an s3 model and no sha256',
      `  model: {version: "1", storageUri: "s3://bucket/m.onnx", requireDigest: true}`,
      /spec\.model\.sha256: .*needs sha256/,
    ],
    [
      'auth with neither apiKeys nor oidc',
      `${valid}\n  auth: {}`,
      /spec\.auth: .*auth needs apiKeys, oidc or both/,
    ],
    [
      'an api key Secret name that is not a name',
      `${valid}\n  auth: {apiKeys: {secretRef: {name: "Keys_1"}}}`,
      /spec\.auth\.apiKeys\.secretRef\.name: .*valid Secret name/,
    ],
    [
      'an OIDC issuer over http',
      `${valid}\n  auth: {oidc: {issuer: "http://issuer.example.com", audiences: [iris]}}`,
      /spec\.auth\.oidc\.issuer: .*must be an https:\/\/ URL/,
    ],
    [
      'OIDC without audiences',
      `${valid}\n  auth: {oidc: {issuer: "https://issuer.example.com", audiences: []}}`,
      /spec\.auth\.oidc\.audiences: .*at least 1 items/,
    ],
    [
      'an OIDC audience with a comma',
      `${valid}\n  auth: {oidc: {issuer: "https://issuer.example.com", audiences: ["a,b"]}}`,
      /spec\.auth\.oidc\.audiences\[0\]: .*may not contain ","/,
    ],
    [
      'an OIDC clock skew above 5m',
      `${valid}\n  auth: {oidc: {issuer: "https://issuer.example.com", audiences: [iris], clockSkew: 10m}}`,
      /spec\.auth\.oidc\.clockSkew: .*must be at most 5m/,
    ],
    [
      'an OIDC clock skew that is not a duration',
      `${valid}\n  auth: {oidc: {issuer: "https://issuer.example.com", audiences: [iris], clockSkew: soon}}`,
      /spec\.auth\.oidc\.clockSkew: .*should match/,
    ],
    ['tls without a Secret', `${valid}\n  tls: {metrics: true}`, /spec\.tls\.secretRef: Required value/],
    [
      'a signature with both signature and signatureUri',
      `  model:\n    version: "1"\n    storageUri: file:///m.onnx\n    signature:\n      signature: "MEUCIQ=="\n      signatureUri: "file:///m.onnx.sig"\n      publicKey: ${block(cosignPublicKey, 8)}`,
      /spec\.model\.signature\.signature: .*exactly one of signature and signatureUri/,
    ],
    [
      'a signature with neither signature nor signatureUri',
      `  model:\n    version: "1"\n    storageUri: file:///m.onnx\n    signature:\n      publicKey: ${block(cosignPublicKey, 8)}`,
      /spec\.model\.signature\.signature: .*exactly one of signature and signatureUri/,
    ],
    [
      'a public key that is not PEM',
      `  model: {version: "1", storageUri: "file:///m.onnx", signature: {publicKey: "ssh-ed25519 AAAA", signature: "MEUCIQ=="}}`,
      /spec\.model\.signature\.publicKey: .*must be a PEM public key/,
    ],
    [
      'a private key where the public key belongs',
      `  model:\n    version: "1"\n    storageUri: file:///m.onnx\n    signature:\n      signature: "MEUCIQ=="\n      publicKey: ${block(privateKey, 8)}`,
      /spec\.model\.signature\.publicKey: .*is a private key: give the public key/,
    ],
    [
      'a signature that is not base64',
      `  model:\n    version: "1"\n    storageUri: file:///m.onnx\n    signature:\n      signature: "not base64!"\n      publicKey: ${block(cosignPublicKey, 8)}`,
      /spec\.model\.signature\.signature: .*must be base64/,
    ],
    [
      'a signatureUri with an unknown scheme',
      `  model:\n    version: "1"\n    storageUri: file:///m.onnx\n    signature:\n      signatureUri: "gs://b/m.sig"\n      publicKey: ${block(cosignPublicKey, 8)}`,
      /spec\.model\.signature\.signatureUri: .*must be a URI with scheme/,
    ],
    [
      'a CA bundle together with NODE_EXTRA_CA_CERTS in runtime.env',
      `  model: {version: "1", storageUri: "https://m.example.com/m.onnx", caBundle: {configMapRef: {name: ca}}}\n  runtime: {env: [{name: NODE_EXTRA_CA_CERTS, value: /x.pem}]}`,
      /spec\.model\.caBundle: .*model\.caBundle sets NODE_EXTRA_CA_CERTS: remove it from runtime\.env/,
    ],
    [
      'a variable in runtime.env that spec.tls sets',
      `${valid}\n  runtime: {env: [{name: MODELSHIP_TLS_DIR, value: /tls}]}`,
      /spec\.runtime\.env\[0\]: .*MODELSHIP_TLS_DIR is set by the operator from spec\.tls/,
    ],
    [
      'a model card metric that is not a number',
      `${valid}\n  modelCard: {evaluationMetrics: {accuracy: high}}`,
      /spec\.modelCard\.evaluationMetrics\.accuracy: .*must be of type number/,
    ],
    [
      'a network peer without a selector',
      `${valid}\n  networkPolicy: {from: [{}]}`,
      /spec\.networkPolicy\.from\[0\]: .*needs a namespaceSelector, a podSelector or both/,
    ],
    [
      'a label requirement In without values',
      `${valid}\n  networkPolicy: {metricsFrom: [{namespaceSelector: {matchExpressions: [{key: team, operator: In}]}}]}`,
      /spec\.networkPolicy\.metricsFrom\[0\]\.namespaceSelector\.matchExpressions\[0\]: .*values are required for In and NotIn/,
    ],
    [
      'a serviceAccountName that is not a name',
      `${valid}\n  runtime: {serviceAccountName: "Not_Valid"}`,
      /spec\.runtime\.serviceAccountName: .*valid ServiceAccount name/,
    ],
  ];

  it.each(cases)('refuses %s, naming the field', async (_what, spec, message) => {
    const r = await kubectl(['apply', '-n', ns, '-f', '-'], md('bad', spec));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  it('refuses a name that cannot name Services, naming metadata.name', async () => {
    const r = await kubectl(['apply', '-n', ns, '-f', '-'], md('x'.repeat(53), valid));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/metadata\.name: .*at most 52 characters/);
  });

  it('stored none of the refused objects', async () => {
    const r = await kubectl(['get', 'md', 'bad', '-n', ns]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/NotFound|not found/);
  });
});
