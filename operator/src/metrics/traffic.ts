/**
 * Request counts, errors and latency of each revision, as counters that only grow: built from scrapes of many
 * targets (pods), each of which may restart and start its counters from zero, and differenced over a window.
 * Pure: the scraper (I/O) feeds it samples with their time.
 *
 * The arithmetic is Prometheus' `increase()`: per target, the increase between two scrapes is the difference,
 * or the new value itself when the counter went down (the target restarted). Increases are summed into one
 * monotonic total per revision, so a window is the difference of two totals.
 */

/**
 * Further counters some targets report for a revision: ground truth joined by the serving pods (rows, correct
 * ones, the sum of absolute errors) and the router's comparisons of mirrored requests (compared, agreeing).
 */
export type CountName =
  'feedbackRows' | 'feedbackCorrect' | 'feedbackAbsoluteError' | 'shadowCompared' | 'shadowAgreed';

/** What one target (a pod) reported for one revision at one scrape: counters, and histogram buckets by `le`. */
export interface RevisionCounters {
  requests: number;
  errors: number;
  /** Cumulative histogram buckets of request durations in seconds: upper bound (`le`) → count. */
  buckets: Map<number, number>;
  counts?: Map<CountName, number>;
}

/** Traffic of one revision over a window. */
export interface TrafficWindow {
  requests: number;
  errors: number;
  /** Requests per latency bucket over the window: upper bound in seconds → cumulative count. */
  buckets: Map<number, number>;
  /** Length of the window actually covered, in ms (shorter than asked right after the start). */
  spanMs: number;
  counts?: Map<CountName, number>;
}

const zero = (): RevisionCounters => ({ requests: 0, errors: 0, buckets: new Map() });

/** How much a counter grew between two readings of one target; a counter that went down was reset. */
export function increase(previous: number, current: number): number {
  return current >= previous ? current - previous : current;
}

/** The growth of every counter of one target's revision between two scrapes. */
export function increaseOf(previous: RevisionCounters, current: RevisionCounters): RevisionCounters {
  const buckets = new Map<number, number>();
  for (const [le, count] of current.buckets) buckets.set(le, increase(previous.buckets.get(le) ?? 0, count));
  const counts = new Map<CountName, number>();
  for (const [name, n] of current.counts ?? [])
    counts.set(name, increase(previous.counts?.get(name) ?? 0, n));
  return {
    requests: increase(previous.requests, current.requests),
    errors: increase(previous.errors, current.errors),
    buckets,
    counts,
  };
}

function add(into: RevisionCounters, more: RevisionCounters): RevisionCounters {
  const buckets = new Map(into.buckets);
  for (const [le, n] of more.buckets) buckets.set(le, (buckets.get(le) ?? 0) + n);
  const counts = new Map(into.counts);
  for (const [name, n] of more.counts ?? []) counts.set(name, (counts.get(name) ?? 0) + n);
  return { requests: into.requests + more.requests, errors: into.errors + more.errors, buckets, counts };
}

function subtract(a: RevisionCounters, b: RevisionCounters): RevisionCounters {
  const buckets = new Map<number, number>();
  for (const [le, n] of a.buckets) buckets.set(le, n - (b.buckets.get(le) ?? 0));
  const counts = new Map<CountName, number>();
  for (const [name, n] of a.counts ?? []) counts.set(name, n - (b.counts?.get(name) ?? 0));
  return { requests: a.requests - b.requests, errors: a.errors - b.errors, buckets, counts };
}

/**
 * Monotonic per-revision totals over many targets and scrapes, with a bounded history for windows.
 * `record(at, readings)` takes one scrape of every target (target id → revision → counters); targets that are
 * missing from a scrape are forgotten (a pod that is gone), and a target seen again starts from a new baseline.
 */
export class TrafficTotals {
  private lastByTarget = new Map<string, Map<string, RevisionCounters>>();
  private totals = new Map<string, RevisionCounters>();
  /** Snapshots of the totals, oldest first. */
  private history: { at: number; totals: Map<string, RevisionCounters> }[] = [];

  constructor(private readonly keepMs: number) {}

  record(at: number, readings: Map<string, Map<string, RevisionCounters>>): void {
    const totals = new Map(this.totals);
    for (const [target, byRevision] of readings) {
      const last = this.lastByTarget.get(target);
      // A target seen for the first time (a new pod, or the first scrape) is a baseline: what it counted before
      // cannot be placed in time.
      if (!last) continue;
      for (const [revision, counters] of byRevision) {
        // A revision new on a known target started from zero since the last scrape.
        const delta = increaseOf(last.get(revision) ?? zero(), counters);
        totals.set(revision, add(totals.get(revision) ?? zero(), delta));
      }
    }
    this.lastByTarget = readings;
    this.totals = totals;
    this.history.push({ at, totals });
    while (this.history.length > 2 && this.history[1]!.at <= at - this.keepMs) this.history.shift();
  }

  /**
   * The traffic of `revision` over the last `windowMs` before `now`: the totals now minus the totals at the oldest
   * scrape inside the window (or just before it). Undefined before there are two scrapes.
   */
  window(revision: string, windowMs: number, now: number): TrafficWindow | undefined {
    const latest = this.history.at(-1);
    if (!latest || this.history.length < 2) return undefined;
    let base = this.history[0]!;
    for (const h of this.history) {
      if (h.at <= now - windowMs) base = h;
      else break;
    }
    if (base === latest) return undefined;
    const d = subtract(latest.totals.get(revision) ?? zero(), base.totals.get(revision) ?? zero());
    return { ...d, spanMs: latest.at - base.at };
  }
}

/**
 * The q-quantile (0..1) of a histogram from its cumulative buckets, interpolating linearly inside the bucket as
 * Prometheus' histogram_quantile does; undefined without observations. A quantile in the +Inf bucket is the
 * highest finite bound.
 *
 * Example: buckets {0.1: 90, 0.5: 100, +Inf: 100}, q = 0.99 → rank 99 falls in (0.1, 0.5] at 9 of 10 → 0.46 s.
 */
export function quantile(q: number, buckets: Map<number, number>): number | undefined {
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [le, count] of sorted) {
    if (count >= rank) {
      if (le === Infinity) return lowerBound;
      if (count === lowerCount) return le;
      return lowerBound + ((le - lowerBound) * (rank - lowerCount)) / (count - lowerCount);
    }
    lowerBound = le;
    lowerCount = count;
  }
  return lowerBound;
}
