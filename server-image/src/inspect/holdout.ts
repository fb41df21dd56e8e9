/**
 * Holdout scoring for `modelship-server inspect --holdout <uri>`. Pure: the parsed file, the model's signature and
 * the output tensor in, a score or a HoldoutError out, so every rule below is unit-tested without onnxruntime.
 *
 * The holdout file is one JSON object, an inference request as `POST /v2/models/{m}/infer` takes it (JSON data,
 * decoded and checked against the model's signature by the same decoder) plus what to compare:
 *
 *   {
 *     "inputs": [{ "name": "features", "shape": [4, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2, ...] }],
 *     "output": "label",             // the model output compared with the labels: one value per row
 *     "labels": [0, 0, 1, 2],        // one per row: numbers, strings (a BYTES output) or booleans (a BOOL output)
 *     "task": "classification"       // optional: "classification" (default, accuracy) or "regression" (RMSE)
 *   }
 *
 * A row is one index of the inputs' first dimension, which every input must share. Classification scores
 * accuracy: the fraction of rows whose output value equals the label exactly. Regression (numeric labels, a numeric
 * output) scores the root mean square error. No other keys are allowed: a misspelt "task" must not silently score
 * accuracy instead of RMSE.
 */
import { halfToNumber } from '../protocol/v2/datatypes.js';
import { formatShape } from '../protocol/v2/decode.js';
import type { ModelSignature, Tensor } from '../protocol/v2/types.js';

export type HoldoutTask = 'classification' | 'regression';
export type Label = number | string | boolean;

/** The holdout's comparison part; its inputs are decoded separately, by the protocol's decoder. */
export interface HoldoutSpec {
  output: string;
  task: HoldoutTask;
  labels: Label[];
}

export type HoldoutScore =
  | { task: 'classification'; output: string; rows: number; accuracy: number }
  | { task: 'regression'; output: string; rows: number; rmse: number };

/** A holdout that cannot be scored; the message says why, for the result's reason. */
export class HoldoutError extends Error {
  override name = 'HoldoutError';
}

const KEYS = new Set(['inputs', 'output', 'labels', 'task']);

/** Checks the parsed file's shape (not its inputs) and returns what to compare. */
export function parseHoldoutSpec(doc: unknown): HoldoutSpec {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new HoldoutError('the file must be a JSON object with "inputs", "output" and "labels"');
  const o = doc as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !KEYS.has(k));
  if (unknown.length > 0)
    throw new HoldoutError(
      `unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')}; ` +
        'a holdout has "inputs", "output", "labels" and optionally "task"',
    );
  if (typeof o.output !== 'string' || o.output === '')
    throw new HoldoutError(`"output" must name one of the model's outputs, got ${describe(o.output)}`);
  if (o.task !== undefined && o.task !== 'classification' && o.task !== 'regression')
    throw new HoldoutError(`"task" must be "classification" or "regression", got ${describe(o.task)}`);
  const task: HoldoutTask = o.task ?? 'classification';
  if (!Array.isArray(o.labels) || o.labels.length === 0)
    throw new HoldoutError(
      `"labels" must be a non-empty array, one label per row, got ${describe(o.labels)}`,
    );
  const labels = o.labels as unknown[];
  const kind = typeof labels[0];
  labels.forEach((label, i) => {
    if (task === 'regression' && typeof label !== 'number')
      throw new HoldoutError(`labels[${i}] is ${describe(label)}; a regression needs numbers`);
    if (typeof label !== 'number' && typeof label !== 'string' && typeof label !== 'boolean')
      throw new HoldoutError(`labels[${i}] is ${describe(label)}; labels are numbers, strings or booleans`);
    if (typeof label !== kind)
      throw new HoldoutError(`labels[${i}] is a ${typeof label} but labels[0] is a ${kind}; use one kind`);
  });
  return { output: o.output, task, labels: labels as Label[] };
}

/** The number of rows: the first dimension, which every input must have and share. */
export function holdoutRows(inputs: readonly Tensor[]): number {
  let rows: number | undefined;
  let first = '';
  for (const t of inputs) {
    if (t.shape.length === 0)
      throw new HoldoutError(`input '${t.name}' is a scalar; every input needs a first dimension of rows`);
    const n = t.shape[0]!;
    if (rows === undefined) [rows, first] = [n, t.name];
    else if (n !== rows)
      throw new HoldoutError(
        `input '${t.name}' has ${n} rows (shape ${formatShape(t.shape)}) but input '${first}' has ${rows}`,
      );
  }
  if (rows === undefined) throw new HoldoutError('there are no inputs');
  if (rows === 0) throw new HoldoutError('the inputs have no rows');
  return rows;
}

/** Before running: the output exists, and its datatype can equal (or, for regression, approximate) the labels. */
export function checkHoldout(spec: HoldoutSpec, signature: ModelSignature, rows: number): void {
  if (spec.labels.length !== rows)
    throw new HoldoutError(`labels has ${spec.labels.length} rows, inputs ${rows}`);
  const out = signature.outputs.find((o) => o.name === spec.output);
  if (!out)
    throw new HoldoutError(
      `"output" is '${spec.output}', which the model does not have; its outputs are ${signature.outputs.map((o) => `'${o.name}'`).join(', ')}`,
    );
  const kind = typeof spec.labels[0];
  const fits =
    out.datatype === 'BYTES'
      ? kind === 'string'
      : out.datatype === 'BOOL'
        ? kind === 'boolean'
        : kind === 'number';
  if (!fits || (spec.task === 'regression' && (out.datatype === 'BYTES' || out.datatype === 'BOOL')))
    throw new HoldoutError(
      `output '${out.name}' is ${out.datatype} but the labels are ${kind}s` +
        (spec.task === 'regression' ? '; a regression needs a numeric output' : ''),
    );
}

/** Scores the output tensor of a run on the holdout's inputs. */
export function scoreHoldout(spec: HoldoutSpec, output: Tensor): HoldoutScore {
  const rows = spec.labels.length;
  const values = valuesOf(output);
  if (values.length !== rows)
    throw new HoldoutError(
      `output '${output.name}' has ${values.length} values for ${rows} rows (shape ${formatShape(output.shape)}); ` +
        'name an output with one value per row, such as a class label',
    );
  if (spec.task === 'regression') {
    let squares = 0;
    for (let i = 0; i < rows; i++) {
      const predicted = Number(values[i]);
      if (!Number.isFinite(predicted))
        throw new HoldoutError(`output '${output.name}' is ${predicted} at row ${i}`);
      squares += (predicted - (spec.labels[i] as number)) ** 2;
    }
    return { task: 'regression', output: spec.output, rows, rmse: Math.sqrt(squares / rows) };
  }
  let correct = 0;
  for (let i = 0; i < rows; i++) if (equalsLabel(values[i]!, spec.labels[i]!)) correct++;
  return { task: 'classification', output: spec.output, rows, accuracy: correct / rows };
}

type Value = number | bigint | string | boolean;

function valuesOf(t: Tensor): Value[] {
  if (Array.isArray(t.data)) return t.data;
  const data = t.data;
  if (t.datatype === 'BOOL') return Array.from(data as Uint8Array, (b) => b !== 0);
  if (t.datatype === 'FP16') return Array.from(data as Uint16Array, halfToNumber);
  return Array.from(data as ArrayLike<number | bigint>);
}

/** Exact equality; INT64/UINT64 values are bigints, equal to a label that is the same integer. */
function equalsLabel(value: Value, label: Label): boolean {
  if (typeof value === 'bigint')
    return typeof label === 'number' && Number.isSafeInteger(label) && BigInt(label) === value;
  return value === label;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const text = JSON.stringify(v);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
