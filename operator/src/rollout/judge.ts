/**
 * Pass or fail, in one place: a canary's measurement against its threshold, absolute or relative to the stable
 * version, with a minimum number of samples before any verdict. Pure; table-tested.
 */

export type MetricName = 'errorRate' | 'latencyP99' | 'accuracy' | 'meanAbsoluteError' | 'agreement';

/**
 * Metrics where more is better: the canary must reach at least the limit (the threshold, or stable's value minus
 * it). accuracy: ground truth matched; agreement: mirrored requests answered as stable answered (shadow).
 */
export const higherIsBetter: ReadonlySet<MetricName> = new Set(['accuracy', 'agreement']);

/** One check of the analysis, as the spec states it (defaults already applied). */
export interface MetricCheck {
  metric: MetricName;
  /**
   * `absolute`: the canary's value must not exceed `threshold` (reach it, for higherIsBetter metrics);
   * `relativeToStable`: not exceed stable's + `threshold` (not fall below stable's − `threshold`).
   */
  mode: 'absolute' | 'relativeToStable';
  /** A fraction (0.01 = 1 %) for errorRate, accuracy and agreement; milliseconds for latencyP99. */
  threshold: number;
  /** Requests (ground-truth rows, compared requests) a revision must have in the window before its value counts. */
  minSamples: number;
}

/** A metric of one revision over the analysis window: how many requests it is based on, and its value. */
export interface Measurement {
  samples: number;
  /** undefined when the window has no value (no requests, no latency observations). */
  value?: number;
}

export type VerdictKind = 'Pass' | 'Fail' | 'NoData';

export interface Verdict {
  metric: MetricName;
  verdict: VerdictKind;
  canary?: number;
  stable?: number;
  /** The limit the canary's value was held against (threshold, or stable's value + threshold). */
  limit?: number;
  samples: number;
  /** Why, in words for a condition message. */
  reason: string;
}

const unit = (m: MetricName, v: number): string => {
  if (m === 'latencyP99') return `${Math.round(v * 10) / 10}ms`;
  if (m === 'meanAbsoluteError') return `${Math.round(v * 1e4) / 1e4}`;
  return `${(v * 100).toFixed(2).replace(/\.?0+$/, '')}%`;
};

/** "served 50 requests", "has 12 of the 20 ground-truth rows": a revision's samples, for the reasons. */
const amount = (m: MetricName, n: number, needed?: number): string => {
  const count = needed === undefined ? `${n}` : `${n} of the ${needed}`;
  return samplesOf(m) === 'requests' ? `served ${count} requests` : `has ${count} ${samplesOf(m)}`;
};

/** What a metric's samples are, for the reasons. */
const samplesOf = (m: MetricName): string =>
  m === 'accuracy' || m === 'meanAbsoluteError'
    ? 'ground-truth rows'
    : m === 'agreement'
      ? 'compared requests'
      : 'requests';

export function judge(check: MetricCheck, canary: Measurement, stable: Measurement): Verdict {
  const { metric, minSamples } = check;
  const higher = higherIsBetter.has(metric);
  const base = { metric, samples: canary.samples, canary: canary.value, stable: stable.value };
  if (canary.samples < minSamples)
    return {
      ...base,
      verdict: 'NoData',
      reason: `${metric}: the canary ${amount(metric, canary.samples, minSamples)} needed for a verdict`,
    };
  if (canary.value === undefined)
    return {
      ...base,
      verdict: 'NoData',
      reason: `${metric}: no value for the canary although it ${amount(metric, canary.samples)}`,
    };
  let limit = check.threshold;
  if (check.mode === 'relativeToStable') {
    if (stable.samples < minSamples)
      return {
        ...base,
        verdict: 'NoData',
        reason: `${metric}: the stable version ${amount(metric, stable.samples, minSamples)} needed to compare with`,
      };
    if (stable.value === undefined)
      return {
        ...base,
        verdict: 'NoData',
        reason: `${metric}: no value for the stable version although it ${amount(metric, stable.samples)}`,
      };
    limit = higher ? stable.value - check.threshold : stable.value + check.threshold;
  }
  const against =
    check.mode === 'relativeToStable'
      ? `stable ${unit(metric, stable.value!)} ${higher ? '−' : '+'} ${unit(metric, check.threshold)} = ${unit(metric, limit)}`
      : unit(metric, limit);
  const pass = higher ? canary.value >= limit : canary.value <= limit;
  const side = pass ? 'within' : higher ? 'below' : 'above';
  return {
    ...base,
    limit,
    verdict: pass ? 'Pass' : 'Fail',
    reason: `${metric} ${unit(metric, canary.value)} ${side} ${against} (${canary.samples} ${samplesOf(metric)})`,
  };
}

/** The worst of several verdicts: any Fail fails, else any NoData is NoData, else Pass. */
export function overall(verdicts: Verdict[]): VerdictKind {
  if (verdicts.some((v) => v.verdict === 'Fail')) return 'Fail';
  if (verdicts.some((v) => v.verdict === 'NoData')) return 'NoData';
  return 'Pass';
}
