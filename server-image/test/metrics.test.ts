/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 */
/** Prometheus metrics on their own port, with exact values after a known sequence of requests. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { irisModel } from '../../test/fixtures/onnx/models.js';
import { FakeClock } from '../src/testing/fake-clock.js';
import { http, postJson } from './support/client.js';
import { startTestServer, waitUntil, type TestServer } from './support/server.js';

let s: TestServer;
let text: string;
const L = 'model="iris",version="1",revision="test-rev"';
const rows = (n: number) => ({
  inputs: [
    { name: 'features', shape: [n, 4], datatype: 'FP32', data: Array.from({ length: n * 4 }, (_, i) => i) },
  ],
});

/** The value of a series, given as `name{a="x",b="y"}` in any label order (prom-client orders them its own way). */
function value(series: string): number {
  const key = (s: string) => {
    const m = /^([^{ ]+)(?:\{(.*)\})?$/.exec(s)!;
    return `${m[1]}{${(m[2] ?? '').split(',').filter(Boolean).sort().join(',')}}`;
  };
  const wanted = key(series);
  for (const line of text.split('\n')) {
    const space = line.lastIndexOf(' ');
    if (!line.startsWith('#') && space > 0 && key(line.slice(0, space)) === wanted)
      return Number(line.slice(space + 1));
  }
  throw new Error(`no series ${series} in:\n${text}`);
}

beforeAll(async () => {
  s = await startTestServer(irisModel(), { modelName: 'iris', maxQueueDelayMs: 0 });
  // Known traffic, one request at a time: 3 successes (1 + 2 + 3 rows), 2 bad requests, 1 unknown model.
  for (const n of [1, 2, 3])
    expect((await postJson(`${s.base}/v2/models/iris/infer`, rows(n))).status).toBe(200);
  expect((await postJson(`${s.base}/v2/models/iris/infer`, { inputs: [] })).status).toBe(400);
  expect((await postJson(`${s.base}/v2/models/iris/infer`, 'nope')).status).toBe(400);
  expect((await postJson(`${s.base}/v2/models/other/infer`, rows(1))).status).toBe(404);
  text = (await http(`${s.metricsBase}/metrics`)).body.toString();
});
afterAll(async () => {
  await s.stop();
});

describe('metrics', () => {
  it('counts requests by outcome', () => {
    expect(value(`modelship_inference_request_success_total{${L}}`)).toBe(3);
    expect(
      value(
        `modelship_inference_request_failure_total{model="iris",version="1",reason="bad_request",revision="test-rev"}`,
      ),
    ).toBe(2);
    expect(
      value(
        `modelship_inference_request_failure_total{model="_unknown",version="",reason="not_found",revision="test-rev"}`,
      ),
    ).toBe(1);
    expect(value(`modelship_inference_request_duration_seconds_count{${L}}`)).toBe(5);
  });

  it('counts inferences (rows) and executions, and the batch sizes', () => {
    expect(value(`modelship_inference_count_total{${L}}`)).toBe(6);
    expect(value(`modelship_inference_exec_count_total{${L}}`)).toBe(3);
    expect(value(`modelship_inference_batch_size_sum{${L}}`)).toBe(6);
    expect(value(`modelship_inference_batch_size_count{${L}}`)).toBe(3);
    expect(value(`modelship_inference_batch_size_bucket{le="2",${L}}`)).toBe(2);
    expect(value(`modelship_inference_queue_duration_seconds_count{${L}}`)).toBe(3);
    expect(value(`modelship_inference_compute_duration_seconds_count{${L}}`)).toBe(3);
    expect(value(`modelship_inference_compute_duration_seconds_sum{${L}}`)).toBeGreaterThan(0);
  });

  it('reports pending requests, readiness and the load duration', () => {
    expect(value(`modelship_inference_pending_requests{${L}}`)).toBe(0);
    expect(value(`modelship_model_ready{${L}}`)).toBe(1);
    expect(value(`modelship_model_load_duration_seconds{${L}}`)).toBeGreaterThan(0);
  });

  it("includes the process metrics under the same prefix, with the pod's revision", () => {
    expect(text).toMatch(/^modelship_process_cpu_seconds_total\{revision="test-rev"\} \d/m);
    expect(text).toMatch(/^modelship_nodejs_eventloop_lag_seconds\{revision="test-rev"\}/m);
  });

  it('lives on its own port: the inference port has no /metrics, the metrics port nothing else', async () => {
    expect((await http(`${s.base}/metrics`)).status).toBe(404);
    expect((await http(`${s.metricsBase}/v2/health/live`)).status).toBe(404);
  });
});

describe('pending requests', () => {
  it('counts a request while it waits in the batching queue, and not after its answer', async () => {
    // On a fake clock the request waits for a fuller batch until the test moves the clock.
    const clock = new FakeClock();
    const q = await startTestServer(irisModel(), { modelName: 'iris', maxQueueDelayMs: 400 }, { clock });
    try {
      const pending = async () => {
        text = (await http(`${q.metricsBase}/metrics`)).body.toString();
        return value(`modelship_inference_pending_requests{${L}}`);
      };
      expect(await pending()).toBe(0);
      const queued = postJson(`${q.base}/v2/models/iris/infer`, rows(1));
      await waitUntil('the request is queued', async () => (await pending()) === 1);
      await clock.advance(399);
      expect(await pending()).toBe(1);
      await clock.advance(1);
      expect((await queued).status).toBe(200);
      expect(await pending()).toBe(0);
    } finally {
      await q.stop();
    }
  });
});
