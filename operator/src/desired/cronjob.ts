/**
 * The retraining CronJob `<name>-retrain` of a ModelDeployment with spec.retraining, and the Jobs made from it. Pure.
 *
 * kube-controller-manager runs it (CronJob → Job → Pod); each run writes under its own folder, named after its Job,
 * and reports through its termination message (the job contract, README "Retraining"). The training pod runs like
 * the serving pods: non-root, read-only root filesystem, no capabilities, seccomp RuntimeDefault, a writable /tmp.
 */
import { createHash } from 'node:crypto';
import type { V1CronJob, V1EnvVar, V1Job, V1JobSpec, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { ModelDeployment } from '../api/v1alpha1/schema.js';
import type { RetrainingSpec, trainerEnv } from '../api/v1alpha1/retraining.js';
import { commonLabels, labelKeys, servedModelName } from './names.js';
import { ownedMeta } from './owner.js';
import { parsePvcUri } from './pod.js';

export const retrainingComponent = 'retraining';
export const trainerContainerName = 'trainer';
/** Where a pvc:// output's claim is mounted in the training pod. */
export const outputMount = '/modelship/output';
export const terminationLog = '/dev/termination-log';
/** The label the Job controller puts on a Job's pods (Kubernetes >= 1.27). */
export const jobNameLabel = 'batch.kubernetes.io/job-name';

/** A CronJob's name may have 52 characters at most (its Jobs append 11). */
const cronJobNameMax = 52;

/** `<name>-retrain`, or a shortened name with a hash of the full one when that is too long. */
export function retrainCronJobName(md: ModelDeployment): string {
  const name = md.metadata.name!;
  const plain = `${name}-retrain`;
  if (plain.length <= cronJobNameMax) return plain;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 6);
  return `${name.slice(0, cronJobNameMax - 15).replace(/-+$/, '')}-${hash}-retrain`;
}

/** Labels of the CronJob, its Jobs and their pods (the operator's informers see them; the owner is found by them). */
export function retrainingLabels(md: ModelDeployment): Record<string, string> {
  return { ...commonLabels(md), [labelKeys.component]: retrainingComponent };
}

export interface StableModel {
  version: string;
  storageUri?: string;
}

type TrainerEnvName = keyof typeof trainerEnv;

/** `s3://bucket/prefix/` or `pvc://claim/prefix` without a trailing slash. */
const trimSlash = (uri: string) => uri.replace(/\/+$/, '');

function trainerEnvironment(
  md: ModelDeployment,
  r: RetrainingSpec,
  stable: StableModel | undefined,
): V1EnvVar[] {
  const output = trimSlash(r.output);
  const pvc = parsePvcUri(`${output}/`);
  // MODELSHIP_RUN_ID first: the others refer to it with $(...), which Kubernetes expands in order.
  const runId: V1EnvVar = {
    name: 'MODELSHIP_RUN_ID',
    valueFrom: { fieldRef: { fieldPath: `metadata.labels['${jobNameLabel}']` } },
  };
  const values: Record<Exclude<TrainerEnvName, 'MODELSHIP_RUN_ID'>, string | undefined> = {
    MODELSHIP_DEPLOYMENT: md.metadata.name!,
    MODELSHIP_MODEL_NAME: servedModelName(md),
    MODELSHIP_OUTPUT_URI: `${output}/$(MODELSHIP_RUN_ID)`,
    MODELSHIP_OUTPUT_DIR: pvc
      ? `${outputMount}/${trimSlash(pvc.path)}/$(MODELSHIP_RUN_ID)`.replace(/\/\/+/g, '/')
      : undefined,
    MODELSHIP_STABLE_VERSION: stable?.version,
    MODELSHIP_STABLE_MODEL_URI: stable?.storageUri,
    MODELSHIP_TERMINATION_LOG: terminationLog,
  };
  const ours = Object.entries(values)
    .filter(([, v]) => v !== undefined)
    .map(([name, value]) => ({ name, value: value! }));
  return [runId, ...ours, ...(r.template.env ?? [])];
}

/** The output claim of a pvc:// output, mounted read-write: the run writes its folder into it. */
function outputVolume(r: RetrainingSpec): { volume: V1Volume; mount: V1VolumeMount } | undefined {
  const pvc = parsePvcUri(`${trimSlash(r.output)}/`);
  if (!pvc) return undefined;
  return {
    volume: { name: 'modelship-output', persistentVolumeClaim: { claimName: pvc.claim } },
    mount: { name: 'modelship-output', mountPath: outputMount },
  };
}

/** What a run does: the Job spec of the CronJob, also used for a run started at once (kubectl modelship retrain). */
export function trainingJobSpec(
  md: ModelDeployment,
  r: RetrainingSpec,
  stable: StableModel | undefined,
): V1JobSpec {
  const t = r.template;
  const output = outputVolume(r);
  const volumes: V1Volume[] = [
    { name: 'tmp', emptyDir: {} },
    ...(output ? [output.volume] : []),
    ...(t.volumes ?? []),
  ];
  const mounts: V1VolumeMount[] = [
    { name: 'tmp', mountPath: '/tmp' },
    ...(output ? [output.mount] : []),
    ...(t.volumeMounts ?? []),
  ];
  return {
    backoffLimit: r.backoffLimit,
    activeDeadlineSeconds: r.activeDeadlineSeconds,
    template: {
      metadata: { labels: retrainingLabels(md) },
      spec: {
        restartPolicy: 'Never',
        serviceAccountName: t.serviceAccountName,
        // Only a trainer that names a ServiceAccount gets a token.
        automountServiceAccountToken: t.serviceAccountName !== undefined,
        securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
        nodeSelector: t.nodeSelector,
        tolerations: t.tolerations,
        containers: [
          {
            name: trainerContainerName,
            image: t.image,
            imagePullPolicy: t.imagePullPolicy,
            command: t.command,
            args: t.args,
            env: trainerEnvironment(md, r, stable),
            envFrom: t.envFrom,
            resources: t.resources,
            volumeMounts: mounts,
            // The summary is the file; a crash without one still tells why, from the last log lines.
            terminationMessagePath: terminationLog,
            terminationMessagePolicy: 'FallbackToLogsOnError',
            securityContext: {
              runAsNonRoot: true,
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
              capabilities: { drop: ['ALL'] },
            },
          },
        ],
        volumes,
      },
    },
  };
}

export function desiredCronJob(md: ModelDeployment, stable: StableModel | undefined): V1CronJob | undefined {
  const r = md.spec.retraining;
  if (!r) return undefined;
  const labels = retrainingLabels(md);
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: ownedMeta(md, retrainCronJobName(md), labels),
    spec: {
      schedule: r.schedule,
      timeZone: r.timeZone,
      suspend: r.suspend,
      concurrencyPolicy: r.concurrencyPolicy,
      successfulJobsHistoryLimit: r.successfulJobsHistoryLimit,
      failedJobsHistoryLimit: r.failedJobsHistoryLimit,
      // A run missed by more than this (the controller was down) is skipped, not started late in a burst.
      startingDeadlineSeconds: 300,
      jobTemplate: { metadata: { labels }, spec: trainingJobSpec(md, r, stable) },
    },
  };
}

/** A run started at once from the CronJob's template, as `kubectl create job --from=cronjob/...` makes one. */
export function manualTrainingJob(
  cronJob: V1CronJob,
  suffix: string,
  trigger: 'manual' | 'drift' = 'manual',
): V1Job {
  const name = `${cronJob.metadata!.name!.slice(0, 63 - suffix.length - trigger.length - 2)}-${trigger}-${suffix}`;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: cronJob.metadata!.namespace,
      labels: cronJob.spec!.jobTemplate.metadata?.labels,
      annotations: { 'cronjob.kubernetes.io/instantiate': 'manual', 'modelship.dev/trigger': trigger },
      ownerReferences: [
        {
          apiVersion: 'batch/v1',
          kind: 'CronJob',
          name: cronJob.metadata!.name!,
          uid: cronJob.metadata!.uid!,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: cronJob.spec!.jobTemplate.spec,
  };
}
