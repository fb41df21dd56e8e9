/**
 * `baseline.json`: what the inputs (and optionally the predictions) looked like when the model was trained, as
 * per-feature histograms. The server compares its recent traffic with it (PSI, psi.ts). Written by the example
 * trainer (examples/retraining/train.py), by `modelship-server baseline` (compute.ts), or by hand.
 *
 *   {
 *     "version": 1,
 *     "features": [
 *       { "name": "sepal_length", "input": "features", "column": 0, "kind": "numeric",
 *         "edges": [5.1, 5.8, 6.4], "frequencies": [0.27, 0.24, 0.25, 0.24] },
 *       { "input": "color", "kind": "categorical", "values": ["red", "green"], "frequencies": [0.5, 0.4, 0.1] }
 *     ],
 *     "outputs": [
 *       { "output": "label", "kind": "categorical", "values": ["0", "1", "2"], "frequencies": [0.3, 0.4, 0.3, 0] }
 *     ]
 *   }
 *
 * - `column` (optional): the tensor's last dimension is the feature axis and this is the feature's index on it, so a
 *   `[N, F]` input gives N rows (and `[F]` one row). Without `column`, every element of the tensor is one value of
 *   the feature (a `[N]` or `[N, 1]` input holding one feature).
 * - numeric: `edges` strictly ascending, finite; they make edges.length + 1 bins, closed on the right:
 *   (-inf, e0], (e0, e1], ..., (e_last, +inf). NaN values are not counted.
 * - categorical: `values` (strings, distinct); a value is matched by its string form (BYTES as is, integers and
 *   BOOL in decimal: 0/1), anything else falls in the last bin, "other": frequencies has values.length + 1 entries.
 * - `frequencies`: fractions >= 0 that sum to 1 (within 1e-6).
 * - `name` defaults to `<input>[<column>]`, or `<input>` without a column (outputs: `<output>...` alike).
 */

export const BASELINE_VERSION = 1;
/** Bounds that keep the per-feature metrics (one series each) and the window's memory small. */
export const MAX_FEATURES = 1000;
export const MAX_BINS = 1000;
const SUM_TOLERANCE = 1e-6;

interface EntryBase {
  /** The metric label: unique within features (and within outputs). */
  name: string;
  /** The tensor: an input's name (features) or an output's (outputs). */
  tensor: string;
  column?: number;
  /** One per bin, summing to 1. */
  frequencies: number[];
}
export interface NumericEntry extends EntryBase {
  kind: 'numeric';
  edges: number[];
}
export interface CategoricalEntry extends EntryBase {
  kind: 'categorical';
  values: string[];
}
export type BaselineEntry = NumericEntry | CategoricalEntry;

export interface Baseline {
  version: number;
  features: BaselineEntry[];
  outputs: BaselineEntry[];
}

export class BaselineError extends Error {
  override name = 'BaselineError';
}

/** The default name of a feature: `features[2]`, or the tensor's name alone without a column. */
export function defaultFeatureName(tensor: string, column: number | undefined): string {
  return column === undefined ? tensor : `${tensor}[${column}]`;
}

/** Validates a parsed baseline.json; throws BaselineError naming the field at fault. */
export function parseBaseline(doc: unknown): Baseline {
  if (!isObject(doc)) throw new BaselineError('the baseline must be a JSON object');
  if (doc.version !== BASELINE_VERSION)
    throw new BaselineError(
      `version: must be ${BASELINE_VERSION}, got ${JSON.stringify(doc.version) ?? 'nothing'}`,
    );
  if (!Array.isArray(doc.features) || doc.features.length === 0)
    throw new BaselineError('features: must be a non-empty array');
  const features = entries(doc.features, 'features', 'input');
  const outputs = doc.outputs === undefined ? [] : entries(doc.outputs, 'outputs', 'output');
  return { version: BASELINE_VERSION, features, outputs };
}

function entries(list: unknown, field: string, tensorKey: 'input' | 'output'): BaselineEntry[] {
  if (!Array.isArray(list)) throw new BaselineError(`${field}: must be an array`);
  if (list.length > MAX_FEATURES)
    throw new BaselineError(`${field}: at most ${MAX_FEATURES} entries, got ${list.length}`);
  const parsed = list.map((e, i) => entry(e, `${field}[${i}]`, tensorKey));
  const seen = new Set<string>();
  parsed.forEach((e, i) => {
    if (seen.has(e.name))
      throw new BaselineError(
        `${field}[${i}].name: "${e.name}" is used by an earlier entry; names must be unique`,
      );
    seen.add(e.name);
  });
  return parsed;
}

function entry(e: unknown, at: string, tensorKey: 'input' | 'output'): BaselineEntry {
  if (!isObject(e)) throw new BaselineError(`${at}: must be an object`);
  const tensor = e[tensorKey];
  if (typeof tensor !== 'string' || tensor === '')
    throw new BaselineError(`${at}.${tensorKey}: must be the name of the model's ${tensorKey} tensor`);
  let column: number | undefined;
  if (e.column !== undefined && e.column !== null) {
    if (!Number.isSafeInteger(e.column) || (e.column as number) < 0)
      throw new BaselineError(`${at}.column: must be an integer >= 0, got ${JSON.stringify(e.column)}`);
    column = e.column as number;
  }
  let name = defaultFeatureName(tensor, column);
  if (e.name !== undefined) {
    if (typeof e.name !== 'string' || e.name === '' || e.name.length > 200)
      throw new BaselineError(`${at}.name: must be a non-empty string of at most 200 characters`);
    name = e.name;
  }
  const base = { name, tensor, ...(column === undefined ? {} : { column }) };
  if (e.kind === 'numeric') {
    const edges = e.edges;
    if (!Array.isArray(edges) || edges.length === 0 || edges.length >= MAX_BINS)
      throw new BaselineError(`${at}.edges: must be an array of 1 to ${MAX_BINS - 1} numbers`);
    edges.forEach((v, i) => {
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new BaselineError(`${at}.edges[${i}]: must be a finite number, got ${JSON.stringify(v)}`);
      if (i > 0 && v <= (edges[i - 1] as number))
        throw new BaselineError(
          `${at}.edges[${i}]: edges must be strictly ascending (${v} after ${edges[i - 1]})`,
        );
    });
    const frequencies = checkFrequencies(e.frequencies, edges.length + 1, at, 'edges.length + 1');
    return { ...base, kind: 'numeric', edges: edges as number[], frequencies };
  }
  if (e.kind === 'categorical') {
    const values = e.values;
    if (!Array.isArray(values) || values.length === 0 || values.length >= MAX_BINS)
      throw new BaselineError(`${at}.values: must be an array of 1 to ${MAX_BINS - 1} strings`);
    const seen = new Set<string>();
    values.forEach((v, i) => {
      if (typeof v !== 'string')
        throw new BaselineError(`${at}.values[${i}]: must be a string, got ${JSON.stringify(v)}`);
      if (seen.has(v)) throw new BaselineError(`${at}.values[${i}]: "${v}" is listed twice`);
      seen.add(v);
    });
    const frequencies = checkFrequencies(
      e.frequencies,
      values.length + 1,
      at,
      'values.length + 1, the last for "other"',
    );
    return { ...base, kind: 'categorical', values: values as string[], frequencies };
  }
  throw new BaselineError(
    `${at}.kind: must be "numeric" or "categorical", got ${JSON.stringify(e.kind) ?? 'nothing'}`,
  );
}

function checkFrequencies(f: unknown, length: number, at: string, why: string): number[] {
  if (!Array.isArray(f) || f.length !== length)
    throw new BaselineError(
      `${at}.frequencies: must be an array of ${length} numbers (${why}), got ${Array.isArray(f) ? f.length : JSON.stringify(f)}`,
    );
  let sum = 0;
  f.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new BaselineError(`${at}.frequencies[${i}]: must be a fraction >= 0, got ${JSON.stringify(v)}`);
    sum += v;
  });
  if (Math.abs(sum - 1) > SUM_TOLERANCE)
    throw new BaselineError(`${at}.frequencies: must sum to 1, they sum to ${sum}`);
  return f as number[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The number of bins of an entry (the last of a categorical one is "other"). */
export function binCount(e: BaselineEntry): number {
  return e.frequencies.length;
}

/** The bin of a numeric value: the first i with value <= edges[i], else the last bin. NaN: -1 (not counted). */
export function numericBin(edges: readonly number[], value: number): number {
  if (Number.isNaN(value)) return -1;
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (value <= edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * What the baseline says that the model cannot have: an entry naming a tensor the model does not have, or a column
 * beyond a fixed feature axis. The server warns about each (the feature then never has samples) and goes on.
 */
export function mismatches(
  baseline: Baseline,
  signature: {
    inputs: readonly { name: string; shape: readonly number[] }[];
    outputs: readonly { name: string; shape: readonly number[] }[];
  },
): string[] {
  const problems: string[] = [];
  const check = (list: BaselineEntry[], specs: typeof signature.inputs, what: string) => {
    for (const e of list) {
      const spec = specs.find((s) => s.name === e.tensor);
      if (!spec) {
        problems.push(
          `${e.name}: the model has no ${what} named "${e.tensor}" (it has ${specs.map((s) => s.name).join(', ')})`,
        );
        continue;
      }
      const last = spec.shape[spec.shape.length - 1];
      if (e.column !== undefined && last !== undefined && last >= 0 && e.column >= last)
        problems.push(`${e.name}: column ${e.column} is beyond ${what} "${e.tensor}"'s ${last} columns`);
    }
  };
  check(baseline.features, signature.inputs, 'input');
  check(baseline.outputs, signature.outputs, 'output');
  return problems;
}
