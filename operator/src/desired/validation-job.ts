/**
 * The validation Job of a ModelVersion: the serving image's `modelship-server inspect` loads the model exactly as the
 * serving pods will (same image, same fetch, same sha256 check, same warm-up, same storage volumes and variables),
 * reads its signature, scores the holdout set the run left beside it, and writes the result to its termination
 * message. Owned by the ModelVersion. Pure.
 */
import type { V1EnvVar, V1Job, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import * as serverEnv from '../../../server-image/src/env.js';
import { group, version as apiVersionName, type ModelDeployment } from '../api/v1alpha1/schema.js';
import { modelVersionKind, type ModelVersion } from '../api/v1alpha1/model-version.js';
import { commonLabels, labelKeys } from './names.js';
import { parsePvcUri, paths } from './pod.js';
import { caBundleVolume, nodeEnvironment } from './security.js';

export const validationComponent = 'validation';
export const modelVersionLabel = 'modelship.dev/model-version';
/** The longest a validation may take: a large model over a slow link. */
export const validationDeadlineSeconds = 900;

/** `<version>-validate`, shortened to a Job name's 63 characters. */
export function validationJobName(mv: ModelVersion): string {
  return `${mv.metadata.name!.slice(0, 54).replace(/-+$/, '')}-validate`;
}

function storageVolumes(uris: string[]): { volumes: V1Volume[]; mounts: V1VolumeMount[] } {
  const claims = [...new Set(uris.map((u) => parsePvcUri(u)?.claim).filter((c): c is string => !!c))];
  return {
    volumes: claims.map((claim, i) => ({
      name: `pvc-${i}`,
      persistentVolumeClaim: { claimName: claim, readOnly: true },
    })),
    mounts: claims.map((claim, i) => ({
      name: `pvc-${i}`,
      mountPath: `${paths.pvcRoot}/${claim}`,
      readOnly: true,
    })),
  };
}

export function validationJob(md: ModelDeployment, mv: ModelVersion, image: string): V1Job {
  const model = mv.spec.model;
  const storage = storageVolumes([model.storageUri, ...(mv.spec.holdoutUri ? [mv.spec.holdoutUri] : [])]);
  const ca = caBundleVolume(md);
  const ours: Record<string, string | undefined> = {
    [serverEnv.MODEL_NAME]: model.name,
    [serverEnv.MODEL_VERSION]: model.version,
    [serverEnv.MODEL_URI]: model.storageUri,
    [serverEnv.MODEL_SHA256]: model.sha256,
    [serverEnv.CACHE_DIR]: paths.cache,
    [serverEnv.PVC_ROOT]: paths.pvcRoot,
    [serverEnv.HOLDOUT_URI]: mv.spec.holdoutUri,
    [serverEnv.INSPECT_TIMEOUT_MS]: String((validationDeadlineSeconds - 30) * 1000),
  };
  const env: V1EnvVar[] = [
    ...Object.entries(ours)
      .filter(([, v]) => v !== undefined)
      .map(([name, value]) => ({ name, value: value! })),
    // The serving pods' own variables (S3 credentials, CA certificates): the model must load the same way.
    ...nodeEnvironment(md),
    ...(md.spec.runtime?.env ?? []),
  ];
  const labels = {
    ...commonLabels(md),
    [labelKeys.component]: validationComponent,
    [modelVersionLabel]: mv.metadata.name!,
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: validationJobName(mv),
      namespace: mv.metadata.namespace,
      labels,
      ownerReferences: [
        {
          apiVersion: `${group}/${apiVersionName}`,
          kind: modelVersionKind,
          name: mv.metadata.name!,
          uid: mv.metadata.uid!,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: validationDeadlineSeconds,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          serviceAccountName: md.spec.runtime?.serviceAccountName,
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
          nodeSelector: md.spec.runtime?.nodeSelector,
          tolerations: md.spec.runtime?.tolerations,
          containers: [
            {
              name: 'inspect',
              image,
              imagePullPolicy: 'IfNotPresent',
              args: ['inspect'],
              env,
              resources: md.spec.runtime?.resources,
              terminationMessagePolicy: 'FallbackToLogsOnError',
              volumeMounts: [
                { name: 'model-cache', mountPath: paths.cache },
                { name: 'tmp', mountPath: paths.tmp },
                ...storage.mounts,
                ...ca.mounts,
              ],
              securityContext: {
                runAsNonRoot: true,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
            },
          ],
          volumes: [
            { name: 'model-cache', emptyDir: {} },
            { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
            ...storage.volumes,
            ...ca.volumes,
          ],
        },
      },
    },
  };
}
