/**
 * Modelship installed as users install it: `helm install` of charts/modelship onto the real node, the operator
 * running in pods from its own image (operator/Dockerfile, imported into the node: there is no registry), then a
 * ModelDeployment applied afterwards is served; `helm upgrade` to a changed operator image keeps it serving without
 * one failed request, and the upgraded operator reconciles; `helm uninstall` removes the operator and leaves the CRD
 * and the user's ModelDeployment (and what serves it) in place.
 *
 * No host operator runs during this file: the chart's operator is the only one reconciling the watched namespace.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { installChart } from '../../cluster/src/chart-operator.js';
import { ensureHelm, helm, helmOk } from '../../cluster/src/helm.js';
import { tagImage } from '../../cluster/src/node/images.js';
import { tabularModel } from '../fixtures/onnx/models.js';
import {
  createNamespace,
  deleteCreatedNamespaces,
  eventually,
  installCrds,
  kubeconfigPath,
  kubectlOk,
  repoRoot,
} from '../support/cluster.js';
import {
  applyYaml,
  clusterIp,
  custom,
  infer,
  irisRequest,
  kc,
  loadGenerator,
  modelClaim,
  waitForPhase,
  writeModel,
} from './support.js';

const MINUTE = 60_000;
const release = 'modelship-e2e';
const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string })
  .version;
const apps = kc.makeApiClient(k8s.AppsV1Api);
const coordination = kc.makeApiClient(k8s.CoordinationV1Api);
const core = kc.makeApiClient(k8s.CoreV1Api);
const body = irisRequest([[5.1, 3.5, 1.4, 0.2]]);

let releaseNs: string;
let modelsNs: string;

function clusterDir(): string {
  const dir = process.env.MODELSHIP_TEST_CLUSTER_DIR;
  if (!dir) throw new Error('MODELSHIP_TEST_CLUSTER_DIR is not set: this runs under the e2e global setup');
  return dir;
}

const helmArgs = (...args: string[]) => helmOk(args, { kubeconfig: kubeconfigPath() });

/** The operator pods of the release: their names, images, and whether each is Ready. */
async function operatorPods() {
  const pods = await core.listNamespacedPod({
    namespace: releaseNs,
    labelSelector: `app.kubernetes.io/instance=${release},app.kubernetes.io/name=modelship-operator`,
  });
  return pods.items
    .filter((p) => !p.metadata!.deletionTimestamp)
    .map((p) => ({
      name: p.metadata!.name!,
      image: p.spec!.containers[0]!.image!,
      ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    }));
}

/** The pod holding the leader Lease (identities are `<pod>_<random>`). */
async function leaderPod(): Promise<string | undefined> {
  const lease = await coordination.readNamespacedLease({ namespace: releaseNs, name: `${release}-operator` });
  return lease.spec?.holderIdentity?.split('_')[0] || undefined;
}

function modelDeployment(replicas: number): object {
  return {
    apiVersion: 'modelship.dev/v1alpha1',
    kind: 'ModelDeployment',
    metadata: { name: 'churn' },
    spec: {
      model: { name: 'churn', version: '1', storageUri: 'pvc://models/helm-churn.onnx' },
      runtime: { replicas },
    },
  };
}

beforeAll(async () => {
  // Built on a machine's first run (minutes) when the integration tier has not built it yet.
  await ensureHelm();
  await installCrds();
  releaseNs = await createNamespace('helm-system');
  modelsNs = await createNamespace('helm-models');
  writeModel(
    'helm-churn.onnx',
    tabularModel({ name: 'churn', features: 4, hidden: [8], classes: 3, seed: 7 }),
  );
  await modelClaim(modelsNs, 'models');
}, 20 * MINUTE);

afterAll(async () => {
  await helm(['uninstall', release, '-n', releaseNs, '--wait'], { kubeconfig: kubeconfigPath() });
  await deleteCreatedNamespaces();
}, 5 * MINUTE);

describe('helm install, upgrade and uninstall on the node', () => {
  it(
    'runs the operator in-cluster from its image; a ModelDeployment applied afterwards is served',
    async () => {
      const notes = await installChart({
        dir: clusterDir(),
        kubeconfig: kubeconfigPath(),
        release,
        namespace: releaseNs,
        values: ['--set', `watchNamespaces={${modelsNs}}`],
      });
      // NOTES.txt tells the user where to look.
      expect(notes).toContain(`kubectl -n ${releaseNs} rollout status deployment/${release}-operator`);
      expect(notes).toContain(`reconciling ModelDeployments in: ${modelsNs}`);

      const pods = await operatorPods();
      expect(pods).toHaveLength(2);
      for (const p of pods) expect(p).toMatchObject({ image: `modelship/operator:${version}`, ready: true });
      // One of the two leads; the other stands by.
      const holder = await eventually(leaderPod, 2 * MINUTE, 500);
      expect(pods.map((p) => p.name)).toContain(holder);

      await applyYaml(modelsNs, [modelDeployment(1)]);
      await waitForPhase(modelsNs, 'churn', 'Ready', 5 * MINUTE);
      const url = `http://${await clusterIp(modelsNs, 'churn')}/v2/models/churn/infer`;
      // A Service just created answers once kube-proxy has programmed it (a moment after the pods are Ready).
      await eventually(async () => (await infer(url, body)).model_name === 'churn', MINUTE, 200);
      const load = loadGenerator(url, body, 2, true);
      await eventually(async () => load.report.ok >= 20, MINUTE, 50);
      const report = await load.stop();
      expect({ failed: report.failed, errors: report.errors }).toEqual({ failed: 0, errors: [] });
    },
    20 * MINUTE,
  );

  it(
    'upgrades the operator to a changed image without one failed request; the new operator reconciles',
    async () => {
      // A new release of the image as a registry would hold it: the same image under a new tag.
      const upgraded = `${version}-upgrade`;
      await tagImage(clusterDir(), `modelship/operator:${version}`, `modelship/operator:${upgraded}`);
      const url = `http://${await clusterIp(modelsNs, 'churn')}/v2/models/churn/infer`;
      const load = loadGenerator(url, body, 2, true);
      await eventually(async () => load.report.ok >= 20, MINUTE, 50);
      await helmArgs(
        'upgrade',
        release,
        join(repoRoot, 'charts/modelship'),
        '-n',
        releaseNs,
        '--reuse-values',
        '--set',
        `image.tag=${upgraded}`,
        '--wait',
        '--timeout',
        '5m',
      );
      // Every old pod is gone and both new ones are Ready; one of them holds the Lease.
      const pods = await eventually(
        async () => {
          const p = await operatorPods();
          return (
            p.length === 2 && p.every((x) => x.ready && x.image === `modelship/operator:${upgraded}`) && p
          );
        },
        5 * MINUTE,
        500,
      );
      await eventually(
        async () => pods.map((p) => p.name).includes((await leaderPod()) ?? ''),
        2 * MINUTE,
        500,
      );
      const before = load.report.ok;
      await eventually(async () => load.report.ok >= before + 20, MINUTE, 50);
      const report = await load.stop();
      expect({ failed: report.failed, errors: report.errors }).toEqual({ failed: 0, errors: [] });

      // The upgraded operator acts: scaling the ModelDeployment reaches its Deployment.
      await applyYaml(modelsNs, [modelDeployment(2)]);
      await eventually(
        async () => {
          const list = await apps.listNamespacedDeployment({
            namespace: modelsNs,
            labelSelector: 'modelship.dev/deployment=churn',
          });
          return list.items.some((d) => d.spec?.replicas === 2 && d.status?.readyReplicas === 2);
        },
        5 * MINUTE,
        500,
      );
    },
    20 * MINUTE,
  );

  it(
    'uninstalls the operator and leaves the CRD and the ModelDeployment, still served',
    async () => {
      await helmArgs('uninstall', release, '-n', releaseNs, '--wait');
      await eventually(async () => (await operatorPods()).length === 0, 2 * MINUTE, 500);
      const deployments = await kubectlOk(['get', 'deployments', '-n', releaseNs, '-o', 'name']);
      expect(deployments.trim()).toBe('');
      // Helm's convention: CRDs (and so every user's objects) stay until deleted deliberately.
      await kubectlOk(['get', 'crd', 'modeldeployments.modelship.dev']);
      const md = await custom.getNamespacedCustomObject({
        group: 'modelship.dev',
        version: 'v1alpha1',
        plural: 'modeldeployments',
        namespace: modelsNs,
        name: 'churn',
      });
      expect(md).toBeDefined();
      const url = `http://${await clusterIp(modelsNs, 'churn')}/v2/models/churn/infer`;
      const load = loadGenerator(url, body, 1, false);
      await eventually(async () => load.report.ok >= 10, MINUTE, 50);
      const report = await load.stop();
      expect({ failed: report.failed, errors: report.errors }).toEqual({ failed: 0, errors: [] });
    },
    10 * MINUTE,
  );
});
