import { describe, expect, it } from '@jest/globals';
import { FakeClock } from '../testing/fake-clock.js';
import { FeedbackWindow } from './feedback-window.js';

describe('FeedbackWindow', () => {
  it('sums the scores of the last window, a slice (1/60) at a time', async () => {
    const clock = new FakeClock();
    const w = new FeedbackWindow(60_000, clock);
    expect(w.summary()).toEqual({ rows: 0 });
    w.add({ kind: 'classification', rows: 4, correct: 3 });
    await clock.advance(30_000);
    w.add({ kind: 'classification', rows: 4, correct: 1 });
    w.add({ kind: 'regression', rows: 2, absoluteError: 2, squaredError: 8 });
    expect(w.summary()).toEqual({ rows: 10, accuracy: 0.5, mae: 1, rmse: 2 });
    await clock.advance(30_000); // the first slice has left the window
    expect(w.summary()).toEqual({ rows: 6, accuracy: 0.25, mae: 1, rmse: 2 });
    await clock.advance(30_000);
    expect(w.summary()).toEqual({ rows: 0 });
  });

  it('reuses a slot of an older round of the ring as new', async () => {
    const clock = new FakeClock();
    const w = new FeedbackWindow(60_000, clock);
    w.add({ kind: 'classification', rows: 1, correct: 1 });
    await clock.advance(60_000); // same slot, next round
    w.add({ kind: 'classification', rows: 1, correct: 0 });
    expect(w.summary()).toEqual({ rows: 1, accuracy: 0 });
  });
});
