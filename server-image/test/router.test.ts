/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 */
/**
 * The router (`modelship-server route`) in front of two real model servers: weights and header matches honoured,
 * the revision named on every answer, a new table applied without a restart or a dropped connection, a malformed
 * table refused while the last good one stays, a dead backend counted as errors, bodies streamed as they are.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Agent, request } from 'node:http';
import { irisModel } from '../../test/fixtures/onnx/models.js';
import type { RouteTable } from '../src/router/routes.js';
import { startTestRouter, type TestRouter } from './support/router.js';
import { startTestServer, type TestServer } from './support/server.js';

const body = JSON.stringify({
  inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }],
});

let stable: TestServer;
let canary: TestServer;
let router: TestRouter;
let base: string;
let metricsBase: string;
const agent = new Agent({ keepAlive: true, maxSockets: 8 });

function post(
  path: string,
  headers: Record<string, string> = {},
  data: string | Buffer = body,
): Promise<{ status: number; revision?: string; body: string; version?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          let version: string | undefined;
          try {
            version = (JSON.parse(text) as { model_version?: string }).model_version;
          } catch {
            version = undefined;
          }
          resolve({
            status: res.statusCode ?? 0,
            revision: res.headers['x-modelship-revision'] as string | undefined,
            body: text,
            version,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

const infer = (headers?: Record<string, string>) => post('/v2/models/iris/infer', headers);

async function metrics(): Promise<string> {
  return new Promise((resolve, reject) =>
    request(`${metricsBase}/metrics`, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve(text));
    })
      .on('error', reject)
      .end(),
  );
}

/** Writes a table and waits until the router shows it in force (its weight gauge). */
async function setTable(t: RouteTable): Promise<void> {
  await router.setTable(t);
  const expected = t.backends.map(
    (b) => `modelship_router_backend_weight{revision="${b.revision}"} ${b.weight}`,
  );
  for (let i = 0; ; i++) {
    const m = await metrics();
    if (expected.every((line) => m.includes(line))) return;
    if (i > 400) throw new Error(`the router never applied ${JSON.stringify(t)}:\n${m}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const table = (stableWeight: number, matches: RouteTable['matches'] = []): RouteTable => ({
  backends: [
    { revision: 'rev-stable', url: stable.base, weight: stableWeight },
    { revision: 'rev-canary', url: canary.base, weight: 100 - stableWeight },
  ],
  matches,
});

beforeAll(async () => {
  [stable, canary] = await Promise.all([
    startTestServer(irisModel(), { modelName: 'iris', modelVersion: '1', revision: 'rev-stable' }),
    startTestServer(irisModel(), { modelName: 'iris', modelVersion: '2', revision: 'rev-canary' }),
  ]);
  router = await startTestRouter(table(100));
  ({ base, metricsBase } = router);
}, 60_000);

afterAll(async () => {
  agent.destroy();
  await router?.stop();
  await Promise.all([stable?.stop(), canary?.stop()]);
});

describe('the router', () => {
  it('forwards to the backend the table names and says which revision answered', async () => {
    const r = await infer();
    expect(r).toMatchObject({ status: 200, revision: 'rev-stable', version: '1' });
    const ready = await new Promise<number>((resolve, reject) =>
      request(`${base}/healthz/ready`, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end(),
    );
    expect(ready).toBe(200);
  });

  it('splits by weight and sends a matching header to the canary whatever the weight', async () => {
    await setTable(table(80, [{ header: 'x-model-version', value: 'canary', revision: 'rev-canary' }]));
    const revisions: Record<string, number> = {};
    for (let i = 0; i < 500; i++) {
      const r = await infer();
      expect(r.status).toBe(200);
      revisions[r.revision!] = (revisions[r.revision!] ?? 0) + 1;
    }
    // 100 expected on the canary; a binomial spread of 500 draws stays far inside 50-150.
    expect(revisions['rev-canary']).toBeGreaterThan(50);
    expect(revisions['rev-canary']).toBeLessThan(150);
    for (let i = 0; i < 20; i++) expect((await infer({ 'x-model-version': 'canary' })).version).toBe('2');
  });

  it('applies a new table on a kept-alive connection without dropping it, and refuses a malformed one', async () => {
    await setTable(table(0));
    expect((await infer()).revision).toBe('rev-canary');
    await router.setTable('{"backends": []}');
    for (let i = 0; ; i++) {
      if ((await metrics()).includes('modelship_router_table_reloads_total{result="rejected"} 1')) break;
      if (i > 400) throw new Error('the malformed table was never seen');
      await new Promise((r) => setTimeout(r, 25));
    }
    expect((await infer()).revision).toBe('rev-canary'); // the last good table stays
    await setTable(table(100));
    expect((await infer()).revision).toBe('rev-stable');
  });

  it('streams binary bodies and passes status codes and errors through unchanged', async () => {
    const bad = await post('/v2/models/iris/infer', {}, '{"inputs": "nope"}');
    expect(bad.status).toBe(400);
    expect(bad.revision).toBe('rev-stable');
    const big = Buffer.alloc(2 * 1024 * 1024, 1);
    const tooBig = await post('/v2/models/iris/infer', { 'content-type': 'application/octet-stream' }, big);
    expect(tooBig.status).toBe(400);
    const m = await metrics();
    expect(m).toMatch(/modelship_router_requests_total\{revision="rev-stable",code="4xx"\} [1-9]/);
  });

  it('sends a request a backend refused to another one, and counts it as refused (not an error) for the first', async () => {
    const dead = await startTestServer(irisModel(), { modelName: 'iris', revision: 'rev-refusing' });
    const deadUrl = dead.base;
    await dead.stop();
    await setTable({
      backends: [
        { revision: 'rev-stable', url: stable.base, weight: 50 },
        { revision: 'rev-refusing', url: deadUrl, weight: 50 },
      ],
      matches: [],
    });
    for (let i = 0; i < 40; i++) expect(await infer()).toMatchObject({ status: 200, revision: 'rev-stable' });
    const m = await metrics();
    const refusals = Number(
      /modelship_router_requests_total\{revision="rev-refusing",code="refused"\} (\d+)/.exec(m)?.[1],
    );
    expect(refusals).toBeGreaterThan(5); // about half of the 40
    expect(m).not.toMatch(/revision="rev-refusing",code="error"/);
    await setTable(table(100));
  });

  it('answers 502 naming the revision when a backend is down, and counts it as an error', async () => {
    const dead = await startTestServer(irisModel(), { modelName: 'iris', revision: 'rev-dead' });
    const deadUrl = dead.base;
    await dead.stop();
    await setTable({
      backends: [
        { revision: 'rev-stable', url: stable.base, weight: 0 },
        { revision: 'rev-dead', url: deadUrl, weight: 100 },
      ],
      matches: [],
    });
    const r = await infer();
    expect(r.status).toBe(502);
    expect(r.revision).toBe('rev-dead');
    expect(JSON.parse(r.body).error).toMatch(/^revision rev-dead did not answer: .*ECONNREFUSED/);
    expect(await metrics()).toMatch(/modelship_router_requests_total\{revision="rev-dead",code="error"\} 1/);
    await setTable(table(100));
  });
});
