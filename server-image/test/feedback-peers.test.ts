/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 */
/**
 * Feedback across replicas, on real servers: ground truth posted to a replica that did not answer the request is
 * forwarded to its peers, joined where the prediction is kept, and counted once, where the client posted it.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { irisModel } from '../../test/fixtures/onnx/models.js';
import { peerUrls } from '../src/monitoring/feedback-peers.js';
import { postJson } from './support/client.js';
import { scrape } from './support/scrape.js';
import { startTestServer, type TestServer } from './support/server.js';

jest.setTimeout(60_000);

const row = { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] };

async function labelOf(s: TestServer, id: string): Promise<number> {
  const r = await postJson(`${s.base}/v2/models/iris/infer`, row, { 'x-request-id': id });
  expect(r.status).toBe(200);
  const probabilities = (r.json as { outputs: { data: number[] }[] }).outputs[0]!.data;
  return probabilities.indexOf(Math.max(...probabilities));
}

const L = 'model="iris",version="1",revision="test-rev"';
const metric = async (s: TestServer, series: string) => (await scrape(s.metricsBase)).value(series);
const unknownRequests = (s: TestServer) =>
  metric(s, `modelship_feedback_rejected_total{${L},reason="unknown_request"}`);

describe('feedback forwarded to the replica that kept the prediction', () => {
  let b: TestServer;
  let a: TestServer;
  beforeAll(async () => {
    b = await startTestServer(irisModel(), { modelName: 'iris' });
    // A lists both replicas, itself included, as the operator's headless Service does.
    a = await startTestServer(irisModel(), {
      modelName: 'iris',
      feedbackPeers: `${b.base},http://localhost:1`,
    });
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
  });

  it('joins a single item on the peer and answers for it', async () => {
    const label = await labelOf(b, 'on-b');
    const r = await postJson(`${a.base}/v2/models/iris/feedback`, { id: 'on-b', label });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ id: 'on-b', rows: 1, correct: 1 });
    expect(await metric(b, `modelship_feedback_rows_total{${L}}`)).toBe(1);
    expect(await metric(a, `modelship_feedback_rows_total{${L}}`)).toBe(0);
    // Nobody counted a miss: the prediction was kept, just elsewhere.
    expect(await unknownRequests(a)).toBe(0);
    expect(await unknownRequests(b)).toBe(0);
  });

  it('merges a bulk answer: kept here, kept on the peer, and kept nowhere (404, counted once)', async () => {
    const here = await labelOf(a, 'bulk-a');
    const there = await labelOf(b, 'bulk-b');
    const r = await postJson(`${a.base}/v2/models/iris/feedback`, {
      feedback: [
        { id: 'bulk-a', label: here },
        { id: 'nowhere', label: 0 },
        { id: 'bulk-b', label: (there + 1) % 3 },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      joined: 2,
      rejected: 1,
      results: [
        { id: 'bulk-a', status: 200, correct: 1 },
        { id: 'nowhere', status: 404 },
        { id: 'bulk-b', status: 200, correct: 0 },
      ],
    });
    expect(await unknownRequests(a)).toBe(1);
    expect(await unknownRequests(b)).toBe(0);
  });

  it('answers 404 for an id no replica kept', async () => {
    const r = await postJson(`${a.base}/v2/models/iris/feedback`, { id: 'never', label: 1 });
    expect(r.status).toBe(404);
    expect((r.json as { error: string }).error).toMatch(/no prediction is kept for request id 'never'/);
  });
});

describe('peerUrls', () => {
  it('resolves each host name to all its addresses and skips names that do not resolve', async () => {
    const resolve = async (host: string) => {
      if (host === 'iris-pods.ml.svc') return ['10.0.0.1', '10.0.0.2', 'fd00::3'];
      if (host === '10.0.0.9') return ['10.0.0.9'];
      throw new Error('ENOTFOUND');
    };
    expect(
      await peerUrls({
        peers: 'http://iris-pods.ml.svc:8080, http://10.0.0.9:9000,http://gone:1',
        timeoutMs: 1,
        resolve,
      }),
    ).toEqual([
      'http://10.0.0.1:8080',
      'http://10.0.0.2:8080',
      'http://[fd00::3]:8080',
      'http://10.0.0.9:9000',
    ]);
  });
});
