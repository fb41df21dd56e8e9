/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 */
/**
 * Ground-truth feedback against real servers and real models: the prediction each answered request made is kept,
 * POST .../feedback joins labels to it, and the counters and window gauges say how right the model was.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { buildModel, irisModel } from '../../test/fixtures/onnx/models.js';
import { FakeClock } from '../src/testing/fake-clock.js';
import { http, postJson, type Json } from './support/client.js';
import { scrape } from './support/scrape.js';
import { startTestServer, type TestServer } from './support/server.js';

// Each test starts a real server (an onnxruntime session) on a busy machine: seconds, not milliseconds.
jest.setTimeout(60_000);

const L = 'model="iris",version="1",revision="test-rev"';

/** `features` rows for the iris model. */
const rows = (values: number[][], id?: string) => ({
  ...(id ? { id } : {}),
  inputs: [{ name: 'features', shape: [values.length, 4], datatype: 'FP32', data: values.flat() }],
});

async function infer(s: TestServer, body: unknown, requestId?: string, model = 'iris'): Promise<Json> {
  const r = await postJson(
    `${s.base}/v2/models/${model}/infer`,
    body,
    requestId ? { 'x-request-id': requestId } : {},
  );
  expect(r.status).toBe(200);
  return r.json;
}

const feedback = (s: TestServer, body: unknown, path = '/v2/models/iris/feedback') =>
  postJson(`${s.base}${path}`, body);

/** The class each row's probabilities point at, computed here from the answer. */
function argmax(probabilities: number[], classes: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < probabilities.length / classes; r++) {
    const row = probabilities.slice(r * classes, (r + 1) * classes);
    out.push(row.indexOf(Math.max(...row)));
  }
  return out;
}

describe('feedback on a classifier (float scores [N,3]: the argmax is the class)', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(irisModel(), { modelName: 'iris' });
  });
  afterAll(async () => {
    await s.stop();
  });

  it('joins labels per row by x-request-id, counts the right ones, and forgets the prediction once joined', async () => {
    const answer = await infer(
      s,
      rows([
        [5.1, 3.5, 1.4, 0.2],
        [6.7, 3.0, 5.2, 2.3],
        [5.9, 3.0, 4.2, 1.5],
      ]),
      'req-a',
    );
    const predicted = argmax(answer.outputs[0].data, 3);
    const labels = [predicted[0], predicted[1], (predicted[2]! + 1) % 3]; // the last is wrong
    const r = await feedback(s, { id: 'req-a', labels });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ id: 'req-a', version: '1', rows: 3, correct: 2 });

    const m = await scrape(s.metricsBase);
    expect(m.value(`modelship_feedback_rows_total{${L}}`)).toBe(3);
    expect(m.value(`modelship_feedback_correct_total{${L}}`)).toBe(2);
    expect(m.value(`modelship_feedback_accuracy{${L}}`)).toBeCloseTo(2 / 3, 10);
    expect(m.value(`modelship_feedback_window_rows{${L}}`)).toBe(3);
    expect(m.value(`modelship_feedback_mae{${L}}`)).toBeUndefined(); // not a regression

    const again = await feedback(s, { id: 'req-a', labels });
    expect(again.status).toBe(404);
    expect(again.json.error).toMatch(/no prediction is kept for request id 'req-a'/);
    expect(
      (await scrape(s.metricsBase)).value(`modelship_feedback_rejected_total{${L},reason="unknown_request"}`),
    ).toBe(1);
  });

  it("finds a prediction by the protocol request's id too, with one label for one row", async () => {
    const answer = await infer(s, rows([[5.0, 3.4, 1.5, 0.2]], 'proto-7'));
    const [cls] = argmax(answer.outputs[0].data, 3);
    const r = await feedback(s, { id: 'proto-7', label: cls });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ id: 'proto-7', rows: 1, correct: 1 });
  });

  it('refuses malformed feedback with a 400 naming the field, and keeps the prediction for a corrected one', async () => {
    await infer(
      s,
      rows([
        [5.1, 3.5, 1.4, 0.2],
        [6.7, 3.0, 5.2, 2.3],
      ]),
      'req-b',
    );
    const before = (await scrape(s.metricsBase)).value(
      `modelship_feedback_rejected_total{${L},reason="invalid"}`,
    )!;
    const cases: [unknown, RegExp][] = [
      ['{not json', /the body is not JSON/],
      [{ labels: [0, 1] }, /^id must be the request id/],
      [{ id: 'req-b' }, /exactly one of "label" \(one row\) or "labels"/],
      [{ id: 'req-b', labels: [0] }, /^labels has 1 value\(s\) but the prediction has 2 row\(s\)/],
      [{ id: 'req-b', label: 0 }, /^label is one value but the prediction has 2 rows/],
      [
        { id: 'req-b', labels: [0, 'setosa'] },
        /^labels\[1\] must be a number \(the model predicts a class index\)/,
      ],
    ];
    for (const [body, message] of cases) {
      const r = await feedback(s, body);
      expect([r.status, r.json.error]).toEqual([400, expect.stringMatching(message)]);
    }
    const m = await scrape(s.metricsBase);
    expect(m.value(`modelship_feedback_rejected_total{${L},reason="invalid"}`)).toBe(before + cases.length);
    expect((await feedback(s, { id: 'req-b', labels: [0, 2] })).status).toBe(200);
  });

  it('takes many feedbacks at once and answers each', async () => {
    const answer = await infer(s, rows([[5.1, 3.5, 1.4, 0.2]]), 'bulk-1');
    const [cls] = argmax(answer.outputs[0].data, 3);
    const r = await feedback(s, {
      feedback: [
        { id: 'bulk-1', label: cls },
        { id: 'never-seen', label: 0 },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      joined: 1,
      rejected: 1,
      results: [
        { id: 'bulk-1', status: 200, version: '1', rows: 1, correct: 1 },
        { id: 'never-seen', status: 404, error: expect.stringMatching(/no prediction is kept/) },
      ],
    });
  });

  it('answers 404 for an unknown model or version and 405 for GET', async () => {
    expect((await feedback(s, { id: 'x', label: 0 }, '/v2/models/other/feedback')).status).toBe(404);
    expect((await feedback(s, { id: 'x', label: 0 }, '/v2/models/iris/versions/9/feedback')).status).toBe(
      404,
    );
    expect((await http(`${s.base}/v2/models/iris/feedback`)).status).toBe(405);
  });
});

/** y = 2·x0 − x1 + 0.5 with x float32 [batch, 2] and y [batch, 1]: a regression. */
function linearModel(): Uint8Array {
  return buildModel({
    name: 'linear',
    inputs: [{ name: 'x', type: 'float32', shape: ['batch', 2] }],
    outputs: [{ name: 'y', type: 'float32', shape: ['batch', 1] }],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'w'], outputs: ['xw'] },
      { op: 'Add', inputs: ['xw', 'b'], outputs: ['y'] },
    ],
    initializers: [
      { name: 'w', type: 'float32', dims: [2, 1], data: Float32Array.from([2, -1]) },
      { name: 'b', type: 'float32', dims: [1], data: Float32Array.from([0.5]) },
    ],
  });
}

describe('feedback on a regression ([N,1])', () => {
  it('sums absolute and squared errors, and shows MAE and RMSE over the window', async () => {
    const s = await startTestServer(linearModel(), { modelName: 'linear' });
    try {
      const body = { inputs: [{ name: 'x', shape: [3, 2], datatype: 'FP32', data: [1, 2, 3, 1, 0, 0] }] };
      const answer = await infer(s, body, 'reg-1', 'linear');
      expect(answer.outputs[0].data).toEqual([0.5, 5.5, 0.5]);
      const r = await feedback(s, { id: 'reg-1', labels: [1, 5, 0.5] }, '/v2/models/linear/feedback');
      expect(r.status).toBe(200);
      // |0.5-1| + |5.5-5| + 0 = 1; 0.25 + 0.25 + 0 = 0.5
      expect(r.json).toEqual({ id: 'reg-1', version: '1', rows: 3, absolute_error: 1, squared_error: 0.5 });
      const m = await scrape(s.metricsBase);
      const l = 'model="linear",version="1",revision="test-rev"';
      expect(m.value(`modelship_feedback_rows_total{${l}}`)).toBe(3);
      expect(m.value(`modelship_feedback_absolute_error_sum{${l}}`)).toBe(1);
      expect(m.value(`modelship_feedback_squared_error_sum{${l}}`)).toBe(0.5);
      expect(m.value(`modelship_feedback_mae{${l}}`)).toBeCloseTo(1 / 3, 10);
      expect(m.value(`modelship_feedback_rmse{${l}}`)).toBeCloseTo(Math.sqrt(0.5 / 3), 10);
      expect(m.value(`modelship_feedback_accuracy{${l}}`)).toBeUndefined();
      const wrong = await feedback(s, { id: 'reg-1', labels: [1, 'a', 2] }, '/v2/models/linear/feedback');
      expect(wrong.status).toBe(404); // joined already: gone
    } finally {
      await s.stop();
    }
  });
});

describe('the prediction store', () => {
  const one = rows([[5.1, 3.5, 1.4, 0.2]]);

  it('drops the oldest prediction beyond --feedback-store-size, counted', async () => {
    const s = await startTestServer(irisModel(), { modelName: 'iris', feedbackStoreSize: 2 });
    try {
      for (const id of ['s-1', 's-2', 's-3']) await infer(s, one, id);
      const m = await scrape(s.metricsBase);
      expect(m.value(`modelship_prediction_store_evictions_total{${L},reason="size"}`)).toBe(1);
      expect(m.value(`modelship_prediction_store_evictions_total{${L},reason="age"}`)).toBe(0);
      expect(m.value('modelship_prediction_store_entries{revision="test-rev"}')).toBe(2);
      expect((await feedback(s, { id: 's-1', label: 0 })).status).toBe(404);
      expect((await feedback(s, { id: 's-3', label: 0 })).status).toBe(200);
    } finally {
      await s.stop();
    }
  });

  it('drops predictions older than --feedback-max-age-ms, and the window forgets old feedback (fake clock)', async () => {
    const clock = new FakeClock();
    const s = await startTestServer(
      irisModel(),
      { modelName: 'iris', feedbackMaxAgeMs: 1000, feedbackWindowMs: 60_000 },
      { clock },
    );
    try {
      await infer(s, one, 'old');
      await infer(s, one, 'young');
      await clock.advance(999);
      expect((await feedback(s, { id: 'young', label: 0 })).status).toBe(200);
      await clock.advance(1);
      expect((await feedback(s, { id: 'old', label: 0 })).status).toBe(404);
      let m = await scrape(s.metricsBase);
      expect(m.value(`modelship_prediction_store_evictions_total{${L},reason="age"}`)).toBe(1);
      expect(m.value('modelship_prediction_store_entries{revision="test-rev"}')).toBe(0);
      expect(m.value(`modelship_feedback_window_rows{${L}}`)).toBe(1);
      expect(m.value(`modelship_feedback_accuracy{${L}}`)).toBeDefined();
      await clock.advance(60_000);
      m = await scrape(s.metricsBase);
      expect(m.value(`modelship_feedback_window_rows{${L}}`)).toBe(0);
      expect(m.value(`modelship_feedback_accuracy{${L}}`)).toBeUndefined();
      expect(m.value(`modelship_feedback_rows_total{${L}}`)).toBe(1); // the counter stays
    } finally {
      await s.stop();
    }
  });

  it('is off with --feedback-store-size 0: the endpoint says so with a 404', async () => {
    const s = await startTestServer(irisModel(), { modelName: 'iris', feedbackStoreSize: 0 });
    try {
      await infer(s, one, 'off');
      const r = await feedback(s, { id: 'off', label: 0 });
      expect([r.status, r.json.error]).toEqual([
        404,
        expect.stringMatching(/feedback is off on this server/),
      ]);
      expect((await scrape(s.metricsBase)).value(`modelship_feedback_rows_total{${L}}`)).toBeUndefined();
    } finally {
      await s.stop();
    }
  });
});
