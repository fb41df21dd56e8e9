/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 *
 * Real pods on the local node load a real ONNX model from pvc://, http:// and s3:// (the stores run in the
 * cluster) and answer V2 inference through their Service: by ClusterIP from the host, by DNS name from another
 * pod, and through kubectl port-forward. Every answer equals in-process onnxruntime's.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import * as ort from 'onnxruntime-node';
import { run } from '../../cluster/src/exec.js';
import { freePort } from '../../cluster/src/process.js';
import { binaryPaths } from '../../cluster/src/binaries.js';
import { irisModel } from '../fixtures/onnx/models.js';
import {
  createNamespace,
  eventually,
  installCrds,
  kubeconfigPath,
  kubectl,
  kubectlOk,
} from '../support/cluster.js';
import { installRbac, operatorKubeconfig, startOperator, type OperatorProcess } from '../support/operator.js';
import {
  applyYaml,
  clusterIp,
  core,
  fileServer,
  infer,
  irisRequest,
  modelClaim,
  s3Store,
  waitForPhase,
  writeModel,
  type InferResponse,
} from './support.js';

let operator: OperatorProcess;
let ns: string;
const rows = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
  [5.9, 3.0, 4.2, 1.5],
];
let expected: { probabilities: number[]; label: number[] };

const sources = () => ({
  'from-pvc': { storageUri: 'pvc://models/iris.onnx', env: [] as object[] },
  'from-http': { storageUri: `http://models.${ns}.svc.cluster.local/iris.onnx`, env: [] as object[] },
  'from-s3': {
    storageUri: 's3://models/iris.onnx',
    env: [
      { name: 'MODELSHIP_S3_ENDPOINT', value: `http://s3.${ns}.svc.cluster.local:9000` },
      { name: 'AWS_ACCESS_KEY_ID', value: 'e2e' },
      { name: 'AWS_SECRET_ACCESS_KEY', value: 'e2e-secret' },
      { name: 'AWS_REGION', value: 'us-east-1' },
    ],
  },
});

beforeAll(async () => {
  await installCrds();
  await installRbac();
  operator = await startOperator({ kubeconfig: await operatorKubeconfig(), args: ['--no-leader-elect'] });
  ns = await createNamespace('e2e-serve');
  const model = irisModel();
  writeModel('iris.onnx', model);

  const session = await ort.InferenceSession.create(model);
  const out = await session.run({
    features: new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 4]),
  });
  expected = {
    probabilities: Array.from(out.probabilities!.data as Float32Array),
    label: Array.from(out.label!.data as BigInt64Array, Number),
  };

  await modelClaim(ns, 'models');
  await fileServer(ns);
  const s3 = new S3Client({
    endpoint: await s3Store(ns),
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'e2e', secretAccessKey: 'e2e-secret' },
  });
  // kube-proxy programs a new Service within a moment; until then the ClusterIP refuses connections.
  await eventually(
    async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'models' })).catch(() => undefined); // the image creates it too
      await s3.send(new PutObjectCommand({ Bucket: 'models', Key: 'iris.onnx', Body: model }));
      return true;
    },
    30_000,
    500,
  );

  await applyYaml(
    ns,
    Object.entries(sources()).map(([name, s]) => ({
      apiVersion: 'modelship.dev/v1alpha1',
      kind: 'ModelDeployment',
      metadata: { name },
      spec: { model: { version: '1', storageUri: s.storageUri }, runtime: { env: s.env } },
    })),
  );
  for (const name of Object.keys(sources())) await waitForPhase(ns, name, 'Ready');
}, 300_000);

afterAll(async () => {
  await operator?.stop();
});

function expectIris(r: InferResponse, name: string): void {
  expect(r.model_name).toBe(name);
  const probabilities = r.outputs.find((o) => o.name === 'probabilities')!;
  const label = r.outputs.find((o) => o.name === 'label')!;
  expect(probabilities.shape).toEqual([3, 3]);
  expect(label.data.map(Number)).toEqual(expected.label);
  probabilities.data.forEach((v, i) => expect(v).toBeCloseTo(expected.probabilities[i]!, 5));
}

describe('models served from every store', () => {
  it.each(['from-pvc', 'from-http', 'from-s3'])(
    '%s answers through its Service ClusterIP like in-process onnxruntime',
    async (name) => {
      const ip = await clusterIp(ns, name);
      // Endpoints reach kube-proxy a moment after the pods turn ready; until then the ClusterIP refuses connections.
      const r = await eventually(
        () => infer(`http://${ip}/v2/models/${name}/infer`, irisRequest(rows)),
        15_000,
        200,
      );
      expectIris(r, name);
    },
  );

  it('runs real pods: Running, ready, non-root, with the model loaded from the store', async () => {
    const pods = (
      await core.listNamespacedPod({ namespace: ns, labelSelector: 'app.kubernetes.io/managed-by=modelship' })
    ).items;
    expect(pods).toHaveLength(3);
    for (const p of pods) {
      expect(p.status?.phase).toBe('Running');
      expect(p.status?.containerStatuses?.[0]?.ready).toBe(true);
      expect(p.spec?.nodeName).toBeTruthy();
    }
    const logs = await kubectlOk(['logs', '-n', ns, 'deployment/' + (await deploymentOf('from-s3'))]);
    expect(logs).toMatch(/s3:\/\/models\/iris\.onnx/);
  });
});

async function deploymentOf(name: string): Promise<string> {
  const out = await kubectlOk([
    'get',
    'deployments',
    '-n',
    ns,
    '-l',
    `modelship.dev/deployment=${name}`,
    '-o',
    'jsonpath={.items[0].metadata.name}',
  ]);
  return out.trim();
}

describe('reaching the model', () => {
  it('by its DNS name from another pod', async () => {
    const pod = (await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=models' })).items[0]!
      .metadata!.name!;
    const url = `http://from-pvc.${ns}.svc.cluster.local/v2/models/from-pvc/infer`;
    const out = await kubectlOk([
      'exec',
      '-n',
      ns,
      pod,
      '--',
      '/bin/busybox',
      'wget',
      '-q',
      '-O',
      '-',
      '--header',
      'Content-Type: application/json',
      '--post-data',
      JSON.stringify(irisRequest(rows)),
      url,
    ]);
    expectIris(JSON.parse(out) as InferResponse, 'from-pvc');
  });

  it('through kubectl port-forward from the host', async () => {
    const port = await freePort();
    const pf = spawn(binaryPaths().kubectl, ['port-forward', '-n', ns, 'service/from-http', `${port}:80`], {
      env: { ...process.env, KUBECONFIG: kubeconfigPath() },
      stdio: 'ignore',
    });
    try {
      const r = await eventually(
        () => infer(`http://127.0.0.1:${port}/v2/models/from-http/infer`, irisRequest(rows)),
        30_000,
        300,
      );
      expectIris(r, 'from-http');
    } finally {
      pf.kill();
    }
  });

  it('shows the model metadata of the Open Inference Protocol', async () => {
    const ip = await clusterIp(ns, 'from-pvc');
    const r = await fetch(`http://${ip}/v2/models/from-pvc`);
    expect(await r.json()).toMatchObject({
      name: 'from-pvc',
      platform: 'onnx_onnxv1',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }],
    });
  });
});

describe('network safety', () => {
  async function inPod(args: string[]) {
    const pod = (await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=models' })).items[0]!
      .metadata!.name!;
    return kubectl(['exec', '-n', ns, pod, '--', '/bin/busybox', ...args]);
  }

  it('resolves cluster names in pods, and nothing outside the cluster', async () => {
    const inside = await inPod(['nslookup', `from-pvc.${ns}.svc.cluster.local`]);
    expect(inside.stdout).toMatch(/Address:?\s+10\.96\./);
    const outside = await inPod(['nslookup', 'example.com']);
    expect(outside.stdout + outside.stderr).not.toMatch(/Address:?\s+(?!10\.96\.0\.10)\d+\.\d+\.\d+\.\d+/);
  });

  it('drops pod traffic headed out of the machine, at the safety rule', async () => {
    // The packets counted by the FORWARD rules (mangle, then filter) that drop pod traffic not going back to the
    // bridge: the mangle one sees them first, before kube-router's firewall accepts what its policies allow.
    const dropped = async () => {
      let packets = 0;
      for (const table of ['mangle', 'filter']) {
        const rules = await run('iptables', ['-t', table, '-L', 'FORWARD', '-v', '-x', '-n']);
        const line = rules.split('\n').find((l) => l.includes('modelship-local-node'));
        if (!line) throw new Error(`the safety rule is missing from ${table} FORWARD:\n${rules}`);
        packets += Number(line.trim().split(/\s+/)[0]);
      }
      return packets;
    };
    // A machine without a default route (CI's) refuses such packets at routing, before FORWARD,
    // so the rule would never see them. A route for TEST-NET-3 (never routed on the internet)
    // through a throw-away veth pair makes the packet reach FORWARD on every machine.
    await run('ip', ['link', 'add', 'ms-probe0', 'type', 'veth', 'peer', 'name', 'ms-probe1']);
    try {
      await run('ip', ['link', 'set', 'ms-probe0', 'up']);
      await run('ip', ['link', 'set', 'ms-probe1', 'up']);
      await run('ip', ['route', 'add', '203.0.113.0/24', 'dev', 'ms-probe0']);
      const before = await dropped();
      // nc, not wget: this busybox's static wget crashes (SIGSEGV) on an IP literal before sending anything.
      const r = await inPod(['nc', '-w', '3', '203.0.113.7', '80']);
      expect(r.stderr).toMatch(/timed out/);
      expect(r.code).not.toBe(0);
      expect(await dropped()).toBeGreaterThan(before);
    } finally {
      // Deleting one end removes the pair and the route through it.
      await run('ip', ['link', 'del', 'ms-probe0']);
    }
  });
});

describe('deleting', () => {
  it('removes every pod, Service and Deployment of the ModelDeployment', async () => {
    await kubectlOk(['delete', 'md', 'from-http', '-n', ns, '--wait=false']);
    await eventually(
      async () => {
        const out = await kubectlOk([
          'get',
          'pods,services,deployments,replicasets',
          '-n',
          ns,
          '-l',
          'modelship.dev/deployment=from-http',
          '-o',
          'name',
        ]);
        return out.trim() === '';
      },
      120_000,
      500,
    );
  });
});
