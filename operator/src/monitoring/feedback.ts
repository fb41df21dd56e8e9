/**
 * Live accuracy of the serving revision from the ground truth its pods joined (spec.monitoring.feedback): each pod's
 * sliding-window gauges, combined over the pods with their window rows as weights, for status.feedback. Pure.
 */
import type { FeedbackStatus } from '../api/v1alpha1/monitoring.js';
import type { Sample } from '../metrics/exposition.js';

/** The serving runtime's window gauges (server-image/src/monitoring/feedback.ts). */
export const feedbackWindowSeries = {
  rows: 'modelship_feedback_window_rows',
  accuracy: 'modelship_feedback_accuracy',
  mae: 'modelship_feedback_mae',
  rmse: 'modelship_feedback_rmse',
} as const;

export interface PodFeedback {
  rows: number;
  accuracy?: number;
  mae?: number;
  rmse?: number;
}

export function podFeedback(samples: Sample[]): PodFeedback {
  const out: PodFeedback = { rows: 0 };
  for (const s of samples) {
    if (s.labels.model === '_unknown' || !Number.isFinite(s.value)) continue;
    if (s.name === feedbackWindowSeries.rows) out.rows += s.value;
    else if (s.name === feedbackWindowSeries.accuracy) out.accuracy = s.value;
    else if (s.name === feedbackWindowSeries.mae) out.mae = s.value;
    else if (s.name === feedbackWindowSeries.rmse) out.rmse = s.value;
  }
  return out;
}

/** The pods as one revision: means weighted by rows (RMSE through its squares), rows summed. */
export function feedbackStatus(pods: PodFeedback[], now: Date): FeedbackStatus {
  const rows = pods.reduce((n, p) => n + p.rows, 0);
  const mean = (value: (p: PodFeedback) => number | undefined): number | undefined => {
    let sum = 0;
    let weight = 0;
    for (const p of pods) {
      const v = value(p);
      if (v === undefined || p.rows <= 0) continue;
      sum += v * p.rows;
      weight += p.rows;
    }
    return weight > 0 ? sum / weight : undefined;
  };
  const accuracy = mean((p) => p.accuracy);
  const meanAbsoluteError = mean((p) => p.mae);
  const squares = mean((p) => (p.rmse === undefined ? undefined : p.rmse * p.rmse));
  return {
    rows: Math.round(rows),
    ...(accuracy === undefined ? {} : { accuracy }),
    ...(meanAbsoluteError === undefined ? {} : { meanAbsoluteError }),
    ...(squares === undefined ? {} : { rootMeanSquaredError: Math.sqrt(squares) }),
    evaluatedAt: now.toISOString(),
  };
}
