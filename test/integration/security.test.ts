/**
 * The security fields through the operator on a real control plane: the pod templates it writes for spec.auth,
 * spec.tls, spec.model.caBundle/signature and spec.modelCard are accepted by the API server as they are, the router
 * reaches TLS revisions over https, --require-model-digest keeps a remote model without sha256 from rolling out, and
 * the operator may get a Secret by name but never list or watch Secrets.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import type { ModelDeployment } from '../../operator/src/api/v1alpha1/schema.js';
import {
  createNamespace,
  eventually,
  installCrds,
  kubeConfig,
  kubectl,
  kubectlOk,
} from '../support/cluster.js';
import {
  installRbac,
  operatorKubeconfig,
  operatorUser,
  startOperator,
  type OperatorProcess,
} from '../support/operator.js';

let operator: OperatorProcess;
let ns: string;
const kc = kubeConfig();
const apps = kc.makeApiClient(k8s.AppsV1Api);
const core = kc.makeApiClient(k8s.CoreV1Api);

const publicKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString();

beforeAll(async () => {
  await installCrds();
  await installRbac();
  ns = await createNamespace('security');
  operator = await startOperator({
    kubeconfig: await operatorKubeconfig(),
    args: ['--no-leader-elect', '--require-model-digest'],
  });
}, 60_000);

afterAll(async () => {
  expect(await operator?.stop()).toBe(0);
}, 30_000);

async function apply(name: string, spec: object): Promise<void> {
  const body = { apiVersion: 'modelship.dev/v1alpha1', kind: 'ModelDeployment', metadata: { name }, spec };
  await kubectlOk(['apply', '-n', ns, '-f', '-'], JSON.stringify(body));
}

async function getMd(name: string): Promise<ModelDeployment> {
  return JSON.parse(await kubectlOk(['get', 'md', name, '-n', ns, '-o', 'json'])) as ModelDeployment;
}

async function deploymentsOf(name: string): Promise<k8s.V1Deployment[]> {
  return (
    await apps.listNamespacedDeployment({ namespace: ns, labelSelector: `modelship.dev/deployment=${name}` })
  ).items;
}

describe('--require-model-digest', () => {
  it('rolls nothing out for a remote model without sha256: Ready False DigestRequired and a Warning Event', async () => {
    await apply('unpinned', {
      model: { version: '1', storageUri: 'https://models.example.com/m.onnx?sig=secret' },
    });
    const ready = await eventually(async () => {
      const c = (await getMd('unpinned')).status?.conditions?.find((x) => x.type === 'Ready');
      return c?.reason === 'DigestRequired' && c;
    });
    expect(ready.status).toBe('False');
    expect(ready.message).toContain('https://models.example.com/m.onnx has no sha256');
    expect(ready.message).not.toContain('secret');
    expect((await getMd('unpinned')).status?.phase).toBe('Failed');
    const events = await core.listNamespacedEvent({
      namespace: ns,
      fieldSelector: 'involvedObject.name=unpinned,involvedObject.kind=ModelDeployment',
    });
    expect(events.items.map((e) => [e.type, e.reason])).toEqual([['Warning', 'DigestRequired']]);
    expect(await deploymentsOf('unpinned')).toEqual([]);
  });
});

describe('a ModelDeployment with every security field', () => {
  let server: k8s.V1Container;
  let pod: k8s.V1PodTemplateSpec;
  beforeAll(async () => {
    await apply('secured', {
      model: {
        version: '1',
        storageUri: 'https://models.example.com/m.onnx',
        sha256: 'a'.repeat(64),
        caBundle: { configMapRef: { name: 'private-ca' } },
        signature: { publicKey, signatureUri: 'https://models.example.com/m.onnx.sig' },
      },
      auth: {
        apiKeys: { secretRef: { name: 'secured-keys' } },
        oidc: { issuer: 'https://issuer.example.com', audiences: ['secured'] },
      },
      tls: { secretRef: { name: 'secured-tls' }, metrics: true },
      modelCard: { owner: 'ml-team', evaluationMetrics: { accuracy: 0.97 } },
      rollout: { strategy: 'Canary' },
    });
    const revision = await eventually(async () => {
      const ds = (await deploymentsOf('secured')).filter(
        (d) => d.metadata?.labels?.['modelship.dev/revision'],
      );
      return ds.length === 1 && ds[0]!;
    });
    pod = revision.spec!.template;
    server = pod.spec!.containers[0]!;
  }, 60_000);

  it('mounts the Secrets and the CA bundle read-only, as the API server stored them', () => {
    expect(pod.spec!.volumes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          name: 'auth-api-keys',
          secret: expect.objectContaining({ secretName: 'secured-keys', defaultMode: 0o440 }),
        }),
        expect.objectContaining({
          name: 'tls',
          secret: expect.objectContaining({ secretName: 'secured-tls', defaultMode: 0o440 }),
        }),
        expect.objectContaining({ name: 'ca-bundle' }),
      ]),
    );
    expect(server.volumeMounts!.filter((m) => m.readOnly).map((m) => m.name)).toEqual(
      expect.arrayContaining(['auth-api-keys', 'tls', 'ca-bundle']),
    );
    const env = Object.fromEntries(server.env!.map((e) => [e.name, e.value]));
    expect(env).toMatchObject({
      MODELSHIP_AUTH_API_KEYS_DIR: '/etc/modelship/auth/api-keys',
      MODELSHIP_AUTH_OIDC_ISSUER: 'https://issuer.example.com',
      MODELSHIP_TLS_DIR: '/etc/modelship/tls',
      MODELSHIP_METRICS_TLS: 'true',
      MODELSHIP_MODEL_PUBLIC_KEY: publicKey,
      MODELSHIP_MODEL_SIGNATURE_URI: 'https://models.example.com/m.onnx.sig',
      MODELSHIP_MODEL_CARD: '{"evaluationMetrics":{"accuracy":0.97},"owner":"ml-team"}',
      NODE_EXTRA_CA_CERTS: '/etc/modelship/ca/ca.crt',
    });
    expect(server.readinessProbe?.httpGet?.scheme).toBe('HTTPS');
    expect(pod.metadata!.annotations!['prometheus.io/scheme']).toBe('https');
  });

  it('has the router terminate TLS and reach the revision over https, verified for secured.<namespace>.svc', async () => {
    const router = await eventually(async () =>
      (await deploymentsOf('secured')).find((d) => d.metadata?.name === 'secured-router'),
    );
    const c = router.spec!.template.spec!.containers[0]!;
    expect(c.env).toEqual(
      expect.arrayContaining([
        { name: 'MODELSHIP_TLS_DIR', value: '/etc/modelship/tls' },
        { name: 'MODELSHIP_ROUTER_BACKEND_CA_FILE', value: '/etc/modelship/tls/ca.crt' },
      ]),
    );
    const cm = await core.readNamespacedConfigMap({ namespace: ns, name: 'secured-router' });
    const table = JSON.parse(cm.data!['routes.json']!) as {
      backends: { url: string; serverName?: string }[];
    };
    expect(table.backends).toEqual([
      expect.objectContaining({
        url: expect.stringMatching(/^https:\/\/secured-/),
        serverName: `secured.${ns}.svc`,
      }),
    ]);
  });
});

describe("the operator's access to Secrets", () => {
  it.each([
    ['get', 'yes'],
    ['list', 'no'],
    ['watch', 'no'],
    ['create', 'no'],
  ])('%s: %s', async (verb, answer) => {
    const r = await kubectl(['auth', 'can-i', verb, 'secrets', '-n', ns, `--as=${operatorUser}`]);
    expect(r.stdout.trim()).toBe(answer);
  });
});
