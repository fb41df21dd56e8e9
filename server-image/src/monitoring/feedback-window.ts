/**
 * Live accuracy, MAE and RMSE over a sliding window of joined feedback, for dashboards (the operator computes its
 * own windows from the counters' deltas). The window is cut into SLICES slices of equal length: a score counts in
 * the slice of the time it was joined, and a slice leaves the window whole, so the window is exact to one slice
 * (1/60 of its length) and its memory is fixed whatever the traffic. Pure, on the injected clock.
 */
import type { Clock } from '../clock.js';
import type { Score } from './prediction.js';

export const SLICES = 60;

interface Slice {
  /** Which slice of time this is (floor(time / slice length)); a reused slot with another index is stale. */
  index: number;
  classRows: number;
  correct: number;
  regressionRows: number;
  absoluteError: number;
  squaredError: number;
}

export interface WindowSummary {
  /** Rows joined in the window. */
  rows: number;
  /** Fraction of classification rows predicted right; undefined without any. */
  accuracy?: number;
  mae?: number;
  rmse?: number;
}

export class FeedbackWindow {
  private readonly sliceMs: number;
  private readonly slices: Slice[] = [];

  constructor(
    windowMs: number,
    private readonly clock: Clock,
  ) {
    this.sliceMs = Math.max(1, windowMs / SLICES);
    for (let i = 0; i < SLICES; i++)
      this.slices.push({
        index: -1,
        classRows: 0,
        correct: 0,
        regressionRows: 0,
        absoluteError: 0,
        squaredError: 0,
      });
  }

  add(s: Score): void {
    const index = Math.floor(this.clock.now() / this.sliceMs);
    const slot = this.slices[index % SLICES]!;
    if (slot.index !== index)
      Object.assign(slot, {
        index,
        classRows: 0,
        correct: 0,
        regressionRows: 0,
        absoluteError: 0,
        squaredError: 0,
      });
    if (s.kind === 'classification') {
      slot.classRows += s.rows;
      slot.correct += s.correct;
    } else {
      slot.regressionRows += s.rows;
      slot.absoluteError += s.absoluteError;
      slot.squaredError += s.squaredError;
    }
  }

  summary(): WindowSummary {
    const current = Math.floor(this.clock.now() / this.sliceMs);
    let classRows = 0;
    let correct = 0;
    let regressionRows = 0;
    let absoluteError = 0;
    let squaredError = 0;
    for (const s of this.slices) {
      if (s.index <= current - SLICES || s.index > current) continue;
      classRows += s.classRows;
      correct += s.correct;
      regressionRows += s.regressionRows;
      absoluteError += s.absoluteError;
      squaredError += s.squaredError;
    }
    const summary: WindowSummary = { rows: classRows + regressionRows };
    if (classRows > 0) summary.accuracy = correct / classRows;
    if (regressionRows > 0) {
      summary.mae = absoluteError / regressionRows;
      summary.rmse = Math.sqrt(squaredError / regressionRows);
    }
    return summary;
  }
}
