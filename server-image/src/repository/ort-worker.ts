/**
 * The onnxruntime session's thread. onnxruntime-node 1.30 runs session.run synchronously on the calling thread,
 * which would stop all HTTP I/O for the length of every execution; here it runs on a worker thread instead, and
 * the main thread only exchanges messages (tensors are transferred, not copied, where possible).
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

export interface WorkerInit {
  path: string;
  options: ort.InferenceSession.SessionOptions;
}

export interface WireTensor {
  name: string;
  type: ort.Tensor.Type;
  dims: number[];
  data: ort.Tensor.DataType;
}

export type WorkerRequest =
  { id: number; kind: 'run'; feeds: WireTensor[]; outputNames: string[] } | { id: number; kind: 'close' };

export type WorkerReply =
  | { id: number; ok: true; outputs?: WireTensor[] }
  | { id: number; ok: false; error: string }
  | { id: -1; ok: true; inputMetadata: unknown; outputMetadata: unknown }
  | { id: -1; ok: false; error: string };

const port = parentPort!;
const init = workerData as WorkerInit;

let session: ort.InferenceSession;
try {
  session = await ort.InferenceSession.create(init.path, init.options);
  port.postMessage({
    id: -1,
    ok: true,
    inputMetadata: JSON.parse(JSON.stringify(session.inputMetadata)),
    outputMetadata: JSON.parse(JSON.stringify(session.outputMetadata)),
  } satisfies WorkerReply);
} catch (err) {
  port.postMessage({ id: -1, ok: false, error: (err as Error).message } satisfies WorkerReply);
  process.exit(0);
}

port.on('message', (msg: WorkerRequest) => {
  void handle(msg);
});

async function handle(msg: WorkerRequest): Promise<void> {
  if (msg.kind === 'close') {
    await session.release();
    port.postMessage({ id: msg.id, ok: true } satisfies WorkerReply);
    port.close();
    return;
  }
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const f of msg.feeds) {
      const tensor = new ort.Tensor(f.type, f.data, f.dims);
      if (f.type === 'float16' && !(tensor.data instanceof Uint16Array)) {
        // NOTE: where Float16Array exists (Node 26), onnxruntime-common rewraps float16 bits in one, which
        // onnxruntime-node 1.30's native code reads as zero bytes ("not enough space"). Keep the raw bits.
        (tensor as unknown as { cpuData: unknown }).cpuData = f.data;
      }
      feeds[f.name] = tensor;
    }
    const results = await session.run(feeds, msg.outputNames);
    const outputs: WireTensor[] = msg.outputNames.map((name) => {
      const t = results[name] as ort.Tensor;
      return { name, type: t.type, dims: t.dims.map(Number), data: t.data as ort.Tensor.DataType };
    });
    const transfer = outputs.flatMap((o) =>
      ArrayBuffer.isView(o.data) ? [o.data.buffer as ArrayBuffer] : [],
    );
    try {
      port.postMessage({ id: msg.id, ok: true, outputs } satisfies WorkerReply, transfer);
    } catch {
      port.postMessage({ id: msg.id, ok: true, outputs } satisfies WorkerReply); // not transferable: copied
    }
  } catch (err) {
    port.postMessage({ id: msg.id, ok: false, error: (err as Error).message } satisfies WorkerReply);
  }
}
