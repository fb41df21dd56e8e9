/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 */
/**
 * Feedback across replicas, on real servers: ground truth posted to a replica that did not answer the request is
 * forwarded to its peers, joined where the prediction is kept, and counted once, where the client posted it.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { irisModel } from '../../test/fixtures/onnx/models.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peerUrls } from '../src/monitoring/feedback-peers.js';
import { postJson } from './support/client.js';
import { createTestCa, tlsSecretDir, type TestCa } from './support/pki.js';
import { writeSecret } from '../src/testing/kubelet-secret.js';
import { https } from './support/tls-client.js';
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

describe('feedback forwarded with authentication and TLS on', () => {
  // Both replicas serve the same certificate and keys (one Secret each, as the operator mounts them); the peer is
  // reached by IP address and must still be verified under the certificate's name, with the client's key.
  let ca: TestCa;
  let keys: string;
  let tlsDir: string;
  let a: TestServer;
  let b: TestServer;
  const auth = { authorization: 'Bearer team-key' };
  const httpsBase = (s: TestServer) => `https://localhost:${s.server.port}`;
  beforeAll(async () => {
    ca = await createTestCa();
    tlsDir = await tlsSecretDir(await ca.issue(['localhost']), ca.ca);
    keys = await mkdtemp(join(tmpdir(), 'modelship-peer-keys-'));
    await writeSecret(keys, { team: 'team-key' });
    const common = { modelName: 'iris', tlsDir, authApiKeysDir: keys };
    b = await startTestServer(irisModel(), common);
    a = await startTestServer(irisModel(), {
      ...common,
      feedbackPeers: `https://localhost:${b.server.port}`,
    });
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await ca?.remove();
    await rm(keys, { recursive: true, force: true });
    await rm(tlsDir, { recursive: true, force: true });
  });

  it('joins on the peer over https, passing the client key along', async () => {
    const infer = await https(`${httpsBase(b)}/v2/models/iris/infer`, {
      ca: ca.ca,
      method: 'POST',
      body: JSON.stringify(row),
      headers: { ...auth, 'x-request-id': 'tls-on-b' },
    });
    expect(infer.status).toBe(200);
    const probabilities = (JSON.parse(infer.body) as { outputs: { data: number[] }[] }).outputs[0]!.data;
    const label = probabilities.indexOf(Math.max(...probabilities));
    const r = await https(`${httpsBase(a)}/v2/models/iris/feedback`, {
      ca: ca.ca,
      method: 'POST',
      body: JSON.stringify({ id: 'tls-on-b', label }),
      headers: auth,
    });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ id: 'tls-on-b', rows: 1, correct: 1 });
    expect(await metric(b, `modelship_feedback_rows_total{${L}}`)).toBe(1);
  });

  it('does not reach the peer without credentials: the first pod already refuses', async () => {
    const r = await https(`${httpsBase(a)}/v2/models/iris/feedback`, {
      ca: ca.ca,
      method: 'POST',
      body: JSON.stringify({ id: 'tls-on-b', label: 0 }),
    });
    expect(r.status).toBe(401);
    expect(await metric(b, `modelship_feedback_rows_total{${L}}`)).toBe(1);
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
