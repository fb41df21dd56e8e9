/**
 * Per-model statistics in the shape of Triton's statistics extension (GET /v2/models/{m}/stats): cumulative counts
 * and nanoseconds, kept in memory. Prometheus gets the same facts through metrics.ts; this is the protocol view.
 */

interface Duration {
  count: number;
  ns: number;
}

const zero = (): Duration => ({ count: 0, ns: 0 });

function add(d: Duration, ms: number): void {
  d.count++;
  d.ns += Math.round(ms * 1e6);
}

export class ModelStatistics {
  private lastInference = 0;
  private inferenceCount = 0;
  private executionCount = 0;
  private readonly success = zero();
  private readonly fail = zero();
  private readonly queue = zero();
  private readonly computeInfer = zero();
  private readonly batches = new Map<number, Duration>();

  constructor(
    private readonly name: string,
    private readonly version: string,
  ) {}

  requestDone(ok: boolean, ms: number): void {
    add(ok ? this.success : this.fail, ms);
    this.lastInference = Date.now();
  }

  queued(ms: number): void {
    add(this.queue, ms);
  }

  executed(rows: number, ms: number): void {
    this.inferenceCount += rows;
    this.executionCount++;
    add(this.computeInfer, ms);
    let b = this.batches.get(rows);
    if (!b) this.batches.set(rows, (b = zero()));
    add(b, ms);
  }

  /** One entry of `model_stats`, as Triton reports it. */
  toJSON(): object {
    return {
      name: this.name,
      version: this.version,
      last_inference: this.lastInference,
      inference_count: this.inferenceCount,
      execution_count: this.executionCount,
      inference_stats: {
        success: this.success,
        fail: this.fail,
        queue: this.queue,
        compute_input: zero(),
        compute_infer: this.computeInfer,
        compute_output: zero(),
      },
      batch_stats: [...this.batches.entries()]
        .sort(([a], [b]) => a - b)
        .map(([batchSize, d]) => ({
          batch_size: batchSize,
          compute_input: zero(),
          compute_infer: d,
          compute_output: zero(),
        })),
    };
  }
}
