/**
 * The rollout state machine: what serves, what a canary does next, when to roll back. Pure: the persisted state
 * (the ModelDeployment's status), what the cluster shows (revision health), this tick's judgement and a user's
 * request, and the time, go in; the next state, the traffic split, the revisions to keep, Events and when to look
 * again come out. Keyed to revisions: a spec change mid-rollout starts over from the new revision, and an operator
 * restarted between two ticks resumes exactly where the status says it was.
 *
 * The rules:
 * - Nothing serves yet: the spec's revision serves at once (there is nobody to protect).
 * - BlueGreen: a new revision takes all traffic in one step once it is available; until then, and if it fails,
 *   the stable one keeps serving.
 * - Canary: a new revision becomes available at weight 0, then walks the steps (setWeight, pause, analysis); it is
 *   judged at every interval while it takes traffic, and on a failed judgement beyond failureLimit, a failed
 *   revision, or an abort, all traffic goes back to stable at once and the revision is rejected until the spec
 *   names another one or a retry is asked for. After the last step it becomes the stable version.
 * - Undo: back to an earlier kept revision (a scale-up and a switch); the spec's revision is rejected meanwhile.
 * The spec is never changed: which revision serves, and why, is state.
 */
import type {
  CanaryStatus,
  HandledRequest,
  Phase,
  RejectedRevision,
  RolloutRecord,
} from '../api/v1alpha1/schema.js';
import type { EventRecord } from '../kube/events.js';
import type { RevisionHealth } from './health.js';
import { overall, type MetricCheck, type Verdict } from './judge.js';
import { weightBefore, type RolloutPlan, type Step } from './plan.js';

export interface RevisionRef {
  revision: string;
  version: string;
}

export type UserRequest = { id: string } & (
  | { action: 'promote'; full?: boolean }
  | { action: 'abort' }
  | { action: 'retry' }
  | { action: 'pause' }
  | { action: 'resume' }
  | { action: 'undo'; toRevision?: string }
);

/** What the machine keeps between ticks: the rollout part of the status. */
export interface RolloutState {
  stable?: RevisionRef;
  canary?: CanaryStatus;
  rejected?: RejectedRevision;
  /** Finished rollouts, newest first (at most historyLength). */
  history: RolloutRecord[];
  lastRequest?: HandledRequest;
}

export interface Tick {
  now: Date;
  plan: RolloutPlan;
  /** The revision the spec asks for. */
  target: RevisionRef;
  /** Health of every revision that has a Deployment. */
  health: Record<string, RevisionHealth | undefined>;
  /** This tick's judgement of the canary, when one was due (see judgementDue). */
  judgement?: Verdict[];
  /** A request not handled yet (its id differs from lastRequest's). */
  request?: UserRequest;
}

export type Role = 'stable' | 'canary' | 'incoming' | 'history' | 'rejected';

export interface TickResult {
  state: RolloutState;
  /**
   * Traffic: the stable revision and, during a canary, the canary and its weight (0-100); during a shadow step the
   * canary (at weight 0) receives a mirrored copy of the requests, compared with the given tolerance.
   */
  traffic: {
    stable: RevisionRef;
    canary?: RevisionRef;
    canaryWeight: number;
    shadow?: { ref: RevisionRef; tolerance: { absolute: number; relative: number } };
  };
  /** Revisions that should exist, by role; every other revision of the ModelDeployment goes. */
  revisions: { ref: RevisionRef; role: Role }[];
  phase?: Exclude<Phase, 'Pending' | 'Ready' | 'Degraded' | 'Failed'>;
  /** The Progressing condition's reason and message when a rollout is under way or has just ended. */
  progress?: { status: 'True' | 'False'; reason: string; message: string };
  events: EventRecord[];
  /** When to look again although nothing changes: a step ends, a judgement is due (ms from now). */
  requeueAfterMs?: number;
}

export const historyLength = 10;

const ref = (r: RevisionRef): RevisionRef => ({ revision: r.revision, version: r.version });
const describe = (r: RevisionRef) => `revision ${r.revision} (version ${r.version})`;
const ms = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso));

/** Steps that judge the canary even at weight 0: analysis, and shadow (on mirrored traffic). */
const judgingStep = (step: Step | undefined): boolean => step?.kind === 'analysis' || step?.kind === 'shadow';

/**
 * Whether the canary should be judged now: it takes traffic (or is in an analysis or shadow step) and an interval
 * passed.
 */
export function judgementDue(state: RolloutState, plan: RolloutPlan, now: Date): boolean {
  const c = state.canary;
  if (!c || c.stepStartedAt === undefined) return false;
  if (c.weight === 0 && !judgingStep(plan.steps[c.step])) return false;
  const last = ms(c.analysis.evaluatedAt);
  return last === undefined || now.getTime() - last >= plan.analysis.intervalMs;
}

/** What a due judgement checks: agreement alone in a shadow step (no live traffic yet), else the plan's checks. */
export function checksDue(state: RolloutState, plan: RolloutPlan): MetricCheck[] {
  const step = state.canary ? plan.steps[state.canary.step] : undefined;
  return step?.kind === 'shadow' ? [step.check] : plan.analysis.checks;
}

export function tick(previous: RolloutState, t: Tick): TickResult {
  // A JSON copy, as the state is JSON (it lives in the status); structuredClone would make objects of another realm
  // under Jest, which never compare equal to the status read back.
  const s = JSON.parse(JSON.stringify(previous)) as RolloutState;
  const events: EventRecord[] = [];
  const now = t.now.toISOString();
  const target = ref(t.target);

  // Nothing serves yet: the spec's revision serves at once.
  if (!s.stable) {
    s.stable = target;
    record(s, {
      ...target,
      outcome: 'Promoted',
      reason: 'the first revision',
      startedAt: now,
      finishedAt: now,
    });
    return steady(s, t, events);
  }
  if (t.request) handleRequest(s, t, events);
  // The spec names another revision than the rejected one: the rejection has done its job.
  if (s.rejected && s.rejected.revision !== target.revision) s.rejected = undefined;

  // A canary of a revision the spec no longer asks for (or that was rejected meanwhile) ends here.
  if (s.canary && (s.canary.revision !== target.revision || s.rejected?.revision === target.revision)) {
    if (s.canary.revision !== target.revision)
      finish(s, s.canary, 'Superseded', `the spec asks for ${describe(target)} now`, now, events);
    s.canary = undefined;
  }

  if (s.rejected) return serveFallback(s, t, events);
  if (target.revision === s.stable.revision) return steady(s, t, events);
  if (t.plan.strategy === 'BlueGreen') return switchWhenAvailable(s, t, target, events);
  return canary(s, t, target, events);
}

/** The spec's revision serves; earlier ones are kept as history. */
function steady(s: RolloutState, t: Tick, events: EventRecord[]): TickResult {
  return result(s, t, events, { canaryWeight: 0 });
}

/**
 * One-step switch to `incoming` once all its replicas are available (BlueGreen, and undo). Until then, and if it
 * fails, the stable revision keeps all traffic.
 */
function switchWhenAvailable(
  s: RolloutState,
  t: Tick,
  incoming: RevisionRef,
  events: EventRecord[],
  why = 'rolled out in one step',
): TickResult {
  const now = t.now.toISOString();
  const health = t.health[incoming.revision];
  if (health?.state === 'Available') {
    const from = s.stable!;
    s.stable = incoming;
    record(s, { ...incoming, outcome: 'Promoted', reason: why, startedAt: now, finishedAt: now });
    events.push({
      type: 'Normal',
      reason: 'TrafficSwitched',
      message: `Traffic moved from ${describe(from)} to ${describe(incoming)}`,
    });
    return result(s, t, events, { canaryWeight: 0 });
  }
  return result(s, t, events, { canaryWeight: 0, incoming });
}

/** The spec's revision was rejected: the fallback serves (brought up and switched to first, after an undo). */
function serveFallback(s: RolloutState, t: Tick, events: EventRecord[]): TickResult {
  const fallback = s.rejected!.fallback;
  let r: TickResult;
  if (fallback.revision !== s.stable!.revision) {
    r = switchWhenAvailable(s, t, fallback, events, 'undo: an earlier revision serves again');
    if (s.stable!.revision !== fallback.revision)
      return {
        ...r,
        phase: 'Progressing',
        progress: {
          status: 'True',
          reason: 'Undoing',
          message: `bringing ${describe(fallback)} back (${t.health[fallback.revision]?.message ?? 'no pods yet'}); ${describe(s.stable!)} serves until it is available`,
        },
      };
  } else {
    r = result(s, t, events, { canaryWeight: 0 });
  }
  return {
    ...r,
    phase: 'RolledBack',
    progress: {
      status: 'False',
      reason: 'RolledBack',
      message: `${describe(s.rejected!)} was rolled back: ${s.rejected!.reason}; ${describe(fallback)} serves. Apply another version, or retry this one (kubectl modelship retry).`,
    },
  };
}

/** A canary of `target`: become available at weight 0, walk the steps, be judged, become stable or roll back. */
function canary(s: RolloutState, t: Tick, target: RevisionRef, events: EventRecord[]): TickResult {
  const now = t.now.toISOString();
  const nowMs = t.now.getTime();
  const { plan } = t;
  if (!s.canary) {
    s.canary = {
      ...target,
      weight: 0,
      readyReplicas: 0,
      step: 0,
      steps: plan.steps.length,
      startedAt: now,
      analysis: { verdict: 'Pending', failures: 0 },
    };
    events.push({
      type: 'Normal',
      reason: 'CanaryStarted',
      message: `Started a canary of ${describe(target)} against ${describe(s.stable!)}, ${plan.steps.length} steps`,
    });
  }
  const c = s.canary;
  c.steps = plan.steps.length;
  const health = t.health[target.revision];
  c.readyReplicas = health?.readyReplicas ?? 0;
  if (health?.state === 'Failed')
    return rollBack(s, t, `the revision failed (${health.reason}): ${health.message}`, events);
  if (c.stepStartedAt === undefined) {
    // The steps' clock starts once the canary can take traffic.
    if (health?.state !== 'Available')
      return canaryResult(s, t, events, {
        reason: 'CanaryStarting',
        message: `${describe(c)} is starting (${health?.message ?? 'no pods yet'}); ${describe(s.stable!)} takes all traffic`,
      });
    c.stepStartedAt = now;
  }

  // Judge: a failure beyond the limit, or no data past its timeout under Wait, rolls back at once.
  if (t.judgement) {
    const verdict = overall(t.judgement);
    const a = c.analysis;
    a.evaluatedAt = now;
    a.lastValues = t.judgement.map((v) => ({
      metric: v.metric,
      verdict: v.verdict,
      canary: v.canary,
      stable: v.stable,
      limit: v.limit,
      samples: v.samples,
    }));
    const effective =
      verdict === 'NoData' && plan.analysis.noData.policy !== 'Wait'
        ? plan.analysis.noData.policy === 'Pass'
          ? 'Pass'
          : 'Fail'
        : verdict;
    a.verdict = verdict;
    if (verdict === 'NoData') a.noDataSince ??= now;
    else a.noDataSince = undefined;
    const shadow = plan.steps[c.step]?.kind === 'shadow';
    if (effective === 'Fail') {
      a.failures++;
      if (a.failures > plan.analysis.failureLimit) {
        const why =
          verdict === 'NoData'
            ? `no data to judge it (noData policy Fail): ${t.judgement.map((v) => v.reason).join('; ')}`
            : t.judgement
                .filter((v) => v.verdict === 'Fail')
                .map((v) => v.reason)
                .join('; ');
        // Judged on mirrored traffic, before any live weight: no user ever got its answers.
        if (shadow)
          return rollBack(s, t, `shadow traffic: ${why}; no user saw its answers`, events, 'ShadowFailed');
        return rollBack(s, t, `analysis failed: ${why}`, events);
      }
    } else if (effective === 'Pass') {
      a.passedAt = now;
    }
    if (verdict === 'NoData' && plan.analysis.noData.policy === 'Wait') {
      const waited = nowMs - ms(a.noDataSince)!;
      if (waited >= plan.analysis.noData.timeoutMs)
        return rollBack(
          s,
          t,
          `no data to judge it for ${Math.round(waited / 1000)} s (noData policy Wait, timeout ${Math.round(plan.analysis.noData.timeoutMs / 1000)} s): ${t.judgement.map((v) => v.reason).join('; ')}`,
          events,
        );
    }
  }

  // Walk the steps that are done.
  let requeueAfterMs: number | undefined;
  while (c.step < plan.steps.length && !c.pausedAt) {
    const step = plan.steps[c.step]!;
    const started = ms(c.stepStartedAt)!;
    if (step.kind === 'setWeight') {
      c.weight = step.weight;
      events.push({
        type: 'Normal',
        reason: 'CanaryWeightChanged',
        message: `${describe(c)} now takes ${step.weight}% of the traffic (step ${c.step + 1} of ${plan.steps.length})`,
      });
      advance(c, now);
      continue;
    }
    if (step.kind === 'pause') {
      if (step.ms === undefined) {
        c.pausedAt = now;
        c.pausedBy = 'step';
        break;
      }
      const left = started + step.ms - nowMs;
      if (left > 0) {
        requeueAfterMs = left;
        break;
      }
      advance(c, now);
      continue;
    }
    // An analysis or shadow step: the whole duration, and at least one passing judgement within it.
    const left = started + step.ms - nowMs;
    const passed = (ms(c.analysis.passedAt) ?? -Infinity) >= started;
    if (left > 0 || !passed) {
      requeueAfterMs = left > 0 ? left : undefined;
      break;
    }
    advance(c, now);
  }

  if (c.step >= plan.steps.length) return promote(s, t, events);
  return canaryResult(s, t, events, undefined, requeueAfterMs);
}

function advance(c: CanaryStatus, now: string): void {
  c.step++;
  c.stepStartedAt = now;
}

/** The canary becomes the stable version. */
function promote(s: RolloutState, t: Tick, events: EventRecord[], why = 'every step passed'): TickResult {
  const c = s.canary!;
  const now = t.now.toISOString();
  const from = s.stable!;
  s.stable = ref(c);
  s.canary = undefined;
  record(s, { ...ref(c), outcome: 'Promoted', reason: why, startedAt: c.startedAt, finishedAt: now });
  events.push({
    type: 'Normal',
    reason: 'CanaryPromoted',
    message: `${describe(c)} is the stable version now (${why}); ${describe(from)} is kept for undo`,
  });
  return result(s, t, events, { canaryWeight: 0 });
}

/** All traffic back to stable at once; the canary's revision is rejected until the spec changes or a retry. */
function rollBack(
  s: RolloutState,
  t: Tick,
  reason: string,
  events: EventRecord[],
  by = 'RolledBack',
): TickResult {
  const c = s.canary!;
  const now = t.now.toISOString();
  s.rejected = { ...ref(c), reason, at: now, fallback: ref(s.stable!) };
  s.canary = undefined;
  record(s, { ...ref(c), outcome: 'RolledBack', reason, startedAt: c.startedAt, finishedAt: now });
  events.push({
    type: 'Warning',
    reason: by,
    message: `Rolled back ${describe(c)} at ${c.weight}%: ${reason}; ${describe(s.stable!)} takes all traffic`,
  });
  return serveFallback(s, t, events);
}

function handleRequest(s: RolloutState, t: Tick, events: EventRecord[]): void {
  const r = t.request!;
  const now = t.now.toISOString();
  const c = s.canary?.revision === t.target.revision ? s.canary : undefined;
  const done = (result: string) => {
    s.lastRequest = { id: r.id, action: r.action, result };
  };
  switch (r.action) {
    case 'promote': {
      if (!c) return done('nothing to promote: no canary is in progress');
      if (r.full) {
        c.step = t.plan.steps.length;
        c.pausedAt = undefined;
        c.pausedBy = undefined;
        return done(`promoting ${describe(c)} fully`);
      }
      const wasPaused = c.pausedAt !== undefined;
      c.pausedAt = undefined;
      c.pausedBy = undefined;
      // A pause or analysis step in progress ends now; a setWeight step would be taken anyway.
      const step = t.plan.steps[c.step];
      if (step && step.kind !== 'setWeight' && c.stepStartedAt !== undefined) advance(c, now);
      return done(`${describe(c)} goes on to step ${c.step + 1}${wasPaused ? ' (resumed)' : ''}`);
    }
    case 'abort': {
      if (!c) return done('nothing to abort: no canary is in progress');
      s.rejected = { ...ref(c), reason: 'aborted by a user', at: now, fallback: ref(s.stable!) };
      record(s, {
        ...ref(c),
        outcome: 'RolledBack',
        reason: 'aborted by a user',
        startedAt: c.startedAt,
        finishedAt: now,
      });
      events.push({
        type: 'Warning',
        reason: 'CanaryAborted',
        message: `Aborted the canary of ${describe(c)} at ${c.weight}%; ${describe(s.stable!)} takes all traffic`,
      });
      s.canary = undefined;
      return done(`aborted the canary of ${describe(c)}`);
    }
    case 'retry': {
      if (s.rejected?.revision !== t.target.revision)
        return done("nothing to retry: the spec's revision is not rolled back");
      s.rejected = undefined;
      return done(`retrying ${describe(t.target)}`);
    }
    case 'pause': {
      if (!c) return done('nothing to pause: no canary is in progress');
      c.pausedAt ??= now;
      c.pausedBy = 'user';
      return done(`paused the canary of ${describe(c)} at ${c.weight}%`);
    }
    case 'resume': {
      if (!c?.pausedAt) return done('nothing to resume: no canary is paused');
      c.pausedAt = undefined;
      c.pausedBy = undefined;
      if (t.plan.steps[c.step]?.kind === 'pause') advance(c, now);
      return done(`resumed the canary of ${describe(c)}`);
    }
    case 'undo': {
      const kept = keptHistory(s, t.plan).filter((h) => h.revision !== s.stable!.revision);
      const to = r.toRevision ? kept.find((h) => h.revision === r.toRevision) : kept[0];
      if (!to)
        return done(
          r.toRevision
            ? `revision ${r.toRevision} is not kept; kept: ${kept.map((k) => k.revision).join(', ') || 'none'}`
            : 'nothing to undo: no earlier revision is kept',
        );
      const from = c ?? s.stable!;
      if (c) {
        record(s, {
          ...ref(c),
          outcome: 'Undone',
          reason: 'undone by a user',
          startedAt: c.startedAt,
          finishedAt: now,
        });
        s.canary = undefined;
      } else {
        record(s, {
          ...ref(s.stable!),
          outcome: 'Undone',
          reason: `undone by a user: ${describe(to)} serves again`,
          startedAt: now,
          finishedAt: now,
        });
      }
      const rejectedRef = s.rejected?.revision === t.target.revision ? s.rejected : t.target;
      s.rejected = {
        ...ref(rejectedRef),
        reason: `undone by a user, back to ${describe(to)}`,
        at: now,
        fallback: ref(to),
      };
      events.push({
        type: 'Normal',
        reason: 'Undo',
        message: `Undo: from ${describe(from)} back to ${describe(to)}`,
      });
      return done(`going back to ${describe(to)}`);
    }
  }
}

/** Earlier stable revisions still kept for undo, newest first, at most revisionHistoryLimit. */
export function keptHistory(s: RolloutState, plan: RolloutPlan): RevisionRef[] {
  const seen = new Set<string>([s.stable?.revision ?? '']);
  const kept: RevisionRef[] = [];
  for (const h of s.history) {
    if (h.outcome !== 'Promoted' || seen.has(h.revision)) continue;
    seen.add(h.revision);
    kept.push(ref(h));
  }
  return kept.slice(0, plan.revisionHistoryLimit);
}

function record(s: RolloutState, r: RolloutRecord): void {
  s.history = [r, ...s.history].slice(0, historyLength);
}

function finish(
  s: RolloutState,
  c: CanaryStatus,
  outcome: RolloutRecord['outcome'],
  reason: string,
  now: string,
  events: EventRecord[],
): void {
  record(s, { ...ref(c), outcome, reason, startedAt: c.startedAt, finishedAt: now });
  events.push({
    type: 'Normal',
    reason: 'CanarySuperseded',
    message: `Ended the canary of ${describe(c)}: ${reason}`,
  });
}

function canaryResult(
  s: RolloutState,
  t: Tick,
  events: EventRecord[],
  override?: { reason: string; message: string },
  requeueAfterMs?: number,
): TickResult {
  const c = s.canary!;
  const step = t.plan.steps[c.step];
  const due = c.stepStartedAt === undefined ? undefined : nextJudgementMs(c, t);
  const requeue = [requeueAfterMs, due].filter((x): x is number => x !== undefined);
  const paused = c.pausedAt !== undefined;
  const values = (c.analysis.lastValues ?? []).map((v) => `${v.metric} ${v.verdict}`).join(', ');
  const message =
    override?.message ??
    `canary ${describe(c)} at ${c.weight}%, step ${Math.min(c.step + 1, t.plan.steps.length)} of ${t.plan.steps.length} (${step ? stepName(step) : 'promoting'})${paused ? `, paused${c.pausedBy === 'user' ? ' by a user' : ''}: kubectl modelship promote to go on` : ''}; analysis ${c.analysis.verdict}${values ? ` (${values})` : ''}; ${describe(s.stable!)} takes the rest`;
  const r = result(s, t, events, { canaryWeight: c.weight, canary: c });
  if (step?.kind === 'shadow' && c.stepStartedAt !== undefined)
    r.traffic.shadow = { ref: ref(c), tolerance: step.tolerance };
  return {
    ...r,
    phase: paused ? 'Paused' : 'Progressing',
    progress: {
      status: 'True',
      reason: override?.reason ?? (paused ? 'CanaryPaused' : 'CanaryProgressing'),
      message,
    },
    requeueAfterMs: requeue.length ? Math.max(0, Math.min(...requeue)) : undefined,
  };
}

function nextJudgementMs(c: CanaryStatus, t: Tick): number | undefined {
  if (c.weight === 0 && !judgingStep(t.plan.steps[c.step])) return undefined;
  const last = ms(c.analysis.evaluatedAt);
  return last === undefined ? 0 : Math.max(0, last + t.plan.analysis.intervalMs - t.now.getTime());
}

function stepName(step: Step): string {
  if (step.kind === 'setWeight') return `setWeight ${step.weight}`;
  if (step.kind === 'pause')
    return step.ms === undefined ? 'pause until promoted' : `pause ${step.ms / 1000}s`;
  if (step.kind === 'shadow')
    return `shadow ${step.ms / 1000}s: mirrored traffic, agreement at least ${step.check.threshold * 100}%`;
  return `analysis ${step.ms / 1000}s`;
}

/** The revisions to keep and the traffic split, from the state after the tick. */
function result(
  s: RolloutState,
  t: Tick,
  events: EventRecord[],
  o: { canaryWeight: number; canary?: RevisionRef; incoming?: RevisionRef },
): TickResult {
  const stable = s.stable!;
  const revisions: TickResult['revisions'] = [{ ref: ref(stable), role: 'stable' }];
  const add = (r: RevisionRef, role: Role) => {
    if (!revisions.some((x) => x.ref.revision === r.revision)) revisions.push({ ref: ref(r), role });
  };
  if (o.canary) add(o.canary, 'canary');
  if (o.incoming) add(o.incoming, 'incoming');
  if (s.rejected) add(s.rejected, 'rejected');
  // A BlueGreen target that is not available yet (or failed) stays beside the stable one.
  if (t.plan.strategy === 'BlueGreen' && !s.rejected && t.target.revision !== stable.revision)
    add(t.target, 'incoming');
  for (const h of keptHistory(s, t.plan)) add(h, 'history');
  return {
    state: s,
    traffic: {
      stable: ref(stable),
      canary: o.canary ? ref(o.canary) : undefined,
      canaryWeight: o.canary ? o.canaryWeight : 0,
    },
    revisions,
    events,
  };
}

/** The steps' weights a canary passes through, for display: [10, 25, 50] for the default steps. */
export function weights(plan: RolloutPlan): number[] {
  return plan.steps.filter((s) => s.kind === 'setWeight').map((s) => (s as { weight: number }).weight);
}

export { weightBefore };
