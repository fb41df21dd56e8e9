/**
 * Which series mean what: the per-revision counters of the router (the client's view: requests, 5xx and
 * connection failures, latency) and of the serving pods (the server's view), read from one target's samples.
 * Pure.
 */
import type { Sample } from './exposition.js';
import type { CountName, RevisionCounters } from './traffic.js';

/** The router's series (server-image/src/router): requests by backend revision and status class, and latency. */
export const routerSeries = {
  requests: 'modelship_router_requests_total',
  duration: 'modelship_router_request_duration_seconds_bucket',
  /** Status classes that count as failures: 5xx answers, and "error" (no answer: refused, reset, timed out). */
  errorCodes: ['5xx', 'error'],
  /** Mirrored requests by the shadow revision and result: agree, disagree (compared), error, skipped (not). */
  shadow: 'modelship_router_shadow_requests_total',
} as const;

/** The serving runtime's series (server-image/src/metrics.ts), labelled with the pod's revision. */
export const serverSeries = {
  success: 'modelship_inference_request_success_total',
  failure: 'modelship_inference_request_failure_total',
  duration: 'modelship_inference_request_duration_seconds_bucket',
  /** Failure reasons that are the server's fault; a bad request (400, 404, 413) is the client's. */
  errorReasons: ['internal', 'queue_full', 'not_ready'],
} as const;

/** The serving runtime's ground-truth counters (server-image/src/monitoring), per model version and revision. */
export const feedbackSeries: Record<string, CountName> = {
  modelship_feedback_rows_total: 'feedbackRows',
  modelship_feedback_correct_total: 'feedbackCorrect',
  modelship_feedback_absolute_error_sum: 'feedbackAbsoluteError',
};

function counters(byRevision: Map<string, RevisionCounters>, revision: string): RevisionCounters {
  let c = byRevision.get(revision);
  if (!c) byRevision.set(revision, (c = { requests: 0, errors: 0, buckets: new Map() }));
  return c;
}

function addCount(c: RevisionCounters, name: CountName, value: number): void {
  c.counts ??= new Map();
  c.counts.set(name, (c.counts.get(name) ?? 0) + value);
}

function addBucket(c: RevisionCounters, le: string | undefined, value: number): void {
  const bound = le === '+Inf' ? Infinity : Number(le);
  if (!Number.isNaN(bound)) c.buckets.set(bound, (c.buckets.get(bound) ?? 0) + value);
}

/** Per backend revision, from one router pod's samples. */
export function routerReadings(samples: Sample[]): Map<string, RevisionCounters> {
  const out = new Map<string, RevisionCounters>();
  for (const s of samples) {
    const revision = s.labels.revision;
    if (!revision) continue;
    if (s.name === routerSeries.requests) {
      const c = counters(out, revision);
      c.requests += s.value;
      if ((routerSeries.errorCodes as readonly string[]).includes(s.labels.code ?? '')) c.errors += s.value;
    } else if (s.name === routerSeries.duration) addBucket(counters(out, revision), s.labels.le, s.value);
    else if (
      s.name === routerSeries.shadow &&
      (s.labels.result === 'agree' || s.labels.result === 'disagree')
    ) {
      const c = counters(out, revision);
      addCount(c, 'shadowCompared', s.value);
      if (s.labels.result === 'agree') addCount(c, 'shadowAgreed', s.value);
    }
  }
  return out;
}

/** Only the ground-truth counters of one serving pod: read beside a router, which counts the requests. */
export function feedbackReadings(samples: Sample[]): Map<string, RevisionCounters> {
  const out = new Map<string, RevisionCounters>();
  for (const s of samples) {
    const name = feedbackSeries[s.name];
    if (name && s.labels.revision && s.labels.model !== '_unknown')
      addCount(counters(out, s.labels.revision), name, s.value);
  }
  return out;
}

/** Per revision (normally one: the pod's own), from one serving pod's samples. */
export function serverReadings(samples: Sample[]): Map<string, RevisionCounters> {
  const out = new Map<string, RevisionCounters>();
  for (const s of samples) {
    const revision = s.labels.revision;
    if (!revision || s.labels.model === '_unknown') continue;
    if (s.name === serverSeries.success) counters(out, revision).requests += s.value;
    else if (s.name === serverSeries.failure) {
      const c = counters(out, revision);
      c.requests += s.value;
      if ((serverSeries.errorReasons as readonly string[]).includes(s.labels.reason ?? ''))
        c.errors += s.value;
    } else if (s.name === serverSeries.duration) addBucket(counters(out, revision), s.labels.le, s.value);
    else if (feedbackSeries[s.name]) addCount(counters(out, revision), feedbackSeries[s.name]!, s.value);
  }
  return out;
}
