/**
 * `make demo`: against the local cluster (started by `make cluster-up`): install the CRD and the operator's
 * RBAC, start the operator, apply the examples, show that the API server refuses a bad ModelDeployment, and
 * show what the operator made of the good ones: kubectl get md, the Deployments and Services, the conditions.
 */
import { join } from 'node:path';
import { kubectl } from '../cluster/src/kubectl.js';
import { startLocalOperator } from '../cluster/src/local-operator.js';
import { readState } from '../cluster/src/state.js';
import { repoRoot } from '../cluster/src/versions.js';

const dir = process.env.MODELSHIP_CLUSTER_DIR ?? join(repoRoot, '.cluster');
const state = readState(dir);
if (state?.status !== 'ready' || !state.kubeconfig) {
  console.error("demo: no local cluster is running; run 'make cluster-up' first");
  process.exit(1);
}
const kubeconfig = state.kubeconfig;

async function step(title: string, args: string[], input?: string, expectFailure = false): Promise<string> {
  console.log(`\n$ kubectl ${args.join(' ')}${title ? `    # ${title}` : ''}`);
  const r = await kubectl(args, { kubeconfig, input });
  process.stdout.write(r.stdout);
  process.stdout.write(r.stderr);
  if ((r.code !== 0) !== expectFailure) {
    throw new Error(
      `kubectl ${args.join(' ')} ${expectFailure ? 'unexpectedly succeeded' : `failed (exit ${r.code})`}`,
    );
  }
  return r.stdout;
}

const badModel = `apiVersion: modelship.dev/v1alpha1
kind: ModelDeployment
metadata: {name: not-onnx}
spec:
  model: {version: "1", storageUri: "gs://bucket/model.pt", format: pytorch}
`;

async function waitForStatus(names: string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const r = await kubectl(
      ['get', 'md', ...names, '-o', 'jsonpath={range .items[*]}{.status.phase}{"\\n"}{end}'],
      { kubeconfig },
    );
    if (r.stdout.trim().split('\n').filter(Boolean).length === names.length) return;
    await new Promise((res) => setTimeout(res, 300));
  }
}

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
  console.log(
    `Its metrics: curl -s http://127.0.0.1:${operator.metricsPort}/metrics | grep modelship_operator_reconcile`,
  );
  await step('the sample ModelDeployments', ['apply', '-f', join(repoRoot, 'examples')]);
  await step('the API server refuses a bad one, naming the fields', ['apply', '-f', '-'], badModel, true);
  await waitForStatus(['iris', 'fraud-detector', 'recommender']);
  await step('what users see', ['get', 'modeldeployments']);
  await step(
    'what the operator made: a Deployment and a Service per revision, the model Service, a budget and an autoscaler',
    [
      'get',
      'deployments,services,poddisruptionbudgets,horizontalpodautoscalers',
      '-l',
      'app.kubernetes.io/managed-by=modelship',
    ],
  );
  await step('why it is not Ready: this cluster has no node to run pods on (yet)', [
    'get',
    'md',
    'iris',
    '-o',
    'jsonpath={range .status.conditions[*]}{.type}={.status} ({.reason}): {.message}{"\\n"}{end}',
  ]);
  await step('what happened, as Events', [
    'get',
    'events',
    '--field-selector',
    'involvedObject.kind=ModelDeployment',
  ]);
  console.log(
    `\nThe cluster and the operator keep running. Use them with:\n  export KUBECONFIG=${kubeconfig}\nStop both with: make cluster-down`,
  );
} catch (err) {
  console.error(`demo: ${(err as Error).message}`);
  process.exit(1);
}
