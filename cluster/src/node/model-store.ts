/**
 * The local cluster's model store, so that `kubectl apply -f examples/` gives pods that really load a model:
 * sample models written into the state folder, served two ways:
 * - a hostPath PersistentVolume with the claim `models` in namespace default (`pvc://models/<path>`);
 * - an HTTP file server over the same folder (`http://models.modelship-local.svc.cluster.local/<path>`).
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import yaml from 'js-yaml';
import { faultyIrisModel, irisModel, tabularModel } from '../../../test/fixtures/onnx/models.js';
import { kubectl } from '../kubectl.js';

export const storeNamespace = 'modelship-local';

/**
 * Sample models, by path under the store: two versions of the iris classifier, to try a rollout, and a third that
 * loads fine but fails on real inputs, to see a canary rolled back; and the first version of the retraining example
 * (examples/retraining), an untrained stand-in with the example trainer's signature (input `features` [batch, 30],
 * outputs `probabilities` [batch, 2] and `label`) that its first retrained version replaces.
 */
export const sampleModels: Record<string, () => Uint8Array> = {
  'iris/1/model.onnx': irisModel,
  'iris/2/model.onnx': () =>
    tabularModel({ name: 'iris', features: 4, hidden: [16], classes: 3, seed: 2026 }),
  'iris/3/model.onnx': faultyIrisModel,
  'cancer/initial/model.onnx': () =>
    tabularModel({ name: 'cancer', features: 30, hidden: [8], classes: 2, seed: 569 }),
};

/**
 * Where retraining runs write on the claim (examples/retraining: output pvc://models/retraining): the trainers run
 * as a non-root user of their image's choosing, so the folder is writable by all, sticky like /tmp.
 */
export const retrainingOutput = 'retraining';

export function writeSampleModels(dir: string): string {
  const root = join(dir, 'models');
  for (const [path, build] of Object.entries(sampleModels)) {
    const file = join(root, path);
    mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
    writeFileSync(file, build(), { mode: 0o644 });
  }
  const output = join(root, retrainingOutput);
  mkdirSync(output, { recursive: true });
  chmodSync(output, 0o1777);
  // The serving pods run as a non-root user: every folder on the way must be searchable.
  chmodSync(dir, 0o755);
  chmodSync(root, 0o755);
  return root;
}

export function modelStoreManifests(root: string, fileserverImage: string): object[] {
  return [
    {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'modelship-local-models' },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadOnlyMany'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: 'modelship-local',
        hostPath: { path: root, type: 'Directory' },
        claimRef: { namespace: 'default', name: 'models' },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'models', namespace: 'default' },
      spec: {
        accessModes: ['ReadOnlyMany'],
        storageClassName: 'modelship-local',
        volumeName: 'modelship-local-models',
        resources: { requests: { storage: '1Gi' } },
      },
    },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: storeNamespace } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'models', namespace: storeNamespace },
      spec: {
        selector: { matchLabels: { app: 'models' } },
        template: {
          metadata: { labels: { app: 'models' } },
          spec: {
            securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name: 'http',
                image: fileserverImage,
                imagePullPolicy: 'IfNotPresent',
                ports: [{ containerPort: 8080 }],
                readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 2 },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ['ALL'] },
                },
                volumeMounts: [{ name: 'models', mountPath: '/srv', readOnly: true }],
              },
            ],
            volumes: [{ name: 'models', hostPath: { path: root, type: 'Directory' } }],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'models', namespace: storeNamespace },
      spec: { selector: { app: 'models' }, ports: [{ port: 80, targetPort: 8080 }] },
    },
  ];
}

export async function deployModelStore(
  dir: string,
  kubeconfig: string,
  fileserverImage: string,
): Promise<void> {
  const root = writeSampleModels(dir);
  const docs = modelStoreManifests(root, fileserverImage)
    .map((d) => yaml.dump(d))
    .join('---\n');
  const r = await kubectl(['apply', '--server-side', '-f', '-'], { kubeconfig, input: docs });
  if (r.code !== 0) throw new Error(`could not create the local model store: ${r.stderr}`);
  const ready = await kubectl(
    ['-n', storeNamespace, 'rollout', 'status', 'deployment/models', '--timeout=120s'],
    { kubeconfig, timeoutMs: 130_000 },
  );
  if (ready.code !== 0) throw new Error(`the local model file server did not become ready: ${ready.stderr}`);
}
