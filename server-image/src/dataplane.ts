/**
 * The protocol's logic, independent of HTTP: health, metadata, statistics, configuration and inference by model
 * name and version. Knows no HTTP types; http/app.ts maps its answers and errors to responses.
 */
import type { ServingMetrics } from './metrics.js';
import { decodeInferRequest } from './protocol/v2/decode.js';
import { encodeInferResponse, type EncodedBody } from './protocol/v2/encode.js';
import { InferenceError, reasonOf } from './protocol/v2/errors.js';
import type { InferRequest, InferResult } from './protocol/v2/types.js';
import { notReadyMessage, type ModelRegistry, type Serving } from './repository/registry.js';

/** An answer ready to write, with the request and result it came from (for the monitors, monitoring/observer.ts). */
export interface InferOutcome extends EncodedBody {
  request: InferRequest;
  result: InferResult;
}

export interface ServerInfo {
  name: string;
  version: string;
}

/** Protocol extensions this server implements (advertised in server metadata). */
export const EXTENSIONS = ['binary_tensor_data', 'statistics', 'model_configuration', 'parameters'];

export class DataPlane {
  constructor(
    private readonly registry: ModelRegistry,
    private readonly metrics: ServingMetrics,
    private readonly info: ServerInfo,
  ) {}

  /** Server readiness: every model ready (none loading, failed or shutting down). `error` says why not. */
  serverReady(): { ready: boolean; error?: string } {
    const entries = this.registry.all();
    if (entries.some((e) => e.lifecycle.state.phase === 'draining' || e.lifecycle.state.phase === 'stopped'))
      return { ready: false, error: 'the server is shutting down' };
    for (const entry of entries) {
      if (entry.lifecycle.state.phase !== 'ready') return { ready: false, error: notReadyMessage(entry) };
    }
    return { ready: true };
  }

  serverMetadata(): object {
    return { name: this.info.name, version: this.info.version, extensions: EXTENSIONS };
  }

  /** Throws 404 for an unknown model or version, 503 with the reason when it is not ready (or draining). */
  modelReady(name: string, version?: string): void {
    const entry = this.registry.lookup(name, version);
    if (entry.lifecycle.state.phase !== 'ready')
      throw new InferenceError('unavailable', notReadyMessage(entry), 'not_ready', 5);
  }

  /** Throws 404 for an unknown model or version, whatever its state (for endpoints that need no loaded model). */
  checkModel(name: string, version?: string): void {
    this.registry.lookup(name, version);
  }

  modelMetadata(name: string, version?: string): object {
    // Metadata needs a loaded model; before that the 503 says why there is none.
    const { entry, signature } = this.registry.serving(name, version);
    return {
      name: entry.name,
      versions: [entry.version],
      platform: 'onnx_onnxv1',
      inputs: signature.inputs,
      outputs: signature.outputs,
      // The protocol's `parameters` extension: the model card travels with the version it describes.
      ...(entry.card ? { parameters: { model_card: entry.card } } : {}),
    };
  }

  /** Triton's statistics extension: all models, or one. */
  modelStats(name?: string, version?: string): object {
    const entries = name === undefined ? this.registry.all() : [this.registry.lookup(name, version)];
    return { model_stats: entries.map((e) => e.stats.toJSON()) };
  }

  /** Triton's model configuration extension, enough for perf_analyzer and tritonclient. */
  modelConfig(name: string, version?: string): object {
    const { entry, signature, ...served } = this.registry.serving(name, version);
    const batching = served.batchable && served.maxBatchSize > 1;
    // Triton's config lists dims without the batch dimension when max_batch_size > 0.
    const dims = (shape: number[]) => (batching ? shape.slice(1) : shape);
    const tensor = (t: { name: string; datatype: string; shape: number[] }) => ({
      name: t.name,
      data_type: `TYPE_${t.datatype === 'BYTES' ? 'STRING' : t.datatype}`,
      dims: dims(t.shape),
    });
    return {
      name: entry.name,
      platform: 'onnxruntime_onnx',
      backend: 'onnxruntime',
      max_batch_size: batching ? served.maxBatchSize : 0,
      input: signature.inputs.map(tensor),
      output: signature.outputs.map(tensor),
      ...(batching
        ? { dynamic_batching: { max_queue_delay_microseconds: Math.round(served.maxQueueDelayMs * 1000) } }
        : {}),
    };
  }

  /**
   * Decode -> batcher -> onnxruntime -> encode. Never throws: every error, InferenceErrors carrying their status
   * included, is a rejection.
   */
  infer(
    name: string,
    version: string | undefined,
    body: Uint8Array,
    headerLength: number | undefined,
  ): Promise<InferOutcome> {
    let model: Serving;
    let request: InferRequest;
    try {
      model = this.registry.serving(name, version);
      request = decodeInferRequest(body, headerLength, model.signature);
    } catch (err) {
      return Promise.reject(err);
    }
    const { entry } = model;
    return model.runner.infer(request).then((result) => ({
      ...encodeInferResponse(entry.name, entry.version, request.id, result, request.outputs),
      request,
      result,
    }));
  }

  /** The served version of a model name, for the monitors' records; undefined for a name not served here. */
  versionOf(name: string): string | undefined {
    return this.registry.find(name)?.version;
  }

  /** Counts one inference request's outcome. Unknown model names are counted under '_unknown' (bounded labels). */
  recordInference(name: string, error: unknown, seconds: number): void {
    const entry = this.registry.find(name);
    const labels = entry ? { model: entry.name, version: entry.version } : UNKNOWN_MODEL;
    if (error === undefined) this.metrics.requestSucceeded(labels, seconds);
    else this.metrics.requestFailed(labels, reasonOf(error), seconds);
    entry?.stats.requestDone(error === undefined, seconds * 1000);
  }
}

const UNKNOWN_MODEL = { model: '_unknown', version: '' };
