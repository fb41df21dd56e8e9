import { describe, expect, it } from '@jest/globals';
import { parseExposition } from '../metrics/exposition.js';
import { feedbackStatus, podFeedback } from './feedback.js';

const now = new Date('2026-12-01T12:00:00Z');

describe('feedbackStatus', () => {
  it('reads each pod’s window gauges and weights them by the pod’s rows', () => {
    const a = podFeedback(
      parseExposition(
        [
          'modelship_feedback_window_rows{model="m",version="1",revision="r"} 30',
          'modelship_feedback_accuracy{model="m",version="1",revision="r"} 0.9',
          'modelship_feedback_rows_total{model="m",version="1",revision="r"} 500',
        ].join('\n'),
      ),
    );
    expect(a).toEqual({ rows: 30, accuracy: 0.9 });
    const s = feedbackStatus([a, { rows: 10, accuracy: 0.5 }, { rows: 0 }], now);
    expect(s).toEqual({ rows: 40, accuracy: (0.9 * 30 + 0.5 * 10) / 40, evaluatedAt: now.toISOString() });
  });

  it('combines regression errors, RMSE through the squares, and has no value without rows', () => {
    const s = feedbackStatus(
      [
        { rows: 1, mae: 1, rmse: 1 },
        { rows: 3, mae: 2, rmse: 3 },
      ],
      now,
    );
    expect(s.meanAbsoluteError).toBeCloseTo(7 / 4, 12);
    expect(s.rootMeanSquaredError).toBeCloseTo(Math.sqrt((1 + 27) / 4), 12);
    expect(feedbackStatus([{ rows: 0 }], now)).toEqual({ rows: 0, evaluatedAt: now.toISOString() });
  });
});
