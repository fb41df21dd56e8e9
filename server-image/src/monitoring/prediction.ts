/**
 * What a model predicted, row by row, read from one output tensor, and how ground truth scores against it.
 * Pure: the feedback monitor (feedback.ts) keeps a Prediction per answered request and scores labels against it.
 *
 * Classification: an integer, BOOL or BYTES output with one value per row (shape [N] or [N,1]) is the class label;
 * a float output [N,K] with K > 1 holds scores, and the class is the index of the highest (argmax).
 * Regression: a float output [N], [N,1] (or a scalar: one row) is the predicted value.
 */
import { halfToNumber } from '../protocol/v2/datatypes.js';
import type { Tensor } from '../protocol/v2/types.js';

export type ClassLabel = number | string | boolean;

/** A copy of the prediction (never a view of the tensor: it outlives the request). */
export type Prediction =
  { kind: 'classification'; classes: ClassLabel[] } | { kind: 'regression'; values: Float64Array };

/** One feedback's contribution: rows joined, and the errors of those rows. */
export type Score =
  | { kind: 'classification'; rows: number; correct: number }
  | { kind: 'regression'; rows: number; absoluteError: number; squaredError: number };

const FLOAT = new Set(['FP16', 'FP32', 'FP64']);

export function rowsOf(p: Prediction): number {
  return p.kind === 'classification' ? p.classes.length : p.values.length;
}

/** The prediction an output holds, or why it holds none feedback can score (a string). */
export function predictionOf(t: Tensor): Prediction | string {
  const rank = t.shape.length;
  const rows = rank === 0 ? 1 : t.shape[0]!;
  const perRow = rows === 0 ? 0 : t.data.length / rows;
  if (FLOAT.has(t.datatype)) {
    const values = floats(t);
    if (rank <= 1 || (rank === 2 && perRow === 1)) return { kind: 'regression', values };
    if (rank === 2) return { kind: 'classification', classes: argmaxRows(values, rows, perRow) };
    return `output '${t.name}' has shape [${t.shape.join(',')}]: feedback needs [N], [N,1] or [N,K] scores`;
  }
  if (rank > 2 || (rows > 0 && perRow !== 1))
    return `output '${t.name}' has shape [${t.shape.join(',')}]: feedback needs one ${t.datatype} label per row`;
  if (Array.isArray(t.data)) return { kind: 'classification', classes: [...t.data] };
  const data = t.data;
  if (t.datatype === 'BOOL')
    return { kind: 'classification', classes: Array.from(data as Uint8Array, (b) => b !== 0) };
  // INT64/UINT64 class labels are small in practice; Number() is exact below 2^53.
  return { kind: 'classification', classes: Array.from(data as ArrayLike<number | bigint>, Number) };
}

function floats(t: Tensor): Float64Array {
  if (t.datatype === 'FP16') return Float64Array.from(t.data as Uint16Array, halfToNumber);
  return Float64Array.from(t.data as Float32Array | Float64Array);
}

/** The index of each row's highest score; NaNs never win, and the first of equal scores does. */
function argmaxRows(values: Float64Array, rows: number, width: number): number[] {
  const classes = new Array<number>(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    let bestValue = -Infinity;
    for (let k = 0; k < width; k++) {
      const v = values[r * width + k]!;
      if (v > bestValue) {
        bestValue = v;
        best = k;
      }
    }
    classes[r] = best;
  }
  return classes;
}

/**
 * Scores ground truth against a prediction: `labels` has one entry per row, of the prediction's type (a number
 * for a class index or a value, a string for a BYTES label, a boolean for a BOOL one). Returns the score, or what
 * is wrong with the labels, naming the field (`field` is how the caller names the labels, e.g. `feedback[2].labels`;
 * `single`: the caller sent one `label`, named `field` itself rather than `field[0]`).
 */
export function score(
  p: Prediction,
  labels: readonly unknown[],
  field: string,
  single = false,
): Score | string {
  const at = (i: number): string => (single ? field : `${field}[${i}]`);
  const rows = rowsOf(p);
  if (labels.length !== rows)
    return single
      ? `${field} is one value but the prediction has ${rows} rows: send "labels", one per row`
      : `${field} has ${labels.length} value(s) but the prediction has ${rows} row(s)`;
  if (p.kind === 'regression') {
    let absoluteError = 0;
    let squaredError = 0;
    for (let i = 0; i < rows; i++) {
      const label = labels[i];
      if (typeof label !== 'number' || !Number.isFinite(label))
        return `${at(i)} must be a finite number (the model predicts a value), got ${describe(label)}`;
      const error = p.values[i]! - label;
      absoluteError += Math.abs(error);
      squaredError += error * error;
    }
    return { kind: 'regression', rows, absoluteError, squaredError };
  }
  let correct = 0;
  for (let i = 0; i < rows; i++) {
    const predicted = p.classes[i]!;
    const label = labels[i];
    if (typeof label !== typeof predicted)
      return `${at(i)} must be a ${typeof predicted} (the model predicts ${classKind(predicted)}), got ${describe(label)}`;
    if (label === predicted) correct++;
  }
  return { kind: 'classification', rows, correct };
}

function classKind(c: ClassLabel): string {
  if (typeof c === 'number') return 'a class index';
  if (typeof c === 'string') return 'a string label';
  return 'a boolean';
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const text = JSON.stringify(v);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
