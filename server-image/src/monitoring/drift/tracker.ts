/**
 * The baseline's features (and outputs) counted over a sliding window, and their PSI against the baseline: the pure
 * core of the drift monitor (monitor.ts does the queueing and the metrics). Every entry's bins are counters in one
 * SlidingCounts, plus one counter for the rows seen.
 */
import type { Tensor } from '../../protocol/v2/types.js';
import { numericBin, type Baseline, type BaselineEntry } from './baseline.js';
import { psi } from './psi.js';
import { DEFAULT_SLOTS, SlidingCounts } from './window.js';

interface Tracked {
  entry: BaselineEntry;
  /** Where its bins start among the counters. */
  offset: number;
  /** categorical: value -> bin; anything else is "other", the last bin. */
  bins?: Map<string, number>;
}

export interface DriftSnapshot {
  /** Rows observed in the window. */
  samples: number;
  /** Per feature (and per output of the baseline): samples in the window and PSI, undefined without samples. */
  features: { name: string; samples: number; psi: number | undefined }[];
  outputs: { name: string; samples: number; psi: number | undefined }[];
}

export class DriftTracker {
  private readonly counts: SlidingCounts;
  private readonly rowsIndex: number;
  private readonly features: Tracked[] = [];
  private readonly outputs: Tracked[] = [];
  private readonly byInput = new Map<string, Tracked[]>();
  private readonly byOutput = new Map<string, Tracked[]>();

  constructor(
    readonly baseline: Baseline,
    windowMs: number,
    slots = DEFAULT_SLOTS,
  ) {
    let offset = 0;
    const track = (entry: BaselineEntry, list: Tracked[], index: Map<string, Tracked[]>) => {
      const t: Tracked = {
        entry,
        offset,
        ...(entry.kind === 'categorical' ? { bins: new Map(entry.values.map((v, i) => [v, i])) } : {}),
      };
      offset += entry.frequencies.length;
      list.push(t);
      index.set(entry.tensor, [...(index.get(entry.tensor) ?? []), t]);
    };
    for (const e of baseline.features) track(e, this.features, this.byInput);
    for (const e of baseline.outputs) track(e, this.outputs, this.byOutput);
    this.rowsIndex = offset;
    this.counts = new SlidingCounts(offset + 1, windowMs, slots);
  }

  /** Counts one request's tensors at time `now`. The rows of a request: the most samples any of its features had. */
  observe(now: number, inputs: readonly Tensor[] | undefined, outputs: readonly Tensor[] | undefined): void {
    this.counts.at(now);
    let rows = 0;
    for (const t of inputs ?? []) {
      const tracked = this.byInput.get(t.name);
      if (tracked) for (const f of tracked) rows = Math.max(rows, this.count(f, t));
    }
    for (const t of outputs ?? []) {
      const tracked = this.byOutput.get(t.name);
      if (tracked) for (const f of tracked) this.count(f, t);
    }
    if (rows > 0) this.counts.add(this.rowsIndex, rows);
  }

  snapshot(now: number): DriftSnapshot {
    const totals = this.counts.totals(now);
    const of = (list: Tracked[]) =>
      list.map(({ entry, offset }) => {
        let samples = 0;
        for (let i = 0; i < entry.frequencies.length; i++) samples += totals[offset + i]!;
        return { name: entry.name, samples, psi: psi(entry.frequencies, totals, offset) };
      });
    return { samples: totals[this.rowsIndex]!, features: of(this.features), outputs: of(this.outputs) };
  }

  /** Adds the tensor's values of one entry to its bins; returns how many were counted. */
  private count(f: Tracked, t: Tensor): number {
    const { entry, offset } = f;
    const data = t.data;
    let start = 0;
    let step = 1;
    let n = data.length;
    if (entry.column !== undefined) {
      // The last dimension is the feature axis: [N, F] gives N rows, [F] one.
      const width = t.shape[t.shape.length - 1];
      if (width === undefined || width <= entry.column) return 0;
      start = entry.column;
      step = width;
      n = Math.floor(data.length / width);
    }
    if (entry.kind === 'numeric') {
      // Strings cannot be binned on numbers; FP16 arrives as raw half-float bits: neither is counted.
      if (Array.isArray(data) || t.datatype === 'FP16') return 0;
      let counted = 0;
      for (let r = 0, i = start; r < n; r++, i += step) {
        const bin = numericBin(entry.edges, Number(data[i]!));
        if (bin >= 0) {
          this.counts.add(offset + bin);
          counted++;
        }
      }
      return counted;
    }
    const other = entry.values.length;
    for (let r = 0, i = start; r < n; r++, i += step)
      this.counts.add(offset + (f.bins!.get(String(data[i]!)) ?? other));
    return n;
  }
}
