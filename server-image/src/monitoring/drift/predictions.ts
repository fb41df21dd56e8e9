/**
 * The prediction distribution: what the model answers, counted for metrics. Integer, boolean and string outputs are
 * classes (a counter per class, at most MAX_CLASSES distinct per output, the rest under "other"); floating-point
 * outputs go into a histogram of their values. Counts are summed per batch of requests before touching prom-client.
 */
import type { Tensor } from '../../protocol/v2/types.js';
import type { DriftMetrics } from './metrics.js';

export const MAX_CLASSES = 50;
export const OTHER_CLASS = 'other';
/** Longer string classes are cut: a label value is not a place for free text. */
const MAX_CLASS_LENGTH = 64;
/** At most this many outputs are tracked (a model's outputs are few; this only bounds a strange one). */
const MAX_OUTPUTS = 32;
/** Not a string a tensor holds (a lone surrogate): the overflow's key among the classes. */
const OTHER_KEY = '\ud800other';

type CounterChild = ReturnType<DriftMetrics['classSeries']>;
type HistogramChild = ReturnType<DriftMetrics['valueSeries']>;

export class PredictionCounter {
  private readonly classes = new Map<string, Map<string, CounterChild>>();
  private readonly histograms = new Map<string, HistogramChild>();
  /** This batch's counts, per class series. */
  private pending = new Map<CounterChild, number>();

  constructor(private readonly metrics: DriftMetrics) {}

  /** Counts one request's outputs (into this batch). */
  add(outputs: readonly Tensor[]): void {
    for (const t of outputs) {
      const data = t.data;
      if (t.datatype === 'FP32' || t.datatype === 'FP64') {
        const h = this.histogram(t.name);
        if (!h) continue;
        for (let i = 0; i < data.length; i++) h.observe(data[i] as number);
      } else if (t.datatype !== 'FP16') {
        const series = this.classMap(t.name);
        if (!series) continue;
        for (let i = 0; i < data.length; i++) {
          const c = this.classSeries(t.name, series, String(data[i]!));
          this.pending.set(c, (this.pending.get(c) ?? 0) + 1);
        }
      }
    }
  }

  /** Adds the batch's class counts to the counters. */
  flush(): void {
    for (const [series, n] of this.pending) series.inc(n);
    this.pending = new Map();
  }

  private classMap(output: string): Map<string, CounterChild> | undefined {
    let m = this.classes.get(output);
    if (!m) {
      if (this.classes.size + this.histograms.size >= MAX_OUTPUTS) return undefined;
      m = new Map();
      this.classes.set(output, m);
    }
    return m;
  }

  private classSeries(output: string, series: Map<string, CounterChild>, value: string): CounterChild {
    let c = series.get(value);
    if (c) return c;
    // Once MAX_CLASSES are known, unseen values are not remembered (each would be one more entry): they are
    // "other", kept under a key no value can have.
    if (series.size >= MAX_CLASSES) {
      c = series.get(OTHER_KEY);
      if (!c) series.set(OTHER_KEY, (c = this.metrics.classSeries(output, OTHER_CLASS)));
      return c;
    }
    c = this.metrics.classSeries(output, value.slice(0, MAX_CLASS_LENGTH));
    series.set(value, c);
    return c;
  }

  private histogram(output: string): HistogramChild | undefined {
    let h = this.histograms.get(output);
    if (!h) {
      if (this.classes.size + this.histograms.size >= MAX_OUTPUTS) return undefined;
      h = this.metrics.valueSeries(output);
      this.histograms.set(output, h);
    }
    return h;
  }
}
