/**
 * `make demo`, on the local cluster (`make cluster-up`: a control plane and a real node): install the CRD and the
 * operator's RBAC, start the operator, apply examples/, show the API server refusing a bad ModelDeployment, wait
 * for real pods to load real models, send a real inference through the model's Service; then, under traffic, roll
 * a healthy version out as a canary (promoted step by step, zero failed requests) and a faulty one (rolled back by
 * itself within seconds), shown with the kubectl plugin; then one retraining cycle of examples/retraining (a run,
 * its ModelVersion validated, gated and rolled out).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { kubectl, waitForCrdsEstablished } from '../cluster/src/kubectl.js';
import { importImages } from '../cluster/src/node/images.js';
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
  // `kubectl wait` fails at once when it reads the CRD before it has any condition: let it find one.
  await waitForCrdsEstablished(['modeldeployments.modelship.dev', 'modelversions.modelship.dev'], {
    kubeconfig,
  });
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

  // The kubectl plugin, on the PATH as `npm install -g` would put it, so that `kubectl modelship` finds it.
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    join(bin, 'kubectl-modelship'),
    `#!/bin/sh\nexec ${shellQuote(process.execPath)} ${shellQuote(join(repoRoot, 'dist/operator/src/plugin/cli.js'))} "$@"\n`,
    { mode: 0o755 },
  );
  process.env.PATH = `${bin}:${process.env.PATH ?? ''}`;

  // Traffic all along: 4 clients, each request counted.
  let ok = 0;
  let failed = 0;
  const versions = new Map<string, number>();
  let running = true;
  const counts = () => ({ ok, failed, versions: new Map(versions) });
  const load = Promise.all(
    Array.from({ length: 4 }, async () => {
      while (running) {
        try {
          const r = await post(url, request1);
          if (r.status === 200) {
            ok++;
            const v = (JSON.parse(r.body) as { model_version: string }).model_version;
            versions.set(v, (versions.get(v) ?? 0) + 1);
          } else failed++;
        } catch {
          failed++;
        }
      }
    }),
  );
  const since = (before: ReturnType<typeof counts>) => {
    const by = [...versions]
      .map(([v, n]) => `version ${v}: ${n - (before.versions.get(v) ?? 0)}`)
      .filter((x) => !x.endsWith(': 0'));
    return `${ok - before.ok} requests answered (${by.join(', ')}), ${failed - before.failed} failed`;
  };

  // A healthy version: the canary takes 20 %, then 50 %, judged against version 1 at each step, then all.
  let before = counts();
  await step('roll out version 2 as a canary while 4 clients keep sending requests', [
    'patch',
    'md',
    'iris',
    '--type=merge',
    '-p',
    '{"spec":{"model":{"version":"2","storageUri":"pvc://models/iris/2/model.onnx"}}}',
  ]);
  const shown = new Set<number>();
  await until(
    'version 2 to be promoted',
    async () => {
      const weight = Number(
        (await quiet(['get', 'md', 'iris', '-o', 'jsonpath={.status.canary.weight}'])) || -1,
      );
      if ((weight === 20 || weight === 50) && !shown.has(weight)) {
        shown.add(weight);
        await step(`the canary at ${weight}%, judged against the stable version`, [
          'modelship',
          'status',
          'iris',
        ]);
      }
      return (await stableVersion('iris')) === '2' && (await phase('iris')) === 'Ready';
    },
    300_000,
  );
  console.log(`\nDuring the canary: ${since(before)}.`);
  const healthyFailed = failed - before.failed;
  await step('promoted; version 1 is kept, scaled to 0, for undo', [
    'get',
    'deployments',
    '-l',
    'modelship.dev/deployment=iris',
  ]);

  // A faulty version: it loads and passes its warm-up, then fails on real inputs. Nobody touches anything.
  before = counts();
  await step('roll out version 3, which fails on real inputs', [
    'patch',
    'md',
    'iris',
    '--type=merge',
    '-p',
    '{"spec":{"model":{"version":"3","storageUri":"pvc://models/iris/3/model.onnx"}}}',
  ]);
  const patchedAt = Date.now();
  await until('version 3 to be rolled back', async () => (await phase('iris')) === 'RolledBack', 300_000);
  const rolledBackAt = Date.parse(await quiet(['get', 'md', 'iris', '-o', 'jsonpath={.status.rejected.at}']));
  await new Promise((r) => setTimeout(r, 3000)); // a few seconds of traffic after the rollback
  running = false;
  await load;
  console.log(
    `\nVersion 3 was rolled back ${((rolledBackAt - patchedAt) / 1000).toFixed(0)} s after the patch (its pods had to start first); since the patch: ${since(before)}.`,
  );
  await step('rolled back by itself: the reason names the metric, its value and the limit', [
    'modelship',
    'status',
    'iris',
  ]);
  await step('the spec still says version 3 (nobody rewrote it: GitOps-safe); version 2 serves', [
    'get',
    'md',
    'iris',
    '-o',
    'custom-columns=SPEC:.spec.model.version,STABLE:.status.stable.version,PHASE:.status.phase,REJECTED:.status.rejected.version',
  ]);
  if (healthyFailed > 0) process.exitCode = 1;

  // Retraining: the example trainer (scikit-learn → ONNX) runs once; its model is registered, validated, gated and
  // rolled out as a canary under traffic.
  console.log(
    '\nBuilding the example trainer image (once: about a minute) and importing it into the node...',
  );
  await importImages(dir, ['trainer'], (line) => console.log(`  ${line}`));
  await step('a ModelDeployment that retrains itself every 5 minutes', [
    'apply',
    '-f',
    join(repoRoot, 'examples/retraining/modeldeployment.yaml'),
  ]);
  await until('cancer to be Ready', async () => (await phase('cancer')) === 'Ready', 300_000);
  const cancerIp = await quiet(['get', 'service', 'cancer', '-o', 'jsonpath={.spec.clusterIP}']);
  const cancerRow = {
    inputs: [{ name: 'features', shape: [1, 30], datatype: 'FP32', data: Array(30).fill(1) }],
  };
  // The retrained version goes through a canary judged on live traffic: send some.
  let cancerTraffic = true;
  const cancerLoad = (async () => {
    while (cancerTraffic) {
      await post(`http://${cancerIp}/v2/models/cancer/infer`, cancerRow).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  await step('one training run now, rather than at the next 5-minute mark', [
    'modelship',
    'retrain',
    'cancer',
  ]);
  const served = async () =>
    (
      await quiet([
        'get',
        'modelversions',
        '-o',
        'jsonpath={.items[?(@.spec.source.kind=="Job")].status.phase}',
      ])
    ).split(' ');
  await until(
    'the retrained version to serve (or be rejected)',
    async () => (await served()).some((p) => p === 'Stable' || p === 'Rejected'),
    600_000,
  );
  cancerTraffic = false;
  await cancerLoad;
  await step('the run as a ModelVersion: validated by the serving image, gated on its metrics', [
    'get',
    'modelversions',
  ]);
  await step('what serves and why (spec.model is untouched), and the lineage', [
    'modelship',
    'history',
    'cancer',
  ]);
  if (!(await served()).includes('Stable')) process.exitCode = 1;

  await step('what happened, as Events', [
    'get',
    'events',
    '--field-selector',
    'involvedObject.kind=ModelDeployment',
    '--sort-by=.lastTimestamp',
  ]);
  console.log(
    `\nThe cluster and the operator keep running. Use them (and the kubectl plugin) with:\n  export KUBECONFIG=${shellQuote(kubeconfig)} PATH=${shellQuote(bin)}:$PATH\nStop both with: make cluster-down`,
  );
} catch (err) {
  console.error(`demo: ${(err as Error).message}`);
  process.exit(1);
}
