/** What the judge reads for each revision, from a traffic window. Pure. */
import type { MetricName, Measurement } from '../rollout/judge.js';
import { quantile, type TrafficWindow } from './traffic.js';

export type Measurements = Record<MetricName, Measurement>;

export const noMeasurements: Measurements = {
  errorRate: { samples: 0 },
  latencyP99: { samples: 0 },
};

export function measurementsOf(w: TrafficWindow | undefined): Measurements {
  if (!w || w.requests <= 0) return noMeasurements;
  const p99 = quantile(0.99, w.buckets);
  return {
    errorRate: { samples: w.requests, value: w.errors / w.requests },
    latencyP99: { samples: w.requests, value: p99 === undefined ? undefined : p99 * 1000 },
  };
}
