/**
 * The digest policy: a remote model (http://, https://, s3://) must name its sha256 when spec.model.requireDigest is
 * set (the API server refuses that spec already) or when the operator runs with --require-model-digest (a policy for
 * every ModelDeployment, which no schema can express). A refused model is never rolled out: what serves keeps serving,
 * and the status and a Warning Event say why. Pure.
 */
import type { Condition, ModelDeploymentStatus, ModelSpec } from '../api/v1alpha1/schema.js';
import { ConditionType, setCondition } from '../api/v1alpha1/conditions.js';

export const digestRequiredReason = 'DigestRequired';

const remote = /^(https?|s3):\/\//;

/** The URI without its query or fragment: a presigned URL's signature never reaches a status or an Event. */
export function redactedUri(uri: string): string {
  return uri.replace(/[?#].*$/, '');
}

/** Why `model` may not roll out, or undefined when it may. */
export function digestRefusal(model: ModelSpec, requiredByOperator: boolean): string | undefined {
  if (!requiredByOperator && !model.requireDigest) return undefined;
  if (model.sha256 !== undefined || !remote.test(model.storageUri)) return undefined;
  const rule = requiredByOperator
    ? 'the operator requires a sha256 for every remote model (--require-model-digest)'
    : 'spec.model.requireDigest is set';
  return `version ${model.version} is not rolled out: ${redactedUri(model.storageUri)} has no sha256 and ${rule}; set spec.model.sha256`;
}

/**
 * The status with the spec's model refused. While an earlier revision serves (`serving`), it keeps serving: phase
 * Degraded, Degraded True. Otherwise nothing can: phase Failed, Ready False. Either way Progressing False and
 * Stalled True (nothing happens until the spec changes), each with the reason.
 */
export function refusedStatus(
  status: ModelDeploymentStatus | undefined,
  message: string,
  serving: boolean,
  generation: number | undefined,
  now: string,
): ModelDeploymentStatus {
  const set: [ConditionType, Condition['status']][] = [
    serving ? [ConditionType.Degraded, 'True'] : [ConditionType.Ready, 'False'],
    [ConditionType.Progressing, 'False'],
    [ConditionType.Reconciling, 'False'],
    [ConditionType.Stalled, 'True'],
  ];
  let conditions: Condition[] = status?.conditions ?? [];
  for (const [type, s] of set)
    conditions = setCondition(
      conditions,
      { type, status: s, reason: digestRequiredReason, message },
      now,
      generation,
    );
  return { ...status, observedGeneration: generation, phase: serving ? 'Degraded' : 'Failed', conditions };
}

/** Whether the refusal is news (the status does not say it yet): its Warning Event is recorded once. */
export function isNewRefusal(previous: ModelDeploymentStatus | undefined, message: string): boolean {
  const stalled = previous?.conditions?.find((c) => c.type === ConditionType.Stalled);
  return !(stalled?.reason === digestRequiredReason && stalled.message === message);
}
