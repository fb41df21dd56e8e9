/**
 * Which model a ModelDeployment serves: spec.model, or an approved ModelVersion in its place. Pure.
 *
 * GitOps stays safe: the operator never writes spec. A promoted version is recorded in status.model together with a
 * hash of spec.model at that moment; when the user changes spec.model, the spec wins (and that is recorded). A version
 * is promoted by mode Auto as soon as it is Approved, or by `kubectl modelship promote` (the annotation below on the
 * ModelVersion). After the rollout machine's tick, the versions' phases follow what it did: Canary while the canary
 * runs, Stable once it serves, Rejected when rolled back (the previous version keeps serving), Retired when replaced.
 */
import type { ModelVersion, ModelVersionStatus } from '../api/v1alpha1/model-version.js';
import type { ModelDeployment, ModelSpec, ServedModel } from '../api/v1alpha1/schema.js';
import type { ModelCardSpec } from '../api/v1alpha1/security.js';
import type { RolloutState } from '../rollout/machine.js';
import { applyEvent } from './registry.js';
import { specModelHash } from './spec-hash.js';
import { specVersionName } from './spec-version.js';

/** Set by `kubectl modelship promote` on an Approved ModelVersion: the time it was asked. */
export const promoteAnnotation = 'modelship.dev/promote';

export { specModelHash };

const created = (v: ModelVersion) => new Date(v.metadata.creationTimestamp ?? 0).getTime() || 0;
/** When serving it was asked for: its promote annotation, or (mode Auto) its registration. */
const requestedAt = (v: ModelVersion) =>
  new Date(v.metadata.annotations?.[promoteAnnotation] ?? 0).getTime() || created(v);

/** An Approved version someone asked to serve (mode Auto asks for every one), newest first. */
function requested(md: ModelDeployment, versions: ModelVersion[]): ModelVersion[] {
  const auto = md.spec.retraining?.promotion?.mode === 'Auto';
  return versions
    .filter((v) => v.status?.phase === 'Approved' && (auto || v.metadata.annotations?.[promoteAnnotation]))
    .sort((a, b) => requestedAt(b) - requestedAt(a) || b.metadata.name!.localeCompare(a.metadata.name!));
}

export interface Choice {
  served: ServedModel;
  /** The name of the ModelVersion recording spec.model (when the spec is what serves). */
  specVersion?: string;
  /** The model the revisions are built from: spec.model, or the ModelVersion's. */
  model: ModelSpec;
  /** The ModelVersion served, if one is. */
  version?: ModelVersion;
}

function fromVersion(md: ModelDeployment, v: ModelVersion): ModelSpec {
  // spec.model.signature signs spec.model's file, not what a run wrote: a run's file is pinned by the sha256 it
  // reported and was validated by the operator instead.
  const { signature, ...model } = md.spec.model;
  return {
    ...(v.spec.source.kind === 'Job' ? model : { ...model, ...(signature ? { signature } : {}) }),
    version: v.spec.model.version,
    storageUri: v.spec.model.storageUri,
    ...(v.spec.model.sha256 ? { sha256: v.spec.model.sha256 } : {}),
  };
}

/**
 * The model card the serving pods carry: a run's version's own (stored when it was registered, with the run's
 * metrics), else spec.modelCard.
 */
export function servedCard(md: ModelDeployment, choice: Pick<Choice, 'version'>): ModelCardSpec | undefined {
  const v = choice.version;
  return v?.spec.source.kind === 'Job' ? v.spec.modelCard : md.spec.modelCard;
}

export function chooseModel(md: ModelDeployment, versions: ModelVersion[], now: Date): Choice {
  const hash = specModelHash(md.spec.model);
  const previous = md.status?.model;
  const at = now.toISOString();
  const spec = (reason: string, keepSince = false): Choice => ({
    model: md.spec.model,
    specVersion: specVersionName(md.metadata.name!, md.spec.model),
    served: {
      source: 'Spec',
      version: md.spec.model.version,
      specModelHash: hash,
      reason,
      since: keepSince && previous?.since ? previous.since : at,
    },
  });
  const version = (v: ModelVersion, reason: string, keepSince = false): Choice => ({
    model: fromVersion(md, v),
    version: v,
    served: {
      source: 'ModelVersion',
      modelVersion: v.metadata.name!,
      version: v.spec.model.version,
      specModelHash: hash,
      reason,
      since: keepSince && previous?.since ? previous.since : at,
    },
  });

  if (previous && previous.specModelHash !== hash)
    return spec(
      previous.source === 'ModelVersion'
        ? `spec.model changed (to version ${md.spec.model.version}): it wins over ModelVersion ${previous.modelVersion}`
        : 'spec.model',
    );
  const current =
    previous?.source === 'ModelVersion'
      ? versions.find((v) => v.metadata.name === previous.modelVersion)
      : undefined;
  // Only a request made after the last decision takes over: after spec.model won, an older approved version
  // must not come back by itself.
  const decidedAt = previous ? new Date(previous.since).getTime() || 0 : -Infinity;
  const next = requested(md, versions).find((v) => v !== current && requestedAt(v) > decidedAt);
  if (next)
    return version(
      next,
      next.metadata.annotations?.[promoteAnnotation]
        ? `ModelVersion ${next.metadata.name} promoted (kubectl modelship promote)`
        : `ModelVersion ${next.metadata.name} approved (promotion mode Auto)`,
    );
  if (previous?.source === 'Spec') return spec(previous.reason, true);
  if (current && current.status?.phase !== 'Rejected' && current.status?.phase !== 'Retired')
    return version(current, previous!.reason, true);
  // The promoted version was rolled back or is gone (or nothing was recorded): back to the one that serves.
  const stable = versions.find((v) => v.status?.phase === 'Stable');
  if (stable)
    return version(
      stable,
      current
        ? `ModelVersion ${current.metadata.name} was rejected; ${stable.metadata.name} keeps serving`
        : `ModelVersion ${stable.metadata.name} serves`,
    );
  return spec(
    current ? `ModelVersion ${current.metadata.name} was rejected; spec.model serves` : 'spec.model',
  );
}

/**
 * The versions' statuses after a tick: `target` is the revision the chosen model makes, `state` the machine's state
 * after the tick. Returns the changed statuses by name.
 */
export function phasesAfterTick(
  versions: ModelVersion[],
  choice: Choice,
  target: string,
  state: RolloutState,
  now: Date,
): Map<string, ModelVersionStatus> {
  const out = new Map<string, ModelVersionStatus>();
  // The version being rolled out: the promoted ModelVersion, or the one recording spec.model.
  const chosen =
    choice.version ??
    versions.find((v) => v.spec.source.kind === 'Spec' && v.metadata.name === choice.specVersion);
  const set = (v: ModelVersion, status: ModelVersionStatus) => {
    if (status !== (out.get(v.metadata.name!) ?? v.status)) out.set(v.metadata.name!, status);
  };
  const statusOf = (v: ModelVersion) => out.get(v.metadata.name!) ?? v.status ?? {};
  const targetServes = state.stable?.revision === target && !state.canary;
  if (chosen) {
    let s = statusOf(chosen);
    if (state.rejected?.revision === target && !targetServes) {
      s = applyEvent(s, { type: 'rolloutStarted' }, now);
      s = applyEvent(
        s,
        { type: 'rolledBack', reason: state.rejected.reason ?? 'the rollout was rolled back' },
        now,
      );
    } else if (state.canary?.revision === target) {
      s = applyEvent(s, { type: 'rolloutStarted' }, now);
    } else if (targetServes && s.phase !== 'Stable') {
      s = applyEvent(s, { type: 'promoted' }, now);
      if (s.phase === 'Stable') s = { ...s, servedAt: now.toISOString() };
    }
    set(chosen, s);
  }
  if (targetServes)
    for (const v of versions) {
      if (v.metadata.name === chosen?.metadata.name) continue;
      const phase = statusOf(v).phase;
      if (phase !== 'Stable' && phase !== 'Canary') continue;
      const retired = applyEvent(statusOf(v), { type: 'superseded', by: choice.served.version }, now);
      set(v, retired.phase === 'Retired' ? { ...retired, retiredAt: now.toISOString() } : retired);
    }
  return out;
}
