/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 */
/**
 * --max-requests-per-connection, on the model server and on the router: a keep-alive connection carries that many
 * requests, the last answered with `Connection: close`, and the client goes on over a new connection without a
 * single failed request. That is what makes long-lived clients follow a Service to its current endpoints (the router,
 * once it fronts the revisions), instead of staying on the pods they first reached for as long as they live.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Agent, request } from 'node:http';
import type { Socket } from 'node:net';
import { irisModel } from '../../test/fixtures/onnx/models.js';
import { startTestRouter, type TestRouter } from './support/router.js';
import { startTestServer, type TestServer } from './support/server.js';

const body = JSON.stringify({
  inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }],
});

interface Answer {
  status: number;
  connection?: string;
  socket: Socket;
}

/** One request over `agent`, with the socket that carried it. */
function infer(base: string, agent: Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}/v2/models/iris/infer`,
      { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, socket: req.socket! }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** `n` requests one after another over one keep-alive client: their statuses, and where connections ended. */
async function sequence(base: string, n: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const answers: Answer[] = [];
  for (let i = 0; i < n; i++) answers.push(await infer(base, agent));
  agent.destroy();
  return {
    statuses: [...new Set(answers.map((a) => a.status))],
    sockets: new Set(answers.map((a) => a.socket)).size,
    closedAfter: answers.flatMap((a, i) => (a.connection === 'close' ? [i + 1] : [])),
  };
}

let server: TestServer;
let unlimited: TestServer;
let router: TestRouter;

beforeAll(async () => {
  [server, unlimited] = await Promise.all([
    startTestServer(irisModel(), { modelName: 'iris', maxRequestsPerConnection: 4 }),
    startTestServer(irisModel(), { modelName: 'iris', maxRequestsPerConnection: 0 }),
  ]);
  router = await startTestRouter(
    { backends: [{ revision: 'r1', url: unlimited.base, weight: 100 }], matches: [] },
    { maxRequestsPerConnection: 3, logLevel: 'warn' },
  );
}, 60_000);

afterAll(async () => {
  await router?.stop();
  await Promise.all([server?.stop(), unlimited?.stop()]);
});

describe('--max-requests-per-connection', () => {
  it('the model server closes a keep-alive connection after that many requests; the client loses none', async () => {
    const r = await sequence(server.base, 10);
    expect(r).toEqual({ statuses: [200], sockets: 3, closedAfter: [4, 8] });
  });

  it('the router does the same to its clients', async () => {
    const r = await sequence(router.base, 7);
    expect(r).toEqual({ statuses: [200], sockets: 3, closedAfter: [3, 6] });
  });

  it('0 keeps a connection for as long as the client wants', async () => {
    const r = await sequence(unlimited.base, 10);
    expect(r).toEqual({ statuses: [200], sockets: 1, closedAfter: [] });
  });
});
