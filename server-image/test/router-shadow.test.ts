/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 */
/**
 * Shadow traffic through the real router: every inference request goes to the stable revision (whose answer the
 * client gets) and a copy to the shadow revision (real model servers, real onnxruntime), whose answer is compared
 * and dropped. A shadow that agrees, one that predicts otherwise, one that is down, one that never answers, and
 * the bound on mirrored requests in flight; the clients never notice any of them.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Agent, createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildModel } from '../../test/fixtures/onnx/builder.js';
import type { RouteTable, ShadowRoute } from '../src/router/routes.js';
import { http } from './support/client.js';
import { startTestRouter, type TestRouter } from './support/router.js';
import { startTestServer, waitUntil, type TestServer } from './support/server.js';

/**
 * A linear classifier over 4 features: logits = features · W, `probabilities` = softmax, `label` = argmax.
 * With W's sign flipped, every row's predicted class becomes its least likely one: a shadow that disagrees.
 */
function linearClassifier(sign: 1 | -1): Uint8Array {
  const w = [1, 0, 0, 0, 1, 0, 0, 0, 1, 0.5, 0.5, 0.5].map((v) => sign * v);
  return buildModel({
    name: 'linear',
    inputs: [{ name: 'features', type: 'float32', shape: ['batch', 4] }],
    outputs: [
      { name: 'probabilities', type: 'float32', shape: ['batch', 3] },
      { name: 'label', type: 'int64', shape: ['batch'] },
    ],
    nodes: [
      { op: 'MatMul', inputs: ['features', 'w'], outputs: ['logits'] },
      { op: 'Softmax', inputs: ['logits'], outputs: ['probabilities'], attrs: { axis: -1 } },
      { op: 'ArgMax', inputs: ['logits'], outputs: ['label'], attrs: { axis: 1, keepdims: 0 } },
    ],
    initializers: [{ name: 'w', type: 'float32', dims: [4, 3], data: new Float32Array(w) }],
  });
}

/** Rows whose three first features are distinct, so that the argmax and the argmin differ. */
const rows = [
  [5.1, 3.5, 1.4, 0.2],
  [1.0, 2.0, 3.0, 0.5],
  [0.3, 4.2, 1.1, 2.0],
  [7.7, 2.6, 6.9, 2.3],
];
const bodyFor = (i: number, binaryOutput = false) =>
  JSON.stringify({
    inputs: [
      { name: 'features', shape: [2, 4], datatype: 'FP32', data: [...rows[i % 4]!, ...rows[(i + 1) % 4]!] },
    ],
    ...(binaryOutput ? { parameters: { binary_data_output: true } } : {}),
  });

let stable: TestServer;
let same: TestServer;
let different: TestServer;
let testRouter: TestRouter;
let base: string;
let metricsBase: string;
const agent = new Agent({ keepAlive: true, maxSockets: 8 });

interface Reply {
  status: number;
  revision?: string;
  body: string;
}

function infer(
  i: number,
  opts: { binaryOutput?: boolean; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}/v2/models/linear/infer`,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', ...opts.headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            revision: res.headers['x-modelship-revision'] as string | undefined,
            body: Buffer.concat(chunks).toString('latin1'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(bodyFor(i, opts.binaryOutput));
  });
}

const metrics = async (url = metricsBase) => (await http(`${url}/metrics`)).body.toString();

/** A series' value in a Prometheus text exposition; 0 when absent. */
function value(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

const shadowCount = async (revision: string, result: string) =>
  value(await metrics(), `modelship_router_shadow_requests_total{revision="${revision}",result="${result}"}`);

async function waitForShadow(revision: string, result: string, n: number): Promise<void> {
  await waitUntil(
    `${n} ${result} for shadow ${revision}`,
    async () => (await shadowCount(revision, result)) >= n,
    30_000,
  );
}

/** Stable takes all live traffic; `shadow` gets the copies. Waits until the router has applied it. */
async function setTable(shadow?: ShadowRoute): Promise<void> {
  const t: RouteTable = {
    backends: [{ revision: 'rev-stable', url: stable.base, weight: 100 }],
    matches: [],
    ...(shadow ? { shadow } : {}),
  };
  await testRouter.setTable(t);
  await waitUntil(
    `the router applies ${JSON.stringify(t)}`,
    async () => {
      const m = await metrics();
      return shadow
        ? m.includes(`modelship_router_shadow_target{revision="${shadow.revision}"} 1`)
        : !m.includes('modelship_router_shadow_target{');
    },
    20_000,
  );
}

/** An HTTP server that reads each request whole, records it, and never answers. */
async function hangingServer(): Promise<{
  server: Server;
  url: string;
  seen: { headers: IncomingHttpHeaders; body: string }[];
}> {
  const seen: { headers: IncomingHttpHeaders; body: string }[] = [];
  const server = createServer((req) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => seen.push({ headers: req.headers, body }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const hanging: Server[] = [];

beforeAll(async () => {
  [stable, same, different] = await Promise.all([
    startTestServer(linearClassifier(1), { modelName: 'linear', modelVersion: '1', revision: 'rev-stable' }),
    startTestServer(linearClassifier(1), { modelName: 'linear', modelVersion: '2', revision: 'rev-same' }),
    startTestServer(linearClassifier(-1), {
      modelName: 'linear',
      modelVersion: '3',
      revision: 'rev-different',
    }),
  ]);
  testRouter = await startTestRouter({
    backends: [{ revision: 'rev-stable', url: stable.base, weight: 100 }],
    matches: [],
  });
  ({ base, metricsBase } = testRouter);
}, 60_000);

afterAll(async () => {
  agent.destroy();
  await testRouter?.stop();
  for (const s of hanging) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
  await Promise.all([stable?.stop(), same?.stop(), different?.stop()]);
});

/** The stable revision's answer to request i, as the client must get it whatever the shadow does. */
async function expectStable(r: Reply): Promise<void> {
  expect(r.status).toBe(200);
  expect(r.revision).toBe('rev-stable');
  expect(JSON.parse(r.body)).toMatchObject({ model_version: '1' });
}

describe('shadow traffic', () => {
  it('counts agreement when the shadow predicts the same, in JSON and in binary tensors, and answers from stable', async () => {
    await setTable({ revision: 'rev-same', url: same.base });
    const m0 = await metrics();
    expect(value(m0, 'modelship_router_shadow_requests_total{revision="rev-same",result="disagree"}')).toBe(
      0,
    );
    for (let i = 0; i < 20; i++) await expectStable(await infer(i));
    for (let i = 0; i < 5; i++) {
      const r = await infer(i, { binaryOutput: true });
      expect(r).toMatchObject({ status: 200, revision: 'rev-stable' });
      expect(r.body).toContain('"model_version":"1"');
    }
    await waitForShadow('rev-same', 'agree', 25);
    const m = await metrics();
    for (const result of ['disagree', 'error', 'skipped', 'uncomparable'])
      expect(value(m, `modelship_router_shadow_requests_total{revision="rev-same",result="${result}"}`)).toBe(
        0,
      );
    expect(value(m, 'modelship_router_shadow_duration_seconds_count{revision="rev-same"}')).toBe(25);
    // The copies are no live traffic of the shadow revision: the canary analysis reads these counters.
    expect(m).not.toMatch(/modelship_router_requests_total\{revision="rev-same"/);
    expect(
      value(m, 'modelship_router_requests_total{revision="rev-stable",code="2xx"}'),
    ).toBeGreaterThanOrEqual(25);
    // The shadow's model server did answer them.
    expect(
      value(
        await metrics(same.metricsBase),
        'modelship_inference_request_success_total{model="linear",version="2",revision="rev-same"}',
      ),
    ).toBe(25);
  });

  it('counts disagreement when the shadow predicts other classes, and clients still get stable', async () => {
    await setTable({ revision: 'rev-different', url: different.base });
    for (let i = 0; i < 10; i++) await expectStable(await infer(i));
    await waitForShadow('rev-different', 'disagree', 10);
    expect(await shadowCount('rev-different', 'agree')).toBe(0);
  });

  it('does not mirror what is not an inference request, nor a live error', async () => {
    await setTable({ revision: 'rev-same', url: same.base });
    const before = await metrics();
    const count = (m: string, result: string) =>
      value(m, `modelship_router_shadow_requests_total{revision="rev-same",result="${result}"}`);
    expect((await http(`${base}/v2/models/linear`)).status).toBe(200);
    const bad = await http(`${base}/v2/models/linear/infer`, { method: 'POST', body: '{"inputs": "nope"}' });
    expect(bad.status).toBe(400);
    await waitUntil(
      'the live error is counted skipped',
      async () => count(await metrics(), 'skipped') === count(before, 'skipped') + 1,
    );
    const after = await metrics();
    for (const result of ['agree', 'disagree', 'error', 'uncomparable'])
      expect(count(after, result)).toBe(count(before, result));
  });

  it('counts errors for a shadow that is down or never answers, without the clients noticing', async () => {
    const down = await startTestServer(linearClassifier(1), { modelName: 'linear', revision: 'rev-down' });
    const downUrl = down.base;
    await down.stop();
    await setTable({ revision: 'rev-down', url: downUrl });
    for (let i = 0; i < 5; i++) await expectStable(await infer(i));
    await waitForShadow('rev-down', 'error', 5);

    const hang = await hangingServer();
    hanging.push(hang.server);
    await setTable({ revision: 'rev-hang', url: hang.url, timeoutMs: 200 });
    for (let i = 0; i < 5; i++)
      await expectStable(
        await infer(i, { headers: { 'x-request-id': `req-${i}`, 'proxy-authorization': 'Basic c2VjcmV0' } }),
      );
    await waitForShadow('rev-hang', 'error', 5);
    expect(await shadowCount('rev-hang', 'agree')).toBe(0);
    // The copy: the same path, body and end-to-end headers, marked as a mirror; never the client's hop-by-hop ones.
    expect(hang.seen).toHaveLength(5);
    hang.seen.forEach((s, i) => {
      expect(s.body).toBe(bodyFor(i));
      expect(s.headers).toMatchObject({ 'x-modelship-shadow': '1', 'x-request-id': `req-${i}` });
      expect(s.headers['proxy-authorization']).toBeUndefined();
    });
    const m = await metrics();
    expect(m).not.toMatch(/modelship_router_requests_total\{revision="rev-(down|hang)"/);
    expect(value(m, 'modelship_router_shadow_duration_seconds_count{revision="rev-hang"}')).toBe(0);
  });

  it('skips requests beyond maxInFlight and bodies beyond maxBodyBytes, and stops at once with shadows in flight', async () => {
    const hang = await hangingServer();
    hanging.push(hang.server);
    // Each mirrored request holds its place until the shadow answers: never, within this test.
    await setTable({ revision: 'rev-busy', url: hang.url, maxInFlight: 2, timeoutMs: 600_000 });
    for (let i = 0; i < 6; i++) await expectStable(await infer(i));
    await waitUntil('the shadow received 2 copies', async () => hang.seen.length === 2);
    expect(await shadowCount('rev-busy', 'skipped')).toBe(4);

    await setTable({ revision: 'rev-small', url: hang.url, maxBodyBytes: 50 });
    await expectStable(await infer(0));
    await waitForShadow('rev-small', 'skipped', 1);
    expect(hang.seen).toHaveLength(2);

    // Two shadow requests are still waiting for answers that will never come: shutting down does not wait for them.
    await testRouter.router.shutdown();
    // They were abandoned, not counted: a router stopping says nothing about the shadow.
    const m = await testRouter.router.metrics.registry.metrics();
    expect(value(m, 'modelship_router_shadow_requests_total{revision="rev-busy",result="error"}')).toBe(0);
  });
});
