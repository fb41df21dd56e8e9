import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { apiVersion, kind, type ModelDeployment } from './api/v1alpha1/schema.js';
import { Controller } from './controller.js';
import { MemoryApi } from './kube/testing/memory-api.js';
import { kinds, ownedKinds } from './resources.js';
import { silentLogger } from './telemetry/logger.js';
import { createOperatorMetrics } from './telemetry/metrics.js';
import { allKinds, image, namespace } from './testing/memory-world.js';

/** Resolves once `check` returns something truthy; polls, so it never depends on how fast the machine is. */
async function until<T>(what: string, check: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

// Informers, queue and reconciles run for real: on a loaded machine a test may take seconds.
jest.setTimeout(60_000);

let running: Controller | undefined;
afterEach(async () => {
  await running?.stop(5000);
  running = undefined;
});

async function start(resyncPeriodMs = 60_000) {
  const api = new MemoryApi(allKinds);
  const metrics = createOperatorMetrics(new Registry(), false);
  const controller = new Controller({
    kubeConfig: new KubeConfig(),
    namespaces: 'all',
    logger: silentLogger(),
    metrics,
    serverImage: image,
    concurrency: 2,
    maxConcurrentRollouts: 3,
    resyncPeriodMs,
    transportFor: (k) => api.transport(k),
    writer: api,
  });
  running = controller;
  await controller.startCaches();
  controller.start();
  const reconciles = async () => (await metrics.reconciles.get()).values.reduce((sum, v) => sum + v.value, 0);
  return { api, controller, reconciles };
}

const iris = (version: string): ModelDeployment => ({
  apiVersion,
  kind,
  metadata: { name: 'iris', namespace, uid: 'uid-iris', generation: Number(version) },
  spec: { model: { version, storageUri: `pvc://models/iris/${version}/model.onnx` } },
});

const deploymentsOf = (api: MemoryApi) => api.list<V1Deployment>(ownedKinds.deployments);
const statusOf = (api: MemoryApi) =>
  api.get<ModelDeployment>(kinds.modelDeployment, namespace, 'iris')?.status;

function markAvailable(api: MemoryApi, d: V1Deployment): void {
  api.update<V1Deployment>(ownedKinds.deployments, namespace, d.metadata!.name!, (o) => {
    o.status = {
      observedGeneration: o.metadata?.generation,
      replicas: 1,
      updatedReplicas: 1,
      readyReplicas: 1,
      availableReplicas: 1,
    };
  });
}

describe('Controller (informers, queue and reconciler over the in-memory API)', () => {
  it('serves a new ModelDeployment once its Deployment is available, driven by watch events alone', async () => {
    const { api } = await start();
    api.put(kinds.modelDeployment, iris('1'));
    const [deployment] = await until(
      'the Deployment',
      () => deploymentsOf(api).length === 1 && deploymentsOf(api),
    );
    markAvailable(api, deployment!);
    await until('Ready', () => statusOf(api)?.phase === 'Ready');
    expect(api.get(ownedKinds.services, namespace, 'iris')).toBeDefined();
  });

  it('makes no request in steady state, however often it reconciles', async () => {
    const { api, reconciles } = await start(10);
    api.put(kinds.modelDeployment, iris('1'));
    const [deployment] = await until(
      'the Deployment',
      () => deploymentsOf(api).length === 1 && deploymentsOf(api),
    );
    markAvailable(api, deployment!);
    await until('Ready', () => statusOf(api)?.phase === 'Ready');
    const before = await reconciles();
    api.requests.splice(0);
    // Periodic resyncs reconcile the settled object again and again.
    while ((await reconciles()) < before + 20) await new Promise((r) => setTimeout(r, 10));
    expect(api.requests).toEqual([]);
  });

  it('reverts a hand edit of an owned object when its watch event arrives', async () => {
    const { api } = await start();
    api.put(kinds.modelDeployment, iris('1'));
    const [deployment] = await until(
      'the Deployment',
      () => deploymentsOf(api).length === 1 && deploymentsOf(api),
    );
    const name = deployment!.metadata!.name!;
    api.update<V1Deployment>(ownedKinds.deployments, namespace, name, (d) => {
      d.spec!.template.spec!.containers[0]!.image = 'someone/else:latest';
    });
    await until('the image to be reverted', () => {
      const d = api.get<V1Deployment>(ownedKinds.deployments, namespace, name);
      return d?.spec?.template.spec?.containers[0]?.image === image;
    });
  });

  it('rolls a changed spec out and keeps the old revision scaled to 0', async () => {
    const { api } = await start();
    api.put(kinds.modelDeployment, iris('1'));
    const [first] = await until(
      'the first Deployment',
      () => deploymentsOf(api).length === 1 && deploymentsOf(api),
    );
    markAvailable(api, first!);
    await until('Ready', () => statusOf(api)?.phase === 'Ready');
    api.update<ModelDeployment>(kinds.modelDeployment, namespace, 'iris', (md) => {
      md.spec = iris('2').spec;
      md.metadata.generation = 2;
    });
    const second = await until('the second Deployment', () =>
      deploymentsOf(api).find((d) => d.metadata!.name !== first!.metadata!.name),
    );
    markAvailable(api, second);
    await until('version 2 serving, version 1 kept at 0 replicas', () => {
      const old = api.get<V1Deployment>(ownedKinds.deployments, namespace, first!.metadata!.name!);
      return statusOf(api)?.stable?.version === '2' && old?.spec?.replicas === 0;
    });
    expect(statusOf(api)?.phase).toBe('Ready');
  });
});
