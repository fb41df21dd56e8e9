/**
 * ModelDeployments in each state a GitOps tool must judge, made by the operator's own code: the real reconciler
 * against the in-memory API server (operator/src/testing/memory-world.ts), with the Deployment controller played by
 * setting Deployment status as Kubernetes would. Nothing here writes a ModelDeployment status by hand, so the
 * objects are exactly what Argo CD and kstatus would read from a cluster.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import type {
  Condition,
  ModelDeployment,
  ModelDeploymentSpec,
  Phase,
} from '../../operator/src/api/v1alpha1/schema.js';
import { kinds, ownedKinds } from '../../operator/src/resources.js';
import { requestAnnotation } from '../../operator/src/rollout/requests.js';
import { MemoryWorld, namespace } from '../../operator/src/testing/memory-world.js';

export type ArgoHealth = 'Healthy' | 'Progressing' | 'Degraded' | 'Suspended';
export type KstatusStatus = 'Current' | 'InProgress' | 'Failed';

export interface Scenario {
  name: string;
  /** The phase the operator must have written: proof that the scenario is the state it says. */
  phase: Phase;
  argo: ArgoHealth;
  /** Where Argo CD's message comes from: a condition's message, or a fixed text of the Lua script. */
  argoMessage: { condition: Condition['type'] } | { text: (md: ModelDeployment) => string };
  kstatus: KstatusStatus;
  build: () => Promise<ModelDeployment>;
}

const name = 'churn';
const spec = (version: string, extra: Partial<ModelDeploymentSpec> = {}): ModelDeploymentSpec => ({
  model: { version, storageUri: `pvc://models/churn/${version}/model.onnx` },
  ...extra,
});
const canary = {
  rollout: { strategy: 'Canary' as const, steps: [{ setWeight: 20 }, { analysis: { duration: '10m' } }] },
};

function markAllAvailable(world: MemoryWorld): void {
  for (const d of world.deployments(name)) world.markAvailable(d.metadata!.name!);
}

/** The Deployment of `revision` never becomes available: its progress deadline passes, as the controller says. */
function failDeployment(world: MemoryWorld, deployment: string): void {
  world.api.update<V1Deployment>(ownedKinds.deployments, namespace, deployment, (d) => {
    const replicas = d.spec?.replicas ?? 1;
    d.status = {
      observedGeneration: d.metadata?.generation,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: 0,
      availableReplicas: 0,
      conditions: [
        {
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: `ReplicaSet "${deployment}-5d8f" has timed out progressing.`,
        },
      ],
    };
  });
}

/** The Deployment names of revisions other than those in `known`. */
function newDeployments(world: MemoryWorld, known: string[]): string[] {
  return world
    .deployments(name)
    .map((d) => d.metadata!.name!)
    .filter((n) => !known.includes(n));
}

/** A first revision, applied and reconciled until it serves. */
async function serving(s: ModelDeploymentSpec): Promise<MemoryWorld> {
  const world = new MemoryWorld();
  world.applyModelDeployment(name, s);
  await world.reconcile(name);
  markAllAvailable(world);
  await world.reconcile(name);
  return world;
}

/** v1 serves, v2 is applied with a canary rollout and takes its first weight. */
async function canaryAt20(): Promise<MemoryWorld> {
  const world = await serving(spec('1', canary));
  world.applyModelDeployment(name, spec('2', canary));
  await world.reconcile(name); // creates the canary's Deployment
  markAllAvailable(world);
  await world.reconcile(name); // the canary takes 20 %
  return world;
}

function request(world: MemoryWorld, action: string): void {
  world.api.update<ModelDeployment>(kinds.modelDeployment, namespace, name, (md) => {
    md.metadata.annotations = {
      ...md.metadata.annotations,
      [requestAnnotation]: JSON.stringify({ id: `${action}-1`, action }),
    };
  });
}

export const scenarios: Scenario[] = [
  {
    name: 'pending',
    phase: 'Pending',
    argo: 'Progressing',
    argoMessage: { condition: 'Progressing' },
    kstatus: 'InProgress',
    build: async () => {
      const world = new MemoryWorld();
      world.applyModelDeployment(name, spec('1'));
      await world.reconcile(name);
      return world.modelDeployment(name);
    },
  },
  {
    name: 'ready',
    phase: 'Ready',
    argo: 'Healthy',
    argoMessage: { condition: 'Ready' },
    kstatus: 'Current',
    build: async () => (await serving(spec('1'))).modelDeployment(name),
  },
  {
    name: 'generation-lag',
    phase: 'Ready',
    argo: 'Progressing',
    argoMessage: { text: (md) => `Waiting for the operator to observe generation ${md.metadata.generation}` },
    kstatus: 'InProgress',
    build: async () => {
      // A new commit applied; the operator has not reconciled it yet: the status still describes generation 1.
      const world = await serving(spec('1'));
      world.applyModelDeployment(name, spec('2'));
      return world.modelDeployment(name);
    },
  },
  {
    name: 'bluegreen-progressing',
    phase: 'Progressing',
    argo: 'Progressing',
    argoMessage: { condition: 'Progressing' },
    kstatus: 'InProgress',
    build: async () => {
      const world = await serving(spec('1'));
      world.applyModelDeployment(name, spec('2'));
      await world.reconcile(name);
      return world.modelDeployment(name);
    },
  },
  {
    name: 'bluegreen-revision-failed',
    phase: 'Degraded',
    argo: 'Degraded',
    argoMessage: { condition: 'Stalled' },
    kstatus: 'Failed',
    build: async () => {
      const world = await serving(spec('1'));
      const old = world.deployments(name).map((d) => d.metadata!.name!);
      world.applyModelDeployment(name, spec('2'));
      await world.reconcile(name);
      for (const d of newDeployments(world, old)) failDeployment(world, d);
      await world.reconcile(name);
      return world.modelDeployment(name);
    },
  },
  {
    name: 'canary-progressing',
    phase: 'Progressing',
    argo: 'Progressing',
    argoMessage: { condition: 'Progressing' },
    kstatus: 'InProgress',
    build: async () => (await canaryAt20()).modelDeployment(name),
  },
  {
    name: 'canary-paused',
    phase: 'Paused',
    argo: 'Suspended',
    argoMessage: { condition: 'Progressing' },
    kstatus: 'InProgress',
    build: async () => {
      const world = await canaryAt20();
      request(world, 'pause');
      await world.reconcile(name);
      return world.modelDeployment(name);
    },
  },
  {
    name: 'rolled-back',
    phase: 'RolledBack',
    argo: 'Degraded',
    argoMessage: { condition: 'Stalled' },
    kstatus: 'Failed',
    build: async () => {
      const world = await canaryAt20();
      request(world, 'abort');
      await world.reconcile(name);
      return world.modelDeployment(name);
    },
  },
  {
    name: 'live-revision-failed',
    phase: 'Failed',
    argo: 'Degraded',
    argoMessage: { condition: 'Stalled' },
    kstatus: 'Failed',
    build: async () => {
      const world = new MemoryWorld();
      world.applyModelDeployment(name, spec('1'));
      await world.reconcile(name);
      for (const d of world.deployments(name)) failDeployment(world, d.metadata!.name!);
      await world.reconcile(name);
      return world.modelDeployment(name);
    },
  },
  {
    // spec.runtime.replicas: 0 is what Git asks for: Argo CD calls it Healthy, as it does a Deployment of 0 replicas. kstatus
    // cannot: it reads Ready False as InProgress whatever else the status says, and Ready here means "the model
    // answers requests". Kept as an expectation so that a change on either side is seen.
    name: 'scaled-to-zero',
    phase: 'Ready',
    argo: 'Healthy',
    argoMessage: { condition: 'Ready' },
    kstatus: 'InProgress',
    build: async () => (await serving(spec('1', { runtime: { replicas: 0 } }))).modelDeployment(name),
  },
];

/** Builds every scenario's object and checks that the operator put it in the phase the scenario names. */
export async function buildScenarios(): Promise<{ scenario: Scenario; md: ModelDeployment }[]> {
  const built = [];
  for (const scenario of scenarios) {
    const md = await scenario.build();
    if (md.status?.phase !== scenario.phase)
      throw new Error(
        `scenario ${scenario.name}: the operator wrote phase ${md.status?.phase}, not ${scenario.phase}`,
      );
    built.push({ scenario, md });
  }
  return built;
}
