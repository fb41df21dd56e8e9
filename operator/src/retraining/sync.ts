/**
 * Retraining's reads and writes for one reconcile: what the caches show of the runs, their pods and the
 * ModelVersions (observeRetraining), and the writes that carry out registry.ts' and serving.ts' decisions. The
 * decisions themselves are pure and live there.
 */
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { ModelVersion, ModelVersionStatus } from '../api/v1alpha1/model-version.js';
import type { ModelDeployment } from '../api/v1alpha1/schema.js';
import { jobNameLabel, retrainingComponent } from '../desired/cronjob.js';
import { commonLabels, labelKeys } from '../desired/names.js';
import { ownerReference } from '../desired/owner.js';
import { modelVersionLabel, validationComponent, validationJob } from '../desired/validation-job.js';
import type { KubeWriter } from '../kube/client.js';
import type { EventRecorder } from '../kube/events.js';
import type { Caches } from '../reconcile/observe.js';
import { kinds } from '../resources.js';
import type { Logger } from '../telemetry/logger.js';
import { applyEvent, type ObservedJob, type RegistryPlan } from './registry.js';

export const versionComponent = 'model-version';

export interface RetrainingObservation {
  runs: ObservedJob[];
  versions: ModelVersion[];
  validations: Map<string, ObservedJob>;
}

/** The termination message of the Job's newest pod that has terminated (retries make several pods). */
function messageOf(job: V1Job, pods: V1Pod[]): string | undefined {
  const mine = pods
    .filter((p) => p.metadata?.labels?.[jobNameLabel] === job.metadata?.name)
    .map((p) => p.status?.containerStatuses?.[0]?.state?.terminated)
    .filter((t) => t !== undefined)
    .sort((a, b) => new Date(b.finishedAt ?? 0).getTime() - new Date(a.finishedAt ?? 0).getTime());
  return mine[0]?.message;
}

export function observeRetraining(md: ModelDeployment, caches: Caches): RetrainingObservation {
  const ns = md.metadata.namespace!;
  const name = md.metadata.name!;
  const pods = caches.pods.list(ns).filter((p) => p.metadata?.labels?.[labelKeys.deployment] === name);
  const jobs = caches.jobs.list(ns).filter((j) => j.metadata?.labels?.[labelKeys.deployment] === name);
  const observed = (job: V1Job): ObservedJob => ({ job, message: messageOf(job, pods) });
  const versions = caches.modelVersions
    .list(ns)
    .filter(
      (v) =>
        v.spec?.deployment === name &&
        v.metadata.ownerReferences?.some((r) => r.controller && r.uid === md.metadata.uid),
    )
    .map(
      (v) =>
        ({ ...v, apiVersion: kinds.modelVersion.apiVersion, kind: kinds.modelVersion.kind }) as ModelVersion,
    );
  const validations = new Map<string, ObservedJob>();
  for (const j of jobs)
    if (j.metadata?.labels?.[labelKeys.component] === validationComponent) {
      const version = j.metadata.labels[modelVersionLabel];
      if (version) validations.set(version, observed(j));
    }
  return {
    runs: jobs.filter((j) => j.metadata?.labels?.[labelKeys.component] === retrainingComponent).map(observed),
    versions,
    validations,
  };
}

export interface RetrainingWriter {
  client: KubeWriter;
  recorder: EventRecorder;
  log: Logger;
  /** The serving image validation runs with: the image the model will be served by. */
  image: string;
  now: Date;
}

/** Carries out a registry plan: new versions, validation Jobs, status changes, pruning, Events. */
export async function applyRegistry(
  md: ModelDeployment,
  plan: RegistryPlan,
  versions: ModelVersion[],
  w: RetrainingWriter,
): Promise<void> {
  for (const { version, status } of plan.create) {
    const labels = { ...commonLabels(md), [labelKeys.component]: versionComponent };
    const created = await w.client.apply({
      ...version,
      metadata: { ...version.metadata, labels, ownerReferences: [ownerReference(md)] },
    });
    await w.client.patchStatus(
      { ...created, apiVersion: kinds.modelVersion.apiVersion, kind: kinds.modelVersion.kind },
      status,
    );
    w.log.info(`registered ModelVersion ${version.metadata.name}`, {
      version: version.spec.model.version,
      phase: status.phase,
    });
  }
  for (const v of plan.validate) {
    const job = validationJob(md, v, w.image);
    // Already created (the cache has not shown it yet, or the status write below lost a race): apply is idempotent.
    await w.client.apply(job);
    const status: ModelVersionStatus = {
      ...(v.status ?? {}),
      validation: { ...v.status?.validation, job: job.metadata!.name! },
    };
    const validating = applyEvent(status, { type: 'validationStarted', job: job.metadata!.name! }, w.now);
    await writeStatus(v, validating, w);
  }
  for (const [name, status] of plan.statuses) {
    const v = versions.find((x) => x.metadata.name === name);
    if (v) await writeStatus(v, status, w);
  }
  for (const name of plan.prune) {
    const v = versions.find((x) => x.metadata.name === name);
    if (v && (await w.client.delete(v))) w.log.info(`deleted ModelVersion ${name} (version history limit)`);
  }
  for (const e of plan.events) await w.recorder.record(md, e);
}

export async function writeStatus(
  v: ModelVersion,
  status: ModelVersionStatus,
  w: RetrainingWriter,
): Promise<void> {
  if (JSON.stringify(status) === JSON.stringify(v.status ?? {})) return;
  await w.client.patchStatus(v, status);
  if (status.phase !== v.status?.phase)
    w.log.info(`ModelVersion ${v.metadata.name} is ${status.phase}`, { version: v.spec.model.version });
}
