/**
 * The drift monitor's Prometheus series, on the server's registry (so they carry its default `revision` label).
 * PSI and the window's sample count are computed when Prometheus scrapes (collect()), from the window as it is
 * then: nothing is computed per request. A feature without samples in the window has no PSI series (not 0).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ModelLabels } from '../../metrics.js';
import type { DriftSnapshot } from './tracker.js';

const PREFIX = 'modelship_';
/** For output values: fine over [0, 1] (probabilities, scores), coarse above; _sum / _count give the mean. */
export const PREDICTION_VALUE_BUCKETS = [
  0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1, 2, 5, 10, 100, 1000,
];

export class DriftMetrics {
  readonly dropped: ReturnType<Counter<'model' | 'version'>['labels']>;
  private readonly loaded: Gauge<'model' | 'version'>;
  private readonly classes: Counter<'model' | 'version' | 'output' | 'class'>;
  private readonly values: Histogram<'model' | 'version' | 'output'>;

  constructor(
    registry: Registry,
    private readonly labels: ModelLabels,
    /** The window as of now, or undefined while no baseline is loaded. */
    snapshot: () => DriftSnapshot | undefined,
  ) {
    const registers = [registry];
    const { model, version } = labels;
    new Gauge({
      name: `${PREFIX}drift_psi`,
      help: "Population Stability Index of an input feature's values in the drift window against the baseline (absent without samples)",
      labelNames: ['model', 'version', 'feature'],
      registers,
      collect() {
        this.reset();
        for (const f of snapshot()?.features ?? [])
          if (f.psi !== undefined) this.labels(model, version, f.name).set(f.psi);
      },
    });
    new Gauge({
      name: `${PREFIX}prediction_psi`,
      help: "Population Stability Index of an output's values in the drift window against the baseline's outputs (absent without samples)",
      labelNames: ['model', 'version', 'output'],
      registers,
      collect() {
        this.reset();
        for (const f of snapshot()?.outputs ?? [])
          if (f.psi !== undefined) this.labels(model, version, f.name).set(f.psi);
      },
    });
    new Gauge({
      name: `${PREFIX}drift_window_samples`,
      help: 'Rows (of successful inference requests) in the drift window',
      labelNames: ['model', 'version'],
      registers,
      collect() {
        this.labels(model, version).set(snapshot()?.samples ?? 0);
      },
    });
    this.loaded = new Gauge({
      name: `${PREFIX}drift_baseline_loaded`,
      help: '1 when the drift baseline was fetched and is valid, else 0 (drift is then not measured)',
      labelNames: ['model', 'version'],
      registers,
    });
    this.loaded.labels(model, version).set(0);
    this.dropped = new Counter({
      name: `${PREFIX}drift_dropped_total`,
      help: 'Requests the drift monitor did not look at because its queue was full',
      labelNames: ['model', 'version'],
      registers,
    }).labels(model, version);
    this.dropped.inc(0);
    this.classes = new Counter({
      name: `${PREFIX}prediction_class_total`,
      help: 'Predicted values of integer, boolean and string outputs, by class (a bounded number; beyond it "other")',
      labelNames: ['model', 'version', 'output', 'class'],
      registers,
    });
    this.values = new Histogram({
      name: `${PREFIX}prediction_value`,
      help: 'Values of floating-point outputs, every element',
      labelNames: ['model', 'version', 'output'],
      buckets: PREDICTION_VALUE_BUCKETS,
      registers,
    });
  }

  setBaselineLoaded(loaded: boolean): void {
    this.loaded.labels(this.labels.model, this.labels.version).set(loaded ? 1 : 0);
  }

  /** The class counter of one output (look it up once per class and keep it). */
  classSeries(
    output: string,
    cls: string,
  ): ReturnType<Counter<'model' | 'version' | 'output' | 'class'>['labels']> {
    return this.classes.labels(this.labels.model, this.labels.version, output, cls);
  }

  valueSeries(output: string): ReturnType<Histogram<'model' | 'version' | 'output'>['labels']> {
    return this.values.labels(this.labels.model, this.labels.version, output);
  }
}
