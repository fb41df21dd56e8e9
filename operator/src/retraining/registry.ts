/**
 * What the operator does with retraining runs and their ModelVersions, decided from what the caches show. Pure.
 *
 *   a run finished      → a ModelVersion: Candidate (its summary parsed), or Rejected (the job failed, or its
 *                         summary is nonsense) with the reason; never a rollout
 *   Candidate           → a validation Job (the serving image's `inspect`), Validating
 *   validation finished → its result (signature, holdout metrics) and the quality gate → Approved or Rejected
 *   too many finished   → the oldest Rejected and Retired versions are deleted (versionHistoryLimit)
 *
 * Which version serves is decided in serving.ts; this file only registers, validates and gates.
 */
import type { V1Job } from '@kubernetes/client-node';
import type {
  ModelVersion,
  ModelVersionSpec,
  ModelVersionStatus,
  Signature,
} from '../api/v1alpha1/model-version.js';
import type { PromotionSpec } from '../api/v1alpha1/retraining.js';
import type { ModelDeployment, ModelSpec } from '../api/v1alpha1/schema.js';
import { specVersionName } from './spec-version.js';
import { evaluateGate } from './gate.js';
import { parseInspection } from './inspection.js';
import { parseSummary } from './summary.js';
import { nextPhase, versionsToPrune, type VersionEvent, type VersionPhase } from './version-phase.js';
import { versionCondition } from './version-status.js';

/** A finished or running Job, with the termination message of its one container once it has terminated. */
export interface ObservedJob {
  job: V1Job;
  message?: string;
}

export interface RegistryInput {
  md: ModelDeployment;
  /** spec.model as the user wrote it (md's may be a promoted version's); registered as a version of its own. */
  specModel?: ModelSpec;
  /** The ModelDeployment's training runs (CronJob or kubectl modelship retrain). */
  runs: ObservedJob[];
  versions: ModelVersion[];
  /** Validation Jobs by the name of the ModelVersion they validate. */
  validations: Map<string, ObservedJob>;
  now: Date;
}

export interface VersionEventRecord {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface RegistryPlan {
  /** ModelVersions to create, each with the status it starts with. */
  create: { version: ModelVersion; status: ModelVersionStatus }[];
  /** ModelVersions to validate now (a validation Job each). */
  validate: ModelVersion[];
  /** New statuses of existing ModelVersions, by name. */
  statuses: Map<string, ModelVersionStatus>;
  /** ModelVersions to delete (history limit). */
  prune: string[];
  events: VersionEventRecord[];
}

export type JobOutcome = { done: false } | { done: true; succeeded: boolean; reason: string };

/** Whether a Job finished, and how (its Complete or Failed condition). */
export function jobOutcome(job: V1Job): JobOutcome {
  const cond = (type: string) => job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
  const complete = cond('Complete') ?? cond('SuccessCriteriaMet');
  if (complete) return { done: true, succeeded: true, reason: 'completed' };
  const failed = cond('Failed') ?? cond('FailureTarget');
  if (failed)
    return { done: true, succeeded: false, reason: failed.message || failed.reason || 'the job failed' };
  return { done: false };
}

const trim = (uri: string) => uri.replace(/\/+$/, '');

/** The version label of a run without one of its own: when it started, `YYYYMMDD-HHMMSS` (UTC), ordered. */
export function versionFromRun(job: V1Job, now: Date): string {
  const at = job.status?.startTime ? new Date(job.status.startTime) : now;
  return at.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

function withPhase(
  status: ModelVersionStatus,
  phase: VersionPhase,
  reason: string,
  message: string,
  now: Date,
): ModelVersionStatus {
  return {
    ...status,
    phase,
    conditions: versionCondition(status.conditions ?? [], phase, reason, message, now.toISOString()),
  };
}

/** Applies a phase event to a version's status; an event the phase does not take leaves it as it is. */
export function applyEvent(status: ModelVersionStatus, event: VersionEvent, now: Date): ModelVersionStatus {
  const t = nextPhase(status.phase ?? 'Candidate', event);
  if (!t.ok || !t.changed) return status;
  return withPhase(status, t.phase, t.reason, t.message, now);
}

function register(
  md: ModelDeployment,
  run: ObservedJob,
  outcome: JobOutcome & { done: true },
  input: RegistryInput,
) {
  const r = md.spec.retraining!;
  const name = run.job.metadata!.name!;
  const folder = `${trim(r.output)}/${name}`;
  const base: ModelVersionSpec = {
    deployment: md.metadata.name!,
    model: {
      name: md.spec.model.name ?? md.metadata.name!,
      version: versionFromRun(run.job, input.now),
      storageUri: folder,
    },
    source: {
      kind: 'Job',
      name,
      ...(r.schedule ? { schedule: r.schedule } : {}),
      ...(md.status?.stable?.version ? { parentVersion: md.status.stable.version } : {}),
    },
  };
  const reject = (reason: string) => ({
    spec: base,
    status: withPhase({}, 'Rejected', 'JobFailed', reason, input.now),
    event: { type: 'Warning' as const, reason: 'VersionRejected', message: `run ${name}: ${reason}` },
  });
  if (!outcome.succeeded) {
    const logs = run.message?.trim() ? `; last output: ${run.message.trim().slice(-300)}` : '';
    return reject(`training job ${name} failed: ${outcome.reason}${logs}`);
  }
  const parsed = parseSummary(run.message ?? '');
  if (!parsed.ok)
    return reject(`training job ${name} succeeded but its summary is unusable: ${parsed.reason}`);
  const s = parsed.summary;
  const version = s.version ?? base.model.version;
  const taken = input.versions.find((v) => v.spec.model.version === version);
  if (taken) return reject(`version ${version} already exists (ModelVersion ${taken.metadata.name})`);
  const card = md.spec.modelCard;
  const spec: ModelVersionSpec = {
    ...base,
    model: { ...base.model, version, storageUri: `${folder}/${s.model}`, sha256: s.sha256 },
    metrics: s.metrics,
    // The card travels with the version; its evaluation is this run's, not the one the spec's model had.
    ...(card
      ? {
          modelCard:
            s.metrics && Object.keys(s.metrics).length ? { ...card, evaluationMetrics: s.metrics } : card,
        }
      : {}),
    ...(s.data ? { data: s.data } : {}),
    ...(s.holdout ? { holdoutUri: `${folder}/${s.holdout}` } : {}),
  };
  const registered = `registered from training job ${name}`;
  return {
    spec,
    status: withPhase({}, 'Candidate', 'Registered', registered, input.now),
    event: {
      type: 'Normal' as const,
      reason: 'VersionRegistered',
      message: `version ${version} ${registered}`,
    },
  };
}

/** The version whose metrics and signature a candidate is compared with: the one serving now. */
function stableVersion(versions: ModelVersion[]): ModelVersion | undefined {
  return versions.find((v) => v.status?.phase === 'Stable');
}

const holdoutMetrics = (h: Record<string, number> | undefined) =>
  Object.fromEntries(
    Object.entries(h ?? {}).map(([k, v]) => [k.startsWith('holdout.') ? k : `holdout.${k}`, v]),
  );

function judge(
  v: ModelVersion,
  validation: ObservedJob,
  promotion: Required<PromotionSpec>,
  stable: ModelVersion | undefined,
  now: Date,
): { status: ModelVersionStatus; event: VersionEventRecord } | undefined {
  const outcome = jobOutcome(validation.job);
  if (!outcome.done) return undefined;
  const status = v.status ?? {};
  const version = v.spec.model.version;
  const inspection = parseInspection(validation.message ?? '');
  if (!inspection.ok) {
    const reason = outcome.succeeded
      ? inspection.reason
      : `${inspection.reason} (the validation job ${outcome.reason})`;
    return {
      status: applyEvent(status, { type: 'validationFailed', reason }, now),
      event: {
        type: 'Warning',
        reason: 'VersionRejected',
        message: `version ${version}: validation failed: ${reason}`,
      },
    };
  }
  const holdout = holdoutMetrics(inspection.holdout);
  const validated: ModelVersionStatus = {
    ...status,
    signature: inspection.signature,
    validation: {
      ...status.validation,
      ...(inspection.loadMs !== undefined ? { loadMs: inspection.loadMs } : {}),
      ...(Object.keys(holdout).length ? { holdout } : {}),
    },
  };
  const gate = evaluateGate({
    policy: { ...promotion, metrics: promotion.metrics.map((m) => ({ ...m })) },
    candidate: { ...v.spec.metrics, ...holdout },
    stable: stable
      ? { ...stable.spec.metrics, ...holdoutMetrics(stable.status?.validation?.holdout) }
      : undefined,
    candidateSignature: inspection.signature as Signature,
    stableSignature: stable?.status?.signature,
  });
  const first = promotion.metrics[0]?.name;
  const candidateMetrics: Record<string, number> = { ...v.spec.metrics, ...holdout };
  const keyMetric =
    first !== undefined && candidateMetrics[first] !== undefined
      ? `${first}=${candidateMetrics[first]}`
      : undefined;
  const judged: ModelVersionStatus = {
    ...validated,
    gate: gate.checks,
    ...(keyMetric ? { keyMetric } : {}),
  };
  const passedValidation = applyEvent(judged, { type: 'validationPassed' }, now);
  if (v.spec.source.kind === 'Spec') {
    const { gate: _notGated, ...validatedOnly } = passedValidation;
    const message =
      'validated; spec.model is served as the user asked (the quality gate is for retrained versions)';
    return {
      status: withPhase(validatedOnly, 'Approved', 'Validated', message, now),
      event: {
        type: 'Normal',
        reason: 'VersionValidated',
        message: `version ${version} (spec.model): ${message}`,
      },
    };
  }
  if (!gate.passed)
    return {
      status: applyEvent(passedValidation, { type: 'gateFailed', reasons: gate.reasons }, now),
      event: {
        type: 'Warning',
        reason: 'VersionRejected',
        message: `version ${version} failed the quality gate: ${gate.reasons.join('; ')}`,
      },
    };
  return {
    status: applyEvent(passedValidation, { type: 'gatePassed', mode: promotion.mode }, now),
    event: {
      type: 'Normal',
      reason: 'VersionApproved',
      message:
        promotion.mode === 'Auto'
          ? `version ${version} passed validation and the quality gate; rolling it out (promotion mode Auto)`
          : `version ${version} passed validation and the quality gate; kubectl modelship promote ${v.spec.deployment} --version ${version} rolls it out`,
    },
  };
}

export function planRegistry(input: RegistryInput): RegistryPlan {
  const { md, now } = input;
  const plan: RegistryPlan = { create: [], validate: [], statuses: new Map(), prune: [], events: [] };
  const r = md.spec.retraining;
  const byName = new Map(input.versions.map((v) => [v.metadata.name!, v]));

  // The user's own spec.model is a version too (source Spec): validated like a run's, never gated (it is what the
  // user asked for), so that the first retrained version has a signature to be compatible with.
  const specModel = input.specModel ?? md.spec.model;
  const specName = specVersionName(md.metadata.name!, specModel);
  if (r && !byName.has(specName)) {
    const message = `registered from spec.model (version ${specModel.version})`;
    plan.create.push({
      version: {
        apiVersion: 'modelship.dev/v1alpha1',
        kind: 'ModelVersion',
        metadata: { name: specName, namespace: md.metadata.namespace },
        spec: {
          deployment: md.metadata.name!,
          model: {
            name: specModel.name ?? md.metadata.name!,
            version: specModel.version,
            storageUri: specModel.storageUri,
            ...(specModel.sha256 ? { sha256: specModel.sha256 } : {}),
          },
          source: { kind: 'Spec' },
          ...(md.spec.modelCard ? { modelCard: md.spec.modelCard } : {}),
        },
      },
      status: withPhase({}, 'Candidate', 'Registered', message, now),
    });
    plan.events.push({
      type: 'Normal',
      reason: 'VersionRegistered',
      message: `version ${specModel.version} ${message}`,
    });
  }

  if (r) {
    for (const run of input.runs) {
      const name = run.job.metadata?.name;
      if (!name || byName.has(name)) continue;
      const outcome = jobOutcome(run.job);
      if (!outcome.done) continue;
      const made = register(md, run, outcome, {
        ...input,
        versions: [...input.versions, ...plan.create.map((c) => c.version)],
      });
      const version: ModelVersion = {
        apiVersion: 'modelship.dev/v1alpha1',
        kind: 'ModelVersion',
        metadata: { name, namespace: md.metadata.namespace },
        spec: made.spec,
      };
      plan.create.push({ version, status: made.status });
      plan.events.push(made.event);
    }
  }

  const promotion = {
    mode: r?.promotion?.mode ?? 'Manual',
    metrics: r?.promotion?.metrics ?? [],
    requireCompatibleSignature: r?.promotion?.requireCompatibleSignature ?? true,
  } as Required<PromotionSpec>;
  const stable = stableVersion(input.versions);
  for (const v of input.versions) {
    const phase = v.status?.phase ?? 'Candidate';
    if (phase === 'Candidate') {
      // The validation Job is created now; Validating once it exists (its name is in the status).
      plan.validate.push(v);
      continue;
    }
    if (phase !== 'Validating') continue;
    const validation = input.validations.get(v.metadata.name!);
    if (!validation) {
      plan.validate.push(v);
      continue;
    }
    const judged = judge(v, validation, promotion, stable, now);
    if (judged) {
      plan.statuses.set(v.metadata.name!, judged.status);
      plan.events.push(judged.event);
    }
  }

  const limit = r?.versionHistoryLimit ?? 10;
  const phaseAfter = (v: ModelVersion) =>
    plan.statuses.get(v.metadata.name!)?.phase ?? v.status?.phase ?? 'Candidate';
  plan.prune = versionsToPrune(
    input.versions.map((v) => ({
      name: v.metadata.name!,
      phase: phaseAfter(v),
      created: new Date(v.metadata.creationTimestamp ?? now),
    })),
    limit,
  ).map((v) => v.name);
  return plan;
}
