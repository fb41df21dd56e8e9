/** Names, labels and the revision hash: the one place they are decided. Pure. */
import { createHash } from 'node:crypto';
import type { ModelDeployment, ModelDeploymentSpec } from '../api/v1alpha1/schema.js';
import { canonicalJson } from '../util/canonical-json.js';

export const labelKeys = {
  deployment: 'modelship.dev/deployment',
  revision: 'modelship.dev/revision',
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  version: 'app.kubernetes.io/version',
  component: 'app.kubernetes.io/component',
  managedBy: 'app.kubernetes.io/managed-by',
  partOf: 'app.kubernetes.io/part-of',
} as const;

export const managedBy = 'modelship';
/** Selects everything the operator creates (informers watch only these). */
export const managedSelector = `${labelKeys.managedBy}=${managedBy}`;

/** Length of a revision name: 10 base-36 characters, so `<name>-<revision>` fits 63 with a 52-character name. */
export const revisionLength = 10;

/** The served model name: spec.model.name, or the ModelDeployment's own name. */
export function servedModelName(md: ModelDeployment): string {
  return md.spec.model.name ?? md.metadata.name!;
}

/**
 * The revision of a spec: a hash of everything that shapes the serving pods (model, runtime settings, the effective
 * image, and who may call it, over what, with which card: auth, tls, modelCard), and nothing that only scales them
 * (replicas, autoscaling), so that scaling never starts a rollout. Key order does not matter; the spec should
 * already carry its defaults. Absent fields leave no trace (canonicalJson drops undefined), so a spec without the
 * later fields keeps the revision it always had. The Secrets that auth and tls name are in it by name only: their
 * rotated contents are reloaded by the pods in place, never a new revision.
 */
export function revisionOf(spec: ModelDeploymentSpec, image: string): string {
  const { replicas: _replicas, autoscaling: _autoscaling, image: _image, ...shaping } = spec.runtime ?? {};
  const { auth, tls, modelCard } = spec;
  const digest = createHash('sha256')
    .update(canonicalJson({ model: spec.model, runtime: shaping, image, auth, tls, modelCard }))
    .digest();
  return BigInt(`0x${digest.subarray(0, 8).toString('hex')}`)
    .toString(36)
    .padStart(revisionLength, '0')
    .slice(-revisionLength);
}

/** Name of a revision's Deployment, Service, PodDisruptionBudget and HorizontalPodAutoscaler. */
export function revisionObjectName(md: ModelDeployment, revision: string): string {
  return `${md.metadata.name}-${revision}`;
}

/** Labels that select the pods of one revision. Stable for the life of the revision. */
export function revisionSelector(md: ModelDeployment, revision: string): Record<string, string> {
  return { [labelKeys.deployment]: md.metadata.name!, [labelKeys.revision]: revision };
}

/** Labels every object of a ModelDeployment carries. */
export function commonLabels(md: ModelDeployment): Record<string, string> {
  return {
    [labelKeys.deployment]: md.metadata.name!,
    [labelKeys.name]: 'modelship-model',
    [labelKeys.instance]: md.metadata.name!,
    [labelKeys.component]: 'model-server',
    [labelKeys.managedBy]: managedBy,
    [labelKeys.partOf]: 'modelship',
  };
}

/** Labels of a revision's objects and pods. */
export function revisionLabels(md: ModelDeployment, revision: string): Record<string, string> {
  return { ...commonLabels(md), [labelKeys.revision]: revision, [labelKeys.version]: md.spec.model.version };
}

/** The in-cluster URL of the model's V2 endpoint, through the `<name>` Service. */
export function modelUrl(md: ModelDeployment): string {
  return `http://${md.metadata.name}.${md.metadata.namespace}.svc.cluster.local/v2/models/${servedModelName(md)}`;
}
