/**
 * A ModelVersion's life as a pure function: the phase it is in and what just happened go in; the next phase and the
 * reason and message for its condition come out, or an explicit error for a transition that makes no sense (the
 * reconciler logs it and leaves the status alone; nothing throws).
 *
 *   event               from                      to
 *   validationStarted   Candidate                 Validating
 *   validationPassed    Validating                Validating (the gate decides next)
 *   validationFailed    Validating                Rejected
 *   gatePassed          Validating                Approved
 *   gateFailed          Validating                Rejected
 *   rolloutStarted      Approved                  Canary
 *   promoted            Approved, Canary, Retired Stable
 *   rolledBack          Canary                    Rejected
 *   superseded          Approved, Canary, Stable  Retired
 *   jobFailed           Candidate                 Rejected
 *
 * Choices worth knowing:
 * - `validationPassed` keeps the version `Validating` (the phase list has no "validated"): the gate decides next, and
 *   the condition says validation passed meanwhile.
 * - `superseded` retires Approved and Canary versions as well as the Stable one: in Manual mode nobody may ever
 *   promote an older approved version, and only terminal versions are pruned, so without this they would pile up.
 *   A canary abandoned because the user changed `spec.model` (the user wins) is retired, not rejected: nothing was
 *   found wrong with it.
 * - `promoted` from Approved is a BlueGreen switch (no canary phase); from Retired it is an undo to an earlier kept
 *   revision.
 * - An event that leads to the phase the version is already in is a no-op (`changed: false`):
 *   a level-based reconcile that sees the same fact twice must not fail nor rewrite the first reason.
 * - Rejected is final: a fixed model is a new run and a new version.
 */

export const PHASES = [
  'Candidate',
  'Validating',
  'Rejected',
  'Approved',
  'Canary',
  'Stable',
  'Retired',
] as const;
export type VersionPhase = (typeof PHASES)[number];

/** Phases no event leaves (except an undo out of Retired); only these are pruned. */
export const TERMINAL_PHASES: readonly VersionPhase[] = ['Rejected', 'Retired'];

export type VersionEvent =
  | { type: 'validationStarted'; job?: string }
  | { type: 'validationFailed'; reason: string }
  | { type: 'validationPassed' }
  | { type: 'gatePassed'; mode?: 'Manual' | 'Auto' }
  | { type: 'gateFailed'; reasons: string[] }
  | { type: 'rolloutStarted' }
  | { type: 'promoted' }
  | { type: 'rolledBack'; reason: string }
  | { type: 'superseded'; by?: string }
  | { type: 'jobFailed'; reason: string };

export type VersionEventType = VersionEvent['type'];

export type Transition =
  | { ok: true; changed: true; phase: VersionPhase; reason: string; message: string }
  /** The version is already where the event leads: keep the status as it is. */
  | { ok: true; changed: false; phase: VersionPhase }
  | { ok: false; error: string };

/** From which phases each event is allowed, and where it leads. */
const RULES: Record<VersionEventType, { from: readonly VersionPhase[]; to: VersionPhase; reason: string }> = {
  validationStarted: { from: ['Candidate'], to: 'Validating', reason: 'ValidationStarted' },
  validationFailed: { from: ['Validating'], to: 'Rejected', reason: 'ValidationFailed' },
  validationPassed: { from: ['Validating'], to: 'Validating', reason: 'ValidationPassed' },
  gatePassed: { from: ['Validating'], to: 'Approved', reason: 'GatePassed' },
  gateFailed: { from: ['Validating'], to: 'Rejected', reason: 'GateFailed' },
  rolloutStarted: { from: ['Approved'], to: 'Canary', reason: 'RolloutStarted' },
  promoted: { from: ['Approved', 'Canary', 'Retired'], to: 'Stable', reason: 'Promoted' },
  rolledBack: { from: ['Canary'], to: 'Rejected', reason: 'RolledBack' },
  superseded: { from: ['Approved', 'Canary', 'Stable'], to: 'Retired', reason: 'Superseded' },
  jobFailed: { from: ['Candidate'], to: 'Rejected', reason: 'JobFailed' },
};

/** The phase and condition a version registered from a finished training job starts with. */
export function initialPhase(job: string): { phase: VersionPhase; reason: string; message: string } {
  return { phase: 'Candidate', reason: 'Registered', message: `registered from training job ${job}` };
}

export function nextPhase(current: VersionPhase, event: VersionEvent): Transition {
  // The types rule out an unknown event, but a status or event built from stored data may still carry one.
  if (!Object.hasOwn(RULES, event.type)) return { ok: false, error: `unknown event ${String(event.type)}` };
  const rule = RULES[event.type];
  // validationPassed is a real step although the phase stays: it is not a repeat.
  if (current === rule.to && event.type !== 'validationPassed')
    return { ok: true, changed: false, phase: current };
  if (!rule.from.includes(current))
    return {
      ok: false,
      error: `a ${current} version cannot take the event ${event.type}: only a version that is ${orList(rule.from)} can`,
    };
  return { ok: true, changed: true, phase: rule.to, reason: rule.reason, message: messageOf(event, current) };
}

function messageOf(event: VersionEvent, from: VersionPhase): string {
  switch (event.type) {
    case 'validationStarted':
      return event.job ? `validation job ${event.job} started` : 'validation started';
    case 'validationFailed':
      return `validation failed: ${event.reason}`;
    case 'validationPassed':
      return 'validation passed: the model loads and serves; the quality gate decides next';
    case 'gatePassed':
      return event.mode === 'Auto'
        ? 'passed the quality gate; it is rolled out next (mode Auto)'
        : event.mode === 'Manual'
          ? 'passed the quality gate; waiting for kubectl modelship promote (mode Manual)'
          : 'passed the quality gate';
    case 'gateFailed':
      return event.reasons.length === 0
        ? 'failed the quality gate'
        : `failed the quality gate: ${event.reasons.join('; ')}`;
    case 'rolloutStarted':
      return 'rollout started';
    case 'promoted':
      return from === 'Retired' ? 'became the stable version again' : 'became the stable version';
    case 'rolledBack':
      return `rolled back: ${event.reason}`;
    case 'superseded':
      return event.by
        ? `superseded: version ${event.by} became the stable version`
        : 'superseded by another version';
    case 'jobFailed':
      return `training job failed: ${event.reason}`;
  }
}

const orList = (phases: readonly VersionPhase[]): string =>
  phases.length === 1 ? phases[0]! : `${phases.slice(0, -1).join(', ')} or ${phases[phases.length - 1]}`;

/** What pruning needs to know of a ModelVersion; the caller's own type passes through. */
export interface PrunableVersion {
  name: string;
  phase: VersionPhase;
  /** metadata.creationTimestamp. */
  created: Date;
}

/**
 * The versions to delete so that at most `historyLimit` remain in a terminal phase (Rejected, Retired): the oldest
 * first, by creation time, then by name (Kubernetes timestamps have one-second resolution, and two runs may share
 * one). Versions in any other phase are never pruned: they serve, are about to, or are still being decided.
 * A `historyLimit` that is not a non-negative number prunes nothing: deleting is the one irreversible step here,
 * so bad input must not turn into deleting every version.
 */
export function versionsToPrune<T extends PrunableVersion>(
  versions: readonly T[],
  historyLimit: number,
): T[] {
  if (!(historyLimit >= 0)) return [];
  const keep = Math.floor(historyLimit);
  const terminal = versions.filter((v) => TERMINAL_PHASES.includes(v.phase)).sort(byAge);
  return terminal.slice(0, Math.max(0, terminal.length - keep));
}

/** Oldest first; an unreadable date counts as oldest (Kubernetes always sets one: such an object is broken). */
function byAge(a: PrunableVersion, b: PrunableVersion): number {
  const ta = timeOf(a.created);
  const tb = timeOf(b.created);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

const timeOf = (d: Date): number => {
  const t = d instanceof Date ? d.getTime() : NaN;
  return Number.isNaN(t) ? -Infinity : t;
};
