/**
 * Which series mean what: the per-revision counters of the router (the client's view: requests, 5xx and
 * connection failures, latency) and of the serving pods (the server's view), read from one target's samples.
 * Pure.
 */
import type { Sample } from './exposition.js';
import type { RevisionCounters } from './traffic.js';

/** The router's series (server-image/src/router): requests by backend revision and status class, and latency. */
export const routerSeries = {
  requests: 'modelship_router_requests_total',
  duration: 'modelship_router_request_duration_seconds_bucket',
  /** Status classes that count as failures: 5xx answers, and "error" (no answer: refused, reset, timed out). */
  errorCodes: ['5xx', 'error'],
} as const;

/** The serving runtime's series (server-image/src/metrics.ts), labelled with the pod's revision. */
export const serverSeries = {
  success: 'modelship_inference_request_success_total',
  failure: 'modelship_inference_request_failure_total',
  duration: 'modelship_inference_request_duration_seconds_bucket',
  /** Failure reasons that are the server's fault; a bad request (400, 404, 413) is the client's. */
  errorReasons: ['internal', 'queue_full', 'not_ready'],
} as const;

function counters(byRevision: Map<string, RevisionCounters>, revision: string): RevisionCounters {
  let c = byRevision.get(revision);
  if (!c) byRevision.set(revision, (c = { requests: 0, errors: 0, buckets: new Map() }));
  return c;
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
  }
  return out;
}
