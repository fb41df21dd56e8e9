/**
 * `make demo`, on the local cluster (`make cluster-up`: a control plane and a real node): install the CRD and the
 * operator's RBAC, start the operator, apply examples/, show the API server refusing a bad ModelDeployment, wait
 * for real pods to load real models, send a real inference through the model's Service, then roll out a new
 * version under traffic and count the failed requests.
 */
import { request } from 'node:http';
import { join } from 'node:path';
import { kubectl } from '../cluster/src/kubectl.js';
import { startLocalOperator } from '../cluster/src/local-operator.js';
import { readState } from '../cluster/src/state.js';
import { repoRoot } from '../cluster/src/versions.js';
import { shellCommand, shellQuote } from './shell-quote.js';

const dir = process.env.MODELSHIP_CLUSTER_DIR ?? join(repoRoot, '.cluster');
const state = readState(dir);
if (state?.status !== 'ready' || !state.kubeconfig) {
  console.error("demo: no local cluster is running; run 'make cluster-up' first");
  process.exit(1);
}
const kubeconfig = state.kubeconfig;
const hasNode = state.mode === 'node';

/** Runs kubectl and shows it as a command line that can be pasted into bash as it is (stdin as a here-document). */
async function step(title: string, args: string[], input?: string, expectFailure = false): Promise<string> {
  // The title goes on the first line: after a here-document's last line it would not be a comment.
  const [first, ...rest] = shellCommand(['kubectl', ...args], input).split('\n');
  console.log(`\n$ ${[`${first}${title ? `    # ${title}` : ''}`, ...rest].join('\n')}`);
  const r = await kubectl(args, { kubeconfig, input, timeoutMs: 300_000 });
  process.stdout.write(r.stdout);
  process.stdout.write(r.stderr);
  if ((r.code !== 0) !== expectFailure) {
    throw new Error(
      `${shellCommand(['kubectl', ...args])} ${expectFailure ? 'unexpectedly succeeded' : `failed (exit ${r.code})`}`,
    );
  }
  return r.stdout;
}

async function quiet(args: string[]): Promise<string> {
  const r = await kubectl(args, { kubeconfig });
  if (r.code !== 0) throw new Error(`${shellCommand(['kubectl', ...args])}: ${r.stderr}`);
  return r.stdout.trim();
}

function post(url: string, body: unknown): Promise<{ status: number; body: string }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent: false, timeout: 10_000, headers: { 'Content-Type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(payload);
  });
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const phase = async (name: string) => quiet(['get', 'md', name, '-o', 'jsonpath={.status.phase}']);
const stableVersion = async (name: string) =>
  quiet(['get', 'md', name, '-o', 'jsonpath={.status.stable.version}']);

const badModel = `apiVersion: modelship.dev/v1alpha1
kind: ModelDeployment
metadata: {name: not-onnx}
spec:
  model: {version: "1", storageUri: "gs://bucket/model.pt", format: pytorch}
`;
const request1 = {
  inputs: [
    { name: 'features', shape: [2, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3] },
  ],
};

try {
  await step('install the CRD', ['apply', '--server-side', '-f', join(repoRoot, 'crds')]);
  await step('', [
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/modeldeployments.modelship.dev',
  ]);
  await step("the operator's least-privilege RBAC", [
    'apply',
    '--server-side',
    '-f',
    join(repoRoot, 'config/rbac/operator.yaml'),
  ]);
  const operator = await startLocalOperator(dir, kubeconfig);
  console.log(`\nThe operator runs in the background (pid ${operator.pid}); its JSON log: ${operator.log}`);
  await step('the sample ModelDeployments', ['apply', '-f', join(repoRoot, 'examples')]);
  await step('the API server refuses a bad one, naming the fields', ['apply', '-f', '-'], badModel, true);

  if (!hasNode) {
    await step('what the operator made (this cluster has no node, so pods do not run)', [
      'get',
      'md,deployments,services',
      '-l',
      'app.kubernetes.io/managed-by=modelship',
    ]);
    console.log(
      '\nStart the full local cluster (with a node, as root) to see pods serve: make cluster-down && make cluster-up',
    );
    process.exit(0);
  }

  console.log('\nWaiting for the pods to load their models...');
  await until(
    'iris and iris-http to be Ready',
    async () => (await phase('iris')) === 'Ready' && (await phase('iris-http')) === 'Ready',
  );
  await step('Ready, with the version each one serves', ['get', 'modeldeployments']);
  await step('real pods, started from the locally built serving image', [
    'get',
    'pods',
    '-l',
    'app.kubernetes.io/managed-by=modelship',
    '-o',
    'wide',
  ]);
  await step('a Deployment per revision, a Service per model and one per revision, a PDB for two replicas', [
    'get',
    'deployments,services,poddisruptionbudgets',
    '-l',
    'app.kubernetes.io/managed-by=modelship',
  ]);
  await step('the status conditions, with their reasons', [
    'get',
    'md',
    'iris',
    '-o',
    'jsonpath={range .status.conditions[*]}{.type}={.status}  {.reason}: {.message}{"\\n"}{end}',
  ]);

  const ip = await quiet(['get', 'service', 'iris', '-o', 'jsonpath={.spec.clusterIP}']);
  const url = `http://${ip}/v2/models/iris/infer`;
  console.log(
    `\n$ ${shellCommand(['curl', '-s', url, '-d', JSON.stringify(request1)])}    # a real inference through the Service`,
  );
  const answer = await post(url, request1);
  console.log(answer.body);
  if (answer.status !== 200) throw new Error(`inference failed with HTTP ${answer.status}`);

  // A new version under continuous traffic: the operator starts it beside the old one and moves traffic only
  // when it is ready; the old pods drain before they stop.
  let ok = 0;
  let failed = 0;
  const versions = new Set<string>();
  let running = true;
  const load = Promise.all(
    Array.from({ length: 4 }, async () => {
      while (running) {
        try {
          const r = await post(url, request1);
          if (r.status === 200) {
            ok++;
            versions.add((JSON.parse(r.body) as { model_version: string }).model_version);
          } else failed++;
        } catch {
          failed++;
        }
      }
    }),
  );
  await step('roll out version 2 while 4 clients keep sending requests', [
    'patch',
    'md',
    'iris',
    '--type=merge',
    '-p',
    '{"spec":{"model":{"version":"2","storageUri":"pvc://models/iris/2/model.onnx"}}}',
  ]);
  await until(
    'version 2 to serve',
    async () => (await stableVersion('iris')) === '2' && (await phase('iris')) === 'Ready',
  );
  await until('the old pods to be gone', async () => {
    const revisions = await quiet([
      'get',
      'pods',
      '-l',
      'modelship.dev/deployment=iris',
      '-o',
      'jsonpath={.items[*].metadata.labels.modelship\\.dev/revision}',
    ]);
    return new Set(revisions.split(/\s+/).filter(Boolean)).size === 1;
  });
  running = false;
  await load;
  console.log(
    `\nDuring the rollout: ${ok} requests answered (model versions ${[...versions].sort().join(' and ')}), ${failed} failed.`,
  );
  await step('', ['get', 'modeldeployments']);
  await step('what happened, as Events', [
    'get',
    'events',
    '--field-selector',
    'involvedObject.kind=ModelDeployment',
    '--sort-by=.lastTimestamp',
  ]);
  console.log(
    `\nThe cluster and the operator keep running. Use them with:\n  export KUBECONFIG=${shellQuote(kubeconfig)}\nStop both with: make cluster-down`,
  );
  if (failed > 0) process.exitCode = 1;
} catch (err) {
  console.error(`demo: ${(err as Error).message}`);
  process.exit(1);
}
