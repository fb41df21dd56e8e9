/**
 * `make demo`: against the local cluster (started by `make cluster-up`), install the CRD, apply the
 * examples, show that the API server refuses a bad ModelDeployment, and print `kubectl get modeldeployments`.
 */
import { join } from 'node:path';
import { kubectl } from '../cluster/src/kubectl.js';
import { readState } from '../cluster/src/state.js';
import { repoRoot } from '../cluster/src/versions.js';

const dir = process.env.MODELSHIP_CLUSTER_DIR ?? join(repoRoot, '.cluster');
const state = readState(dir);
if (state?.status !== 'ready' || !state.kubeconfig) {
  console.error("demo: no local cluster is running; run 'make cluster-up' first");
  process.exit(1);
}
const kubeconfig = state.kubeconfig;

async function step(title: string, args: string[], input?: string, expectFailure = false): Promise<void> {
  console.log(`\n$ kubectl ${args.join(' ')}${title ? `    # ${title}` : ''}`);
  const r = await kubectl(args, { kubeconfig, input });
  process.stdout.write(r.stdout);
  process.stdout.write(r.stderr);
  if ((r.code !== 0) !== expectFailure) {
    throw new Error(
      `kubectl ${args.join(' ')} ${expectFailure ? 'unexpectedly succeeded' : `failed (exit ${r.code})`}`,
    );
  }
}

const badModel = `apiVersion: modelship.dev/v1alpha1
kind: ModelDeployment
metadata: {name: not-onnx}
spec:
  model: {version: "1", storageUri: "gs://bucket/model.pt", format: pytorch}
`;

try {
  await step('install the CRD', ['apply', '-f', join(repoRoot, 'crds')]);
  await step('', [
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/modeldeployments.modelship.dev',
  ]);
  await step('the sample ModelDeployments', ['apply', '-f', join(repoRoot, 'examples')]);
  await step('the API server refuses a bad one, naming the fields', ['apply', '-f', '-'], badModel, true);
  await step('', ['get', 'modeldeployments']);
  console.log(
    `\nThe cluster keeps running. Use it with:\n  export KUBECONFIG=${kubeconfig}\nStop it with: make cluster-down`,
  );
} catch (err) {
  console.error(`demo: ${(err as Error).message}`);
  process.exit(1);
}
