/**
 * Runs inference requests for one model: through the dynamic batcher when the model has a dynamic first dimension,
 * one at a time otherwise. Merges a batch's inputs, runs onnxruntime once with the union of the requested outputs,
 * splits the outputs back and keeps the statistics.
 */
import { realClock, type Clock } from '../clock.js';
import type { ModelLabels, ServingMetrics } from '../metrics.js';
import { InferenceError } from '../protocol/v2/errors.js';
import type { InferRequest, InferResult, Tensor } from '../protocol/v2/types.js';
import type { OnnxModel } from '../repository/model.js';
import { classifyOrtError } from '../repository/ort-errors.js';
import type { ModelStatistics } from '../statistics.js';
import { Batcher, type BatcherOptions } from './batcher.js';
import { batchKey, batchRows, mergeInputs, splitOutputs } from './merge.js';

export class ModelRunner {
  private readonly batcher: Batcher<InferRequest, InferResult>;

  constructor(
    private readonly model: OnnxModel,
    options: BatcherOptions,
    private readonly labels: ModelLabels,
    private readonly metrics: ServingMetrics,
    private readonly stats: ModelStatistics,
    clock: Clock = realClock,
  ) {
    const batching = model.batchable && options.maxBatchSize > 1;
    this.batcher = new Batcher<InferRequest, InferResult>(
      // Models without a dynamic first dimension run one request per execution.
      batching ? options : { ...options, maxBatchSize: 1, maxQueueDelayMs: 0 },
      { rows: (r) => batchRows(r.inputs), key: (r) => batchKey(r.inputs) },
      (reqs) => this.execute(reqs),
      {
        onDequeue: (ms) => {
          metrics.queued(labels, ms / 1000);
          stats.queued(ms);
        },
      },
      clock,
    );
    metrics.trackPending(labels, () => this.batcher.pending);
  }

  infer(req: InferRequest): Promise<InferResult> {
    return this.batcher.enqueue(req);
  }

  /** Queued requests and running batches, for the shutdown drain (drain.ts). */
  get activity(): Pick<Batcher<InferRequest, InferResult>, 'idle' | 'lastActivity' | 'subscribe'> {
    return this.batcher;
  }

  private async execute(reqs: InferRequest[]): Promise<InferResult[]> {
    const started = performance.now();
    const outputNames = this.unionOfOutputs(reqs);
    const inputs = reqs.length === 1 ? reqs[0]!.inputs : mergeInputs(reqs.map((r) => r.inputs));
    let outputs: Tensor[];
    try {
      outputs = await this.model.run(inputs, outputNames);
    } catch (err) {
      const message = (err as Error).message;
      throw new InferenceError(classifyOrtError(message), `onnxruntime could not run the model: ${message}`);
    }
    const perRequest =
      reqs.length === 1
        ? [outputs]
        : splitOutputs(
            outputs,
            reqs.map((r) => batchRows(r.inputs)!),
          );
    const rows = reqs.reduce((n, r) => n + (batchRows(r.inputs) ?? 1), 0);
    const ms = performance.now() - started;
    this.metrics.executed(this.labels, rows, ms / 1000);
    this.stats.executed(rows, ms);
    return reqs.map((req, i) => {
      const available = perRequest[i]!;
      return { outputs: req.outputs.map((o) => available.find((t) => t.name === o.name)!) };
    });
  }

  /** The outputs any request of the batch asked for, in the model's order. */
  private unionOfOutputs(reqs: InferRequest[]): string[] {
    if (reqs.length === 1) return reqs[0]!.outputs.map((o) => o.name);
    const wanted = new Set<string>();
    for (const r of reqs) for (const o of r.outputs) wanted.add(o.name);
    return this.model.signature.outputs.map((o) => o.name).filter((n) => wanted.has(n));
  }
}
