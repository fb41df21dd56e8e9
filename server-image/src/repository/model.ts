/**
 * One loaded ONNX model: an onnxruntime-node session on its own worker thread (ort-worker.ts), its protocol
 * signature (dynamic dimensions as -1) and a run function on decoded tensors.
 * NOTE: onnxruntime-node 1.30's session.run is synchronous (it blocks the calling thread for the whole
 * execution); on the main thread it would stop every HTTP read and write meanwhile, so it lives on a worker.
 */
import { Worker } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';
import { datatypeByOrt, datatypeByV2, type TensorData } from '../protocol/v2/datatypes.js';
import type { ModelSignature, Tensor, TensorSpec } from '../protocol/v2/types.js';
import type { WireTensor, WorkerInit, WorkerReply, WorkerRequest } from './ort-worker.js';

export interface SessionSettings {
  /** onnxruntime intra-op threads; 0 keeps onnxruntime's default (one per core). */
  intraOpThreads: number;
  /** onnxruntime inter-op threads; 0 keeps onnxruntime's default. */
  interOpThreads: number;
  /**
   * The caller's input arrays stay readable after run(): copied to the worker rather than transferred (which
   * detaches them). For inference observers (monitoring/), which read a request's inputs after its answer.
   */
  keepInputs?: boolean;
}

export class InvalidModelError extends Error {
  override name = 'InvalidModelError';
}

/**
 * Starts ort-worker. Compiled, it is plain .js. From source (tsx, Jest) it is a .ts file: a small bootstrap
 * registers tsx's loader inside the worker first (execArgv loaders do not reach worker threads on Node 20).
 */
function startWorker(init: WorkerInit): Worker {
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./ort-worker.js', import.meta.url), { workerData: init });
  const entry = new URL('./ort-worker.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(bootstrap, { eval: true, workerData: init });
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

interface Pending {
  resolve(reply: WorkerReply & { ok: true }): void;
  reject(err: Error): void;
}

export class OnnxModel {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private failure: Error | undefined;
  private closing = false;
  private onFailure: ((err: Error) => void) | undefined;
  /** Resolves if the worker dies on its own (never after close()): the model can no longer serve. */
  readonly failed: Promise<Error> = new Promise((resolve) => (this.onFailure = resolve));

  private constructor(
    private readonly worker: Worker,
    readonly signature: ModelSignature,
    private readonly keepInputs = false,
  ) {
    worker.on('message', (reply: WorkerReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (reply.ok) p.resolve(reply);
      else p.reject(new Error(reply.error));
    });
    const fail = (err: Error) => {
      this.failure ??= err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      if (!this.closing) this.onFailure?.(err);
    };
    worker.on('error', (err) => fail(new Error(`the onnxruntime worker failed: ${err.message}`)));
    worker.on('exit', (code) => fail(new Error(`the onnxruntime worker exited (code ${code})`)));
  }

  /** Creates the session from a file. Throws InvalidModelError when the file is not a model onnxruntime can run. */
  static async load(path: string, settings: SessionSettings): Promise<OnnxModel> {
    const options: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all' };
    if (settings.intraOpThreads > 0) options.intraOpNumThreads = settings.intraOpThreads;
    if (settings.interOpThreads > 0) {
      options.interOpNumThreads = settings.interOpThreads;
      options.executionMode = 'parallel';
    }
    const worker = startWorker({ path, options });
    let onMessage!: (m: WorkerReply) => void;
    let onError!: (e: Error) => void;
    let onExit!: (code: number) => void;
    const first = await new Promise<WorkerReply>((resolve, reject) => {
      onMessage = resolve;
      onError = reject;
      onExit = (code) => reject(new Error(`the onnxruntime worker exited (code ${code}) while loading`));
      worker.once('message', onMessage).once('error', onError).once('exit', onExit);
    }).finally(() => worker.off('message', onMessage).off('error', onError).off('exit', onExit));
    if (!first.ok) {
      await worker.terminate();
      throw new InvalidModelError(`${path} is not a valid ONNX model: ${first.error}`);
    }
    if (!('inputMetadata' in first)) throw new Error('unexpected first message from the onnxruntime worker');
    try {
      const signature = {
        inputs: (first.inputMetadata as ort.InferenceSession.ValueMetadata[]).map((m) => toSpec(m, 'input')),
        outputs: (first.outputMetadata as ort.InferenceSession.ValueMetadata[]).map((m) =>
          toSpec(m, 'output'),
        ),
      };
      return new OnnxModel(worker, signature, settings.keepInputs);
    } catch (err) {
      await worker.terminate();
      throw err;
    }
  }

  /**
   * True when every input and output has a dynamic first dimension, so requests can be stacked along it.
   * Models with a fixed first dimension (or scalars) run one request at a time.
   */
  get batchable(): boolean {
    const all = [...this.signature.inputs, ...this.signature.outputs];
    return all.every((t) => t.shape.length > 0 && t.shape[0] === -1);
  }

  /** Runs the model; `inputs` are in signature order and already validated. Returns `outputNames` in that order. */
  async run(inputs: readonly Tensor[], outputNames: readonly string[]): Promise<Tensor[]> {
    const transfer: ArrayBuffer[] = [];
    const feeds: WireTensor[] = inputs.map((t) => {
      let data = t.data;
      if (!Array.isArray(data)) {
        // Transfer, not copy; a view into a larger buffer (a request body) is first cut out of it, and an array
        // the caller keeps reading (keepInputs) is copied first.
        if (this.keepInputs || data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength)
          data = data.slice();
        transfer.push(data.buffer as ArrayBuffer);
      }
      return {
        name: t.name,
        type: datatypeByV2(t.datatype)!.ort,
        dims: t.shape,
        data: data as ort.Tensor.DataType,
      };
    });
    const reply = (await this.call({ kind: 'run', feeds, outputNames: [...outputNames] }, transfer)) as {
      outputs?: WireTensor[];
    };
    return (reply.outputs ?? []).map((o) => ({
      name: o.name,
      datatype: datatypeByOrt(o.type)!.v2,
      shape: o.dims,
      data: o.data as TensorData,
    }));
  }

  /** One inference on zeros (empty strings for BYTES), dynamic dimensions set to 1: proves the model runs. */
  async warmUp(): Promise<void> {
    const inputs = this.signature.inputs.map((spec): Tensor => {
      const shape = spec.shape.map((d) => (d < 0 ? 1 : d));
      const count = shape.reduce((a, b) => a * b, 1);
      const info = datatypeByV2(spec.datatype)!;
      const data: TensorData = info.array ? new info.array(count) : new Array<string>(count).fill('');
      return { name: spec.name, datatype: spec.datatype, shape, data };
    });
    await this.run(
      inputs,
      this.signature.outputs.map((o) => o.name),
    );
  }

  async close(): Promise<void> {
    this.closing = true;
    if (!this.failure) await this.call({ kind: 'close' }, []).catch(() => undefined);
    await this.worker.terminate();
  }

  private call(
    msg: DistributiveOmit<WorkerRequest, 'id'>,
    transfer: ArrayBuffer[],
  ): Promise<WorkerReply & { ok: true }> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id }, transfer);
    });
  }
}

function toSpec(meta: ort.InferenceSession.ValueMetadata, kind: string): TensorSpec {
  if (!meta.isTensor)
    throw new InvalidModelError(`${kind} '${meta.name}' is not a tensor; only tensors can be served`);
  const info = datatypeByOrt(meta.type);
  if (!info)
    throw new InvalidModelError(
      `${kind} '${meta.name}' has element type ${meta.type}, which the inference protocol cannot carry`,
    );
  return {
    name: meta.name,
    datatype: info.v2,
    // Symbolic dimensions ('batch') and unknown ones are dynamic: -1 in the protocol.
    shape: meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)),
  };
}
