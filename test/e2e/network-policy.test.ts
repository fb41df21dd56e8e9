/**
 * spec.networkPolicy on the local node, enforced by kube-router's firewall (cluster/src/node/policy-engine.ts): a
 * ModelDeployment behind its router admits inference only from the namespace it lists (and the router), and its
 * metrics port only from the `monitoring` namespace (the default) and the operator. Callers are real pods in
 * namespaces of their own; every namespace enforces the `restricted` Pod Security profile, so the serving and router
 * pods are admitted by the API server too. Turning the policy off opens the model to everyone again: what refused the
 * calls was the policy.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { irisModel } from '../fixtures/onnx/models.js';
import {
  createNamespace,
  eventually,
  installCrds,
  kubectl,
  kubectlOk,
  podSecurityLabels,
} from '../support/cluster.js';
import { installRbac, operatorKubeconfig, startOperator, type OperatorProcess } from '../support/operator.js';
import { applyYaml, clusterIp, core, irisRequest, modelClaim, waitForPhase, writeModel } from './support.js';

let operator: OperatorProcess;
/** The ModelDeployment's namespace, the one it lists as its callers, one it does not list, and `monitoring`. */
let ns: string;
let allowed: string;
let denied: string;
const monitoring = 'monitoring';
const name = 'guarded';

const modelDeployment = (networkPolicy: object) => ({
  apiVersion: 'modelship.dev/v1alpha1',
  kind: 'ModelDeployment',
  metadata: { name },
  spec: {
    model: { version: '1', storageUri: 'pvc://models/iris.onnx' },
    // The router in front of the revisions: callers reach it, it reaches the serving pods.
    traffic: { provider: 'Router' },
    networkPolicy,
  },
});
const listed = () => ({
  from: [{ namespaceSelector: { matchLabels: { 'e2e.modelship.dev/caller': 'yes' } } }],
});

/** A pod that only waits, to run busybox's nc in (the fileserver image is busybox), restricted like ours. */
async function clientPod(namespace: string): Promise<void> {
  await applyYaml(namespace, [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'client' },
      spec: {
        securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
        terminationGracePeriodSeconds: 0,
        containers: [
          {
            name: 'client',
            image: 'modelship.local/fileserver:1',
            imagePullPolicy: 'IfNotPresent',
            command: ['/bin/busybox', 'sleep', '3600'],
            securityContext: {
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
              capabilities: { drop: ['ALL'] },
            },
          },
        ],
      },
    },
  ]);
  await kubectlOk(['wait', '-n', namespace, 'pod/client', '--for=condition=Ready', '--timeout=60s']);
}

interface Call {
  ok: boolean;
  /** The response's status line and body, or why there was none. */
  out: string;
}

/**
 * Sends stdin to `$0:$1` and prints the answer, keeping the request side open a moment: busybox's nc stops reading at
 * the end of its input, which would lose an answer that takes longer than a GET's (an inference waits for its batch).
 */
const ncScript = 'req=$(cat; echo x); (printf "%s" "${req%x}"; sleep 2) | /bin/busybox nc -w 3 "$0" "$1"';

/**
 * An HTTP/1.0 request from the client pod in `from` to `ip:port`, through busybox's nc (its static wget crashes on
 * an IP literal); a refused or timed-out connection, or a status other than 200, is `ok: false`.
 */
async function call(from: string, ip: string, port: number, path: string, body?: object): Promise<Call> {
  const payload = body ? JSON.stringify(body) : '';
  const request = body
    ? `POST ${path} HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`
    : `GET ${path} HTTP/1.0\r\n\r\n`;
  const r = await kubectl(
    ['exec', '-i', '-n', from, 'client', '--', '/bin/busybox', 'sh', '-c', ncScript, ip, String(port)],
    request,
  );
  const [head = '', ...rest] = r.stdout.split('\r\n\r\n');
  const ok = r.code === 0 && /^HTTP\/1\.[01] 200 /.test(head);
  return { ok, out: ok ? rest.join('\r\n\r\n') : `${head.split('\r\n')[0] ?? ''} ${r.stderr}`.trim() };
}

const rows = [[5.1, 3.5, 1.4, 0.2]];
const inferPath = `/v2/models/${name}/infer`;

async function servingPodIp(): Promise<string> {
  const pods = await core.listNamespacedPod({
    namespace: ns,
    labelSelector: `modelship.dev/deployment=${name},app.kubernetes.io/component=model-server`,
  });
  return pods.items.find((p) => p.status?.podIP && !p.metadata?.deletionTimestamp)!.status!.podIP!;
}

/** Waits until `check` gives the same outcome 3 times in a row (the firewall follows every change within moments). */
async function settlesTo(check: () => Promise<Call>, ok: boolean): Promise<Call> {
  let streak = 0;
  return eventually(
    async () => {
      const r = await check();
      if (r.ok !== ok) {
        streak = 0;
        throw new Error(`expected ${ok ? 'an answer' : 'a refusal'}, got: ${r.out.slice(0, 300)}`);
      }
      return ++streak >= 3 && r;
    },
    60_000,
    500,
  );
}

beforeAll(async () => {
  await installCrds();
  await installRbac();
  operator = await startOperator({ kubeconfig: await operatorKubeconfig(), args: ['--no-leader-elect'] });
  ns = await createNamespace('e2e-netpol');
  allowed = await createNamespace('e2e-netpol-caller', { 'e2e.modelship.dev/caller': 'yes' });
  denied = await createNamespace('e2e-netpol-other');
  // The default metricsFrom admits the namespace named `monitoring`: made here (and removed after), restricted too.
  await core.createNamespace({ body: { metadata: { name: monitoring, labels: podSecurityLabels() } } });
  writeModel('iris.onnx', irisModel());
  await modelClaim(ns, 'models');
  await applyYaml(ns, [modelDeployment(listed())]);
  await Promise.all([allowed, denied, monitoring].map(clientPod));
  await waitForPhase(ns, name, 'Ready');
  // The `<name>` Service points at the router once its pods are available.
  await eventually(async () => {
    const svc = await core.readNamespacedService({ namespace: ns, name });
    return svc.spec?.selector?.['app.kubernetes.io/component'] === 'router';
  }, 60_000);
}, 300_000);

afterAll(async () => {
  await operator?.stop();
  await kubectl(['delete', 'namespace', monitoring, '--ignore-not-found', '--wait=true', '--timeout=120s']);
});

describe('inference', () => {
  it('answers a pod in the listed namespace, through the router', async () => {
    const ip = await clusterIp(ns, name);
    const r = await settlesTo(() => call(allowed, ip, 80, inferPath, irisRequest(rows)), true);
    expect(JSON.parse(r.out)).toMatchObject({ model_name: name });
  });

  it('answers a pod in the listed namespace on a serving pod directly (before the router takes over, callers go there)', async () => {
    const r = await settlesTo(
      async () => call(allowed, await servingPodIp(), 8080, inferPath, irisRequest(rows)),
      true,
    );
    expect(JSON.parse(r.out)).toMatchObject({ model_name: name });
  });

  it('refuses a pod in a namespace it does not list, at the router and at the serving pods', async () => {
    const ip = await clusterIp(ns, name);
    const viaRouter = await settlesTo(() => call(denied, ip, 80, inferPath, irisRequest(rows)), false);
    expect(viaRouter.out).toMatch(/refused|timed out|unreachable/i);
    const direct = await settlesTo(
      async () => call(denied, await servingPodIp(), 8080, inferPath, irisRequest(rows)),
      false,
    );
    expect(direct.out).toMatch(/refused|timed out|unreachable/i);
  });
});

describe('metrics', () => {
  it('answer a pod in the monitoring namespace, on the serving pods and on the router', async () => {
    const serving = await settlesTo(
      async () => call(monitoring, await servingPodIp(), 9090, '/metrics'),
      true,
    );
    expect(serving.out).toMatch(/^modelship_/m);
    const router = (
      await core.listNamespacedPod({
        namespace: ns,
        labelSelector: `modelship.dev/deployment=${name},app.kubernetes.io/component=router`,
      })
    ).items[0]!.status!.podIP!;
    expect((await settlesTo(() => call(monitoring, router, 9090, '/metrics'), true)).out).toMatch(
      /^modelship_/m,
    );
  });

  it('are refused to callers that are not scrapers, even admitted ones', async () => {
    for (const from of [allowed, denied]) {
      const r = await settlesTo(async () => call(from, await servingPodIp(), 9090, '/metrics'), false);
      expect(r.out).toMatch(/refused|timed out|unreachable/i);
    }
  });
});

describe('turning the policy off', () => {
  it('removes the NetworkPolicies, and then everyone may call the model again', async () => {
    await applyYaml(ns, [modelDeployment({ ...listed(), enabled: false })]);
    await eventually(
      async () => (await kubectlOk(['get', 'networkpolicies', '-n', ns, '-o', 'name'])).trim() === '',
      30_000,
    );
    const ip = await clusterIp(ns, name);
    const r = await settlesTo(() => call(denied, ip, 80, inferPath, irisRequest(rows)), true);
    expect(JSON.parse(r.out)).toMatchObject({ model_name: name });
  });
});
