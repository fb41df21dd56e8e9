/**
 * A baseline from a sample of inputs (`modelship-server baseline`, and the same rule as the example trainer's): per
 * numeric feature, quantile bin edges and the sample's frequencies on them; per categorical feature, its most
 * frequent values and their frequencies, the rest "other". Pure: the sample is already parsed (sample.ts).
 *
 * Edges: for bins B over the n sorted values v, edge i (1 <= i < B) is v[ceil(i·n/B) − 1], the lower i/B-quantile
 * (a value of the sample), duplicates dropped. With bins closed on the right, (e_i−1, e_i], each bin then holds
 * about n/B values, fewer where many values are equal. The frequencies are the sample's, counted on those bins.
 */
import { BASELINE_VERSION, numericBin, parseBaseline } from './baseline.js';

/** Most distinct values a categorical feature keeps (the rest is "other"). */
export const MAX_CATEGORIES = 100;

export interface Sample {
  /** One array of values per feature (column), all of the same length; NaN = missing. */
  columns: (number | string)[][];
  /** The columns' names when the sample had them (a CSV header, the keys of JSON objects). */
  names?: string[];
  /** The input is one feature, one value per element ([N]): entries get no column. */
  oneFeature?: boolean;
}

export interface BaselineOptions {
  input: string;
  bins: number;
  /** Overrides the sample's names. */
  featureNames?: string[];
  /** Names of the features to treat as categorical. */
  categorical?: readonly string[];
}

/** baseline.json as written (the format of baseline.ts). */
export interface BaselineDocument {
  version: number;
  features: Record<string, unknown>[];
}

export class SampleError extends Error {
  override name = 'SampleError';
}

/** The lower i/bins-quantiles (1 <= i < bins) of the values, NaN left out, duplicates dropped; [] without values. */
export function quantileEdges(values: readonly number[], bins: number): number[] {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return [];
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    const edge = sorted[Math.ceil((i * n) / bins) - 1]!;
    if (edges.length === 0 || edge > edges[edges.length - 1]!) edges.push(edge);
  }
  return edges;
}

export function numericFrequencies(values: readonly number[], edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  let n = 0;
  for (const v of values) {
    const bin = numericBin(edges, v);
    if (bin >= 0) {
      counts[bin]!++;
      n++;
    }
  }
  return counts.map((c) => c / n);
}

export function computeBaseline(sample: Sample, opts: BaselineOptions): BaselineDocument {
  const width = sample.columns.length;
  if (width === 0 || sample.columns[0]!.length === 0) throw new SampleError('the sample has no rows');
  if (!(Number.isSafeInteger(opts.bins) && opts.bins >= 2))
    throw new SampleError('--bins must be an integer >= 2');
  if (opts.featureNames && opts.featureNames.length !== width)
    throw new SampleError(
      `--feature-names names ${opts.featureNames.length} features, the sample has ${width} columns`,
    );
  const names =
    opts.featureNames ??
    sample.names ??
    sample.columns.map((_, j) => (sample.oneFeature ? opts.input : `${opts.input}[${j}]`));
  for (const c of opts.categorical ?? [])
    if (!names.includes(c))
      throw new SampleError(
        `--categorical names "${c}", which is no feature of the sample (${names.join(', ')})`,
      );
  const categorical = new Set(opts.categorical ?? []);
  const features = sample.columns.map((column, j): Record<string, unknown> => {
    const name = names[j]!;
    const where = sample.oneFeature ? {} : { column: j };
    if (categorical.has(name)) {
      const { values, frequencies } = categories(column);
      return { name, input: opts.input, ...where, kind: 'categorical', values, frequencies };
    }
    const numbers = column.map((v, i) => {
      if (typeof v !== 'number')
        throw new SampleError(
          `feature "${name}", row ${i + 1}: "${v}" is not a number (list the feature in --categorical if it is one)`,
        );
      return v;
    });
    const edges = quantileEdges(numbers, opts.bins);
    if (edges.length === 0) throw new SampleError(`feature "${name}" has no values (all missing)`);
    return {
      name,
      input: opts.input,
      ...where,
      kind: 'numeric',
      edges,
      frequencies: numericFrequencies(numbers, edges),
    };
  });
  const doc = { version: BASELINE_VERSION, features };
  // What is written must be what the server accepts: the same validation.
  parseBaseline(doc);
  return doc;
}

/** The most frequent values (ties by value), at most MAX_CATEGORIES; frequencies end with "other". */
function categories(column: readonly (number | string)[]): { values: string[]; frequencies: number[] } {
  const counts = new Map<string, number>();
  for (const v of column) {
    if (typeof v === 'number' && Number.isNaN(v)) continue;
    const key = String(v);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const n = [...counts.values()].reduce((a, b) => a + b, 0);
  if (n === 0) throw new SampleError('a categorical feature has no values (all missing)');
  const ranked = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const kept = ranked.slice(0, MAX_CATEGORIES);
  const other = ranked.slice(MAX_CATEGORIES).reduce((a, [, c]) => a + c, 0);
  return { values: kept.map(([v]) => v), frequencies: [...kept.map(([, c]) => c / n), other / n] };
}
