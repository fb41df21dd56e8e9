/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 */
/**
 * Dynamic batching over real HTTP: same answers as one-by-one, the flush rules, the queue limit, unbatchable cases.
 * Servers whose test depends on when a batch leaves run on a fake clock: the test waits until the pending-requests
 * gauge shows its requests queued, then moves the clock, so no assertion depends on how fast requests arrive.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import * as ort from 'onnxruntime-node';
import {
  addSubModel,
  benchTabularModel,
  fixedShapeModel,
  variableLengthModel,
} from '../../test/fixtures/onnx/models.js';
import { FakeClock } from '../src/testing/fake-clock.js';
import { bytesOf, getJson, postBinary, postJson } from './support/client.js';
import { pendingRequests, startTestServer, waitForPending, type TestServer } from './support/server.js';

let servers: TestServer[] = [];
async function serve(...args: Parameters<typeof startTestServer>): Promise<TestServer> {
  const s = await startTestServer(...args);
  servers.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  servers = [];
});

async function stats(s: TestServer, model: string) {
  return (await getJson(`${s.base}/v2/models/${model}/stats`)).json.model_stats[0];
}

describe('batching', () => {
  it('concurrent requests get the same answers as sequential in-process runs, in one execution', async () => {
    const clock = new FakeClock();
    const s = await serve(
      benchTabularModel(),
      { modelName: 't', maxQueueDelayMs: 20, maxBatchSize: 128 },
      { clock },
    );
    const session = await ort.InferenceSession.create(benchTabularModel());
    const requests = Array.from({ length: 40 }, (_, i) => {
      const rows = 1 + (i % 3);
      return { rows, data: Array.from({ length: rows * 30 }, (_, j) => Math.cos(i * 31 + j)) };
    });
    const answers = Promise.all(
      requests.map((r) =>
        postJson(`${s.base}/v2/models/t/infer`, {
          inputs: [{ name: 'features', shape: [r.rows, 30], datatype: 'FP32', data: r.data }],
        }),
      ),
    );
    // 79 rows, under maxBatchSize: they wait together until the oldest has waited 20 ms.
    await waitForPending(s, requests.length);
    await clock.advance(20);
    const responses = await answers;
    for (const [i, r] of requests.entries()) {
      const ref = await session.run({
        features: new ort.Tensor('float32', Float32Array.from(r.data), [r.rows, 30]),
      });
      expect(responses[i]!.status).toBe(200);
      expect(responses[i]!.json.outputs[0]).toMatchObject({ name: 'probabilities', shape: [r.rows, 3] });
      expect(responses[i]!.json.outputs[0].data).toEqual(Array.from(ref.probabilities!.data as Float32Array));
      expect(responses[i]!.json.outputs[1].data).toEqual(
        Array.from(ref.label!.data as BigInt64Array, Number),
      );
    }
    await session.release();
    const st = await stats(s, 't');
    expect(st.inference_count).toBe(79);
    expect(st.execution_count).toBe(1);
    expect(st.batch_stats).toEqual([expect.objectContaining({ batch_size: 79 })]);
  });

  it('binary requests batched together each get the bytes of their own rows', async () => {
    // Binary outputs are written as views of the batch's output tensors: each response must hold exactly its rows.
    const clock = new FakeClock();
    const s = await serve(
      benchTabularModel(),
      { modelName: 't', maxQueueDelayMs: 20, maxBatchSize: 64 },
      { clock },
    );
    const session = await ort.InferenceSession.create(benchTabularModel());
    const requests = Array.from({ length: 24 }, (_, i) => {
      const rows = 1 + (i % 4);
      return Float32Array.from({ length: rows * 30 }, (_, j) => Math.sin(i * 17 + j));
    });
    const answers = Promise.all(
      requests.map((data) =>
        postBinary(
          `${s.base}/v2/models/t/infer`,
          {
            inputs: [
              {
                name: 'features',
                shape: [data.length / 30, 30],
                datatype: 'FP32',
                parameters: { binary_data_size: data.byteLength },
              },
            ],
            parameters: { binary_data_output: true },
          },
          [bytesOf(data)],
        ),
      ),
    );
    await waitForPending(s, requests.length); // 60 rows: under maxBatchSize
    await clock.advance(20);
    const responses = await answers;
    for (const [i, data] of requests.entries()) {
      const ref = await session.run({ features: new ort.Tensor('float32', data, [data.length / 30, 30]) });
      const r = responses[i]!;
      expect(r.status).toBe(200);
      expect(r.outputs.get('probabilities')).toEqual(bytesOf(ref.probabilities!.data as Float32Array));
      expect(r.outputs.get('label')).toEqual(bytesOf(ref.label!.data as BigInt64Array));
    }
    await session.release();
    const st = await stats(s, 't');
    expect(st.execution_count).toBe(1);
  });

  it('flushes as soon as maxBatchSize rows are queued, without waiting for the delay', async () => {
    // The fake clock never moves here: only the batch size can start the batch.
    const s = await serve(
      addSubModel(),
      { modelName: 'm', maxBatchSize: 4, maxQueueDelayMs: 1 },
      { clock: new FakeClock() },
    );
    const one = (k: number) => ({
      inputs: [
        { name: 'a', shape: [1, 4], datatype: 'FP32', data: [k, k, k, k] },
        { name: 'b', shape: [1, 4], datatype: 'FP32', data: [1, 1, 1, 1] },
      ],
      outputs: [{ name: 'sum' }],
    });
    const rs = await Promise.all([1, 2, 3, 4].map((k) => postJson(`${s.base}/v2/models/m/infer`, one(k))));
    expect(rs.map((r) => r.json.outputs[0].data[0])).toEqual([2, 3, 4, 5]);
    const st = await stats(s, 'm');
    expect(st.execution_count).toBe(1);
    expect(st.batch_stats).toEqual([expect.objectContaining({ batch_size: 4 })]);
  });

  it('flushes a partial batch once the oldest request has waited maxQueueDelayMs, not before', async () => {
    const clock = new FakeClock();
    const s = await serve(
      addSubModel(),
      { modelName: 'm', maxBatchSize: 32, maxQueueDelayMs: 300 },
      { clock },
    );
    const body = {
      inputs: [
        { name: 'a', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] },
        { name: 'b', shape: [1, 4], datatype: 'FP32', data: [1, 1, 1, 1] },
      ],
    };
    const answers = Promise.all([1, 2].map(() => postJson(`${s.base}/v2/models/m/infer`, body)));
    await waitForPending(s, 2);
    await clock.advance(299);
    // Still queued: nothing has left the queue (dequeues are counted at once, executions when they end).
    expect((await stats(s, 'm')).inference_stats.queue.count).toBe(0);
    expect(await pendingRequests(s)).toBe(2);
    await clock.advance(1);
    const rs = await answers;
    expect(rs.map((r) => r.status)).toEqual([200, 200]);
    const st = await stats(s, 'm');
    expect(st.execution_count).toBe(1);
    // Both waited exactly the delay on the server's clock.
    expect(st.inference_stats.queue).toEqual({ count: 2, ns: 2 * 300e6 });
  });

  it('a full queue answers 503 with Retry-After at once', async () => {
    const clock = new FakeClock();
    const s = await serve(
      addSubModel(),
      { modelName: 'm', maxBatchSize: 1000, maxQueueDelayMs: 1500, maxQueueSize: 2 },
      { clock },
    );
    const body = {
      inputs: [
        { name: 'a', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] },
        { name: 'b', shape: [1, 4], datatype: 'FP32', data: [1, 1, 1, 1] },
      ],
    };
    const queued = [
      postJson(`${s.base}/v2/models/m/infer`, body),
      postJson(`${s.base}/v2/models/m/infer`, body),
    ];
    await waitForPending(s, 2);
    // The third finds the queue full and is answered while the two queued ones still wait (the clock has not
    // moved, so they cannot have run): refused at once, not after them.
    const rejected = await postJson(`${s.base}/v2/models/m/infer`, body);
    expect(rejected.status).toBe(503);
    expect(rejected.headers['retry-after']).toBe('1');
    expect(rejected.json.error).toMatch(/queue is full \(2 requests waiting\)/);
    expect(await pendingRequests(s)).toBe(2);
    await clock.advance(1500);
    expect((await Promise.all(queued)).map((r) => r.status)).toEqual([200, 200]);
    const metrics = (await (await fetch(`${s.metricsBase}/metrics`)).text()).split('\n');
    expect(metrics).toContain(
      'modelship_inference_request_failure_total{model="m",version="1",reason="queue_full",revision="test-rev"} 1',
    );
  });

  it('requests with different trailing shapes run in separate batches, each correct', async () => {
    const clock = new FakeClock();
    const s = await serve(
      variableLengthModel(),
      { modelName: 'v', maxBatchSize: 64, maxQueueDelayMs: 500 },
      { clock },
    );
    const lengths = [3, 5, 3, 5, 3];
    const answers = Promise.all(
      lengths.map((len, i) =>
        postJson(`${s.base}/v2/models/v/infer`, {
          inputs: [
            {
              name: 'x',
              shape: [1, len],
              datatype: 'FP32',
              data: Array.from({ length: len }, (_, j) => i + j),
            },
          ],
        }),
      ),
    );
    await waitForPending(s, lengths.length);
    await clock.advance(500);
    const rs = await answers;
    rs.forEach((r, i) => {
      expect(r.status).toBe(200);
      expect(r.json.outputs[0].shape).toEqual([1, lengths[i]]);
      expect(r.json.outputs[0].data).toEqual(Array.from({ length: lengths[i]! }, (_, j) => 2 * (i + j)));
    });
    const st = await stats(s, 'v');
    expect(st.execution_count).toBe(2);
    expect(st.batch_stats.map((b: { batch_size: number }) => b.batch_size)).toEqual([2, 3]);
  });

  it('requests asking for different outputs share a batch and each gets exactly what it asked for', async () => {
    // The fake clock never moves: the batch starts when its third row arrives.
    const s = await serve(
      addSubModel(),
      { modelName: 'm', maxBatchSize: 3, maxQueueDelayMs: 1 },
      { clock: new FakeClock() },
    );
    const req = (k: number, outputs?: string[]) => ({
      inputs: [
        { name: 'a', shape: [1, 4], datatype: 'FP32', data: [k, k, k, k] },
        { name: 'b', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] },
      ],
      ...(outputs ? { outputs: outputs.map((name) => ({ name })) } : {}),
    });
    const [sum, diff, both] = await Promise.all([
      postJson(`${s.base}/v2/models/m/infer`, req(10, ['sum'])),
      postJson(`${s.base}/v2/models/m/infer`, req(20, ['diff'])),
      postJson(`${s.base}/v2/models/m/infer`, req(30)),
    ]);
    expect(sum!.json.outputs).toEqual([
      { name: 'sum', datatype: 'FP32', shape: [1, 4], data: [11, 12, 13, 14] },
    ]);
    expect(diff!.json.outputs).toEqual([
      { name: 'diff', datatype: 'FP32', shape: [1, 4], data: [19, 18, 17, 16] },
    ]);
    expect(both!.json.outputs.map((o: { data: number[] }) => o.data)).toEqual([
      [31, 32, 33, 34],
      [29, 28, 27, 26],
    ]);
    expect((await stats(s, 'm')).execution_count).toBe(1);
  });

  it('a request whose inputs disagree on the first dimension runs alone and fails alone', async () => {
    const clock = new FakeClock();
    const s = await serve(addSubModel(), { modelName: 'm', maxBatchSize: 8, maxQueueDelayMs: 50 }, { clock });
    const good = {
      inputs: [
        { name: 'a', shape: [1, 4], datatype: 'FP32', data: [1, 1, 1, 1] },
        { name: 'b', shape: [1, 4], datatype: 'FP32', data: [1, 1, 1, 1] },
      ],
    };
    const bad = {
      inputs: [
        { name: 'a', shape: [2, 4], datatype: 'FP32', data: Array(8).fill(1) },
        { name: 'b', shape: [3, 4], datatype: 'FP32', data: Array(12).fill(1) },
      ],
    };
    const answers = Promise.all([good, bad, good].map((b) => postJson(`${s.base}/v2/models/m/infer`, b)));
    await waitForPending(s, 3);
    await clock.advance(50);
    const [r1, r2, r3] = await answers;
    expect(r1!.status).toBe(200);
    expect(r3!.status).toBe(200);
    expect(r2!.status).toBe(400);
    expect(r2!.json.error).toMatch(/onnxruntime could not run the model/);
    // The two good requests ran together and succeeded (the bad one's execution failed and is not counted).
    expect((await stats(s, 'm')).batch_stats).toEqual([expect.objectContaining({ batch_size: 2 })]);
  });

  it('a model without a dynamic first dimension runs one request per execution', async () => {
    // A delay that, were the model batched, would hold the requests until the fake clock moves (it never does).
    const s = await serve(
      fixedShapeModel([2, 3]),
      { modelName: 'f', maxBatchSize: 32, maxQueueDelayMs: 50 },
      { clock: new FakeClock() },
    );
    const rs = await Promise.all(
      [1, 2, 3, 4, 5].map((k) =>
        postJson(`${s.base}/v2/models/f/infer`, {
          inputs: [{ name: 'x', shape: [2, 3], datatype: 'FP32', data: [k, k, k, k, k, k] }],
        }),
      ),
    );
    rs.forEach((r, i) => expect(r.json.outputs[0].data).toEqual(Array(6).fill(2 * (i + 1))));
    const st = await stats(s, 'f');
    expect(st.execution_count).toBe(5);
    expect((await getJson(`${s.base}/v2/models/f/config`)).json.max_batch_size).toBe(0);
  });
});
