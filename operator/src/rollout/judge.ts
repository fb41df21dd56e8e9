/**
 * Pass or fail, in one place: a canary's measurement against its threshold, absolute or relative to the stable
 * version, with a minimum number of samples before any verdict. Pure; table-tested.
 */

export type MetricName = 'errorRate' | 'latencyP99';

/** One check of the analysis, as the spec states it (defaults already applied). */
export interface MetricCheck {
  metric: MetricName;
  /** `absolute`: the canary's value must not exceed `threshold`; `relativeToStable`: not exceed stable's + `threshold`. */
  mode: 'absolute' | 'relativeToStable';
  /** A fraction (0.01 = 1 %) for errorRate; milliseconds for latencyP99. */
  threshold: number;
  /** Requests a revision must have served in the window before its value counts. */
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

const unit = (m: MetricName, v: number): string =>
  m === 'errorRate' ? `${(v * 100).toFixed(2).replace(/\.?0+$/, '')}%` : `${Math.round(v * 10) / 10}ms`;

export function judge(check: MetricCheck, canary: Measurement, stable: Measurement): Verdict {
  const { metric, minSamples } = check;
  const base = { metric, samples: canary.samples, canary: canary.value, stable: stable.value };
  if (canary.samples < minSamples)
    return {
      ...base,
      verdict: 'NoData',
      reason: `${metric}: the canary served ${canary.samples} of the ${minSamples} requests needed for a verdict`,
    };
  if (canary.value === undefined)
    return {
      ...base,
      verdict: 'NoData',
      reason: `${metric}: no value for the canary although it served ${canary.samples} requests`,
    };
  let limit = check.threshold;
  if (check.mode === 'relativeToStable') {
    if (stable.samples < minSamples)
      return {
        ...base,
        verdict: 'NoData',
        reason: `${metric}: the stable version served ${stable.samples} of the ${minSamples} requests needed to compare with`,
      };
    if (stable.value === undefined)
      return {
        ...base,
        verdict: 'NoData',
        reason: `${metric}: no value for the stable version although it served ${stable.samples} requests`,
      };
    limit = stable.value + check.threshold;
  }
  const against =
    check.mode === 'relativeToStable'
      ? `stable ${unit(metric, stable.value!)} + ${unit(metric, check.threshold)} = ${unit(metric, limit)}`
      : unit(metric, limit);
  const pass = canary.value <= limit;
  return {
    ...base,
    limit,
    verdict: pass ? 'Pass' : 'Fail',
    reason: `${metric} ${unit(metric, canary.value)} ${pass ? 'within' : 'above'} ${against} (${canary.samples} requests)`,
  };
}

/** The worst of several verdicts: any Fail fails, else any NoData is NoData, else Pass. */
export function overall(verdicts: Verdict[]): VerdictKind {
  if (verdicts.some((v) => v.verdict === 'Fail')) return 'Fail';
  if (verdicts.some((v) => v.verdict === 'NoData')) return 'NoData';
  return 'Pass';
}
