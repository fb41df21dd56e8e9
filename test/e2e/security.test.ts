/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 *
 * Security on the real node (issue 15), as a user sets it up: a ModelDeployment behind its router with API keys
 * from a Secret, TLS from a kubernetes.io/tls Secret signed by a private CA (made here), and a model card. A client
 * that trusts the CA and holds a key is answered over https; one without a key gets 401 with a challenge; one that
 * does not trust the CA never completes a handshake; a key added to the Secret works without a restart. A model
 * whose signature does not verify never serves, and its status says why.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type * as k8s from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { promisify } from 'node:util';
import type { ModelDeployment } from '../../operator/src/api/v1alpha1/schema.js';
import { createTestCa, type TestCa } from '../../server-image/test/support/pki.js';
import { https, httpsFailure } from '../../server-image/test/support/tls-client.js';
import { irisModel } from '../fixtures/onnx/models.js';
import { eventually, installCrds, kubeconfigPath, repoRoot } from '../support/cluster.js';
import { installRbac, operatorKubeconfig, startOperator, type OperatorProcess } from '../support/operator.js';
import { CanaryModel } from './canary-model.js';
import { clusterIp, core, irisRequest, writeModel } from './support.js';

const run = promisify(execFile);
let operator: OperatorProcess;
let ca: TestCa;
const body = JSON.stringify(irisRequest([[5.1, 3.5, 1.4, 0.2]]));

beforeAll(async () => {
  await installCrds();
  await installRbac();
  operator = await startOperator({ kubeconfig: await operatorKubeconfig(), args: ['--no-leader-elect'] });
  writeModel('security-v1.onnx', irisModel());
  ca = await createTestCa('Modelship e2e CA');
}, 300_000);

afterAll(async () => {
  await operator?.stop();
  await ca?.remove();
}, 60_000);

const secret = (name: string, type: string, data: Record<string, string>): k8s.V1Secret => ({
  metadata: { name },
  type,
  stringData: data,
});

describe('a ModelDeployment with API keys, TLS and a model card', () => {
  let m: CanaryModel;
  let url: string;
  let servername: string;

  beforeAll(async () => {
    m = await CanaryModel.create('e2e-security');
    servername = `iris.${m.ns}.svc`;
    const pair = await ca.issue([servername, `iris.${m.ns}.svc.cluster.local`]);
    await core.createNamespacedSecret({
      namespace: m.ns,
      body: secret('iris-tls', 'kubernetes.io/tls', {
        'tls.crt': pair.cert,
        'tls.key': pair.key,
        'ca.crt': ca.ca,
      }),
    });
    await core.createNamespacedSecret({
      namespace: m.ns,
      body: secret('iris-keys', 'Opaque', { 'batch-scoring': 'key-one' }),
    });
    await m.deploy('1', 'security-v1.onnx', {
      traffic: { provider: 'Router' },
      runtime: { replicas: 1 },
      auth: { apiKeys: { secretRef: { name: 'iris-keys' } } },
      tls: { secretRef: { name: 'iris-tls' } },
      modelCard: {
        owner: 'risk-team',
        intendedUse: 'Sorting iris flowers in the e2e tier.',
        license: 'Apache-2.0',
      },
    });
    await m.until(async () => (await m.get()).status?.phase === 'Ready', 240_000);
    // The router fronts the Service once the ModelDeployment is Ready behind it.
    await m.until(
      async () =>
        (await core.readNamespacedService({ namespace: m.ns, name: 'iris' })).spec?.selector?.[
          'app.kubernetes.io/component'
        ] === 'router',
      180_000,
    );
    // The Service keeps its port (80) and speaks TLS on it.
    url = `https://${await clusterIp(m.ns, 'iris')}:80/v2/models/iris`;
    await eventually(
      async () => {
        const r = await https(`${url}/infer`, {
          ca: ca.ca,
          servername,
          method: 'POST',
          body,
          headers: { authorization: 'Bearer key-one' },
          timeoutMs: 5000,
        });
        // Answered by the router (it names the revision), not by a pod the Service selected a moment before.
        return r.status === 200 && r.headers['x-modelship-revision'] !== undefined;
      },
      120_000,
      500,
    );
  }, 600_000);

  const call = (headers: Record<string, string>, path = '/infer', method = 'POST') =>
    https(`${url}${path}`, {
      ca: ca.ca,
      servername,
      method,
      ...(method === 'POST' ? { body } : {}),
      headers,
      timeoutMs: 10_000,
    });

  it('answers a client that trusts the CA and sends a key, over https through the router to the pods', async () => {
    const r = await call({ 'x-api-key': 'key-one' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ model_name: 'iris' });
    // The router answered (it names the revision) and reached the revision over https (no 502).
    expect(r.headers['x-modelship-revision']).toBeDefined();
  });

  it('refuses a missing or wrong key with 401 and a challenge, and says nothing more', async () => {
    for (const headers of [{}, { authorization: 'Bearer not-a-key' }] as Record<string, string>[]) {
      const r = await call(headers);
      expect(r.status).toBe(401);
      expect(r.headers['www-authenticate']).toMatch(/^Bearer realm="modelship"/);
      expect(JSON.parse(r.body)).toEqual({ error: 'unauthorized' });
    }
  });

  it('never completes a handshake with a client that does not trust the CA', async () => {
    const err = await httpsFailure(`${url}/infer`);
    expect(err.code).toMatch(/CERT|SELF_SIGNED|UNABLE_TO_VERIFY/);
  });

  it('serves the model card in the metadata, and kubectl modelship card prints it', async () => {
    const r = await call({ 'x-api-key': 'key-one' }, '', 'GET');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({
      parameters: { model_card: { owner: 'risk-team', license: 'Apache-2.0' } },
    });
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'operator/src/plugin/cli.ts',
        `--kubeconfig=${kubeconfigPath()}`,
        '-n',
        m.ns,
        'card',
        'iris',
      ],
      { cwd: repoRoot },
    );
    expect(stdout).toMatch(/risk-team/);
    expect(stdout).toMatch(/Sorting iris flowers in the e2e tier\./);
  });

  it('takes a key added to the Secret without restarting a pod, and attributes calls to it', async () => {
    const keys = await core.readNamespacedSecret({ namespace: m.ns, name: 'iris-keys' });
    keys.data = { ...keys.data, 'nightly-report': Buffer.from('key-two').toString('base64') };
    await core.replaceNamespacedSecret({ namespace: m.ns, name: 'iris-keys', body: keys });
    // The kubelet refreshes a mounted Secret within its sync period (about a minute).
    await eventually(async () => (await call({ 'x-api-key': 'key-two' })).status === 200, 240_000, 1000);
    expect((await call({ 'x-api-key': 'key-one' })).status).toBe(200);
    const pods = await core.listNamespacedPod({
      namespace: m.ns,
      labelSelector: 'app.kubernetes.io/component=model-server',
    });
    for (const p of pods.items)
      for (const c of p.status?.containerStatuses ?? []) expect(c.restartCount).toBe(0);
    // The access log names the caller by its key's name, never the key.
    const logs = await Promise.all(
      pods.items.map((p) => core.readNamespacedPodLog({ namespace: m.ns, name: p.metadata!.name! })),
    );
    expect(logs.join('\n')).toMatch(/"caller":"nightly-report"/);
    expect(logs.join('\n')).not.toMatch(/key-two/);
  });
});

describe('a model whose signature does not verify', () => {
  it('never serves, and the status says why', async () => {
    const m = await CanaryModel.create('e2e-signature');
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    // Signed, then changed: the file that would load is not the file that was signed.
    const signed = irisModel();
    const signature = sign('sha256', signed, privateKey).toString('base64');
    const tampered = Uint8Array.from(signed);
    tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 1;
    writeModel('security-tampered.onnx', tampered);
    await m.deploy('1', 'security-tampered.onnx', {
      runtime: { replicas: 1 },
      model: {
        version: '1',
        storageUri: 'pvc://models/security-tampered.onnx',
        signature: { publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), signature },
      },
    });
    // The revision fails at the pod's first exit; the conditions quote the server's reason.
    const md = await m.until(async () => {
      const x: ModelDeployment = await m.get();
      return x.status?.conditions?.some((k) => /signature verification failed/.test(k.message ?? '')) && x;
    }, 240_000);
    expect(md.status?.phase).toBe('Failed');
    expect((await m.events()).join('\n')).toMatch(/SignatureVerificationFailed/);
    expect(md.status?.phase).not.toBe('Ready');
  }, 300_000);
});
