/** What the judge reads for each revision, from a traffic window. Pure. */
import type { MetricName, Measurement } from '../rollout/judge.js';
import { quantile, type TrafficWindow } from './traffic.js';

export type Measurements = Record<MetricName, Measurement>;

export const noMeasurements: Measurements = {
  errorRate: { samples: 0 },
  latencyP99: { samples: 0 },
  accuracy: { samples: 0 },
  meanAbsoluteError: { samples: 0 },
  agreement: { samples: 0 },
};

/** `part / whole` over `whole` samples; no value without samples. */
function ratio(part: number, whole: number): Measurement {
  return whole > 0 ? { samples: whole, value: part / whole } : { samples: Math.max(0, whole) };
}

export function measurementsOf(w: TrafficWindow | undefined): Measurements {
  if (!w) return noMeasurements;
  const count = (name: Parameters<NonNullable<TrafficWindow['counts']>['get']>[0]) =>
    w.counts?.get(name) ?? 0;
  const rows = count('feedbackRows');
  const p99 = w.requests > 0 ? quantile(0.99, w.buckets) : undefined;
  return {
    errorRate: w.requests > 0 ? { samples: w.requests, value: w.errors / w.requests } : { samples: 0 },
    latencyP99:
      w.requests > 0
        ? { samples: w.requests, value: p99 === undefined ? undefined : p99 * 1000 }
        : { samples: 0 },
    accuracy: ratio(count('feedbackCorrect'), rows),
    meanAbsoluteError: ratio(count('feedbackAbsoluteError'), rows),
    agreement: ratio(count('shadowAgreed'), count('shadowCompared')),
  };
}
