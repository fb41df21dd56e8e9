import { afterEach, describe, expect, it } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeApiError, kubeRequest } from './http.js';

/** A loopback HTTP server that answers each request with the next of `answers`, and records what it got. */
async function serverAnswering(...answers: Array<(res: http.ServerResponse) => void>) {
  const received: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push(`${req.method} ${req.url} ${body}`);
      const answer = answers.shift();
      if (answer) answer(res);
      else res.writeHead(500).end('no answer left');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    // Plain HTTP on loopback: client-node allows it only with skipTLSVerify.
    clusters: [
      {
        name: 'c',
        server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        skipTLSVerify: true,
      },
    ],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  servers.push(server);
  return { kc, received };
}

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
});

const json = (status: number, body: unknown) => (res: http.ServerResponse) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
// What Go's net/http writes for a request it could not parse: no Status, and the connection closes.
const unparsed = (res: http.ServerResponse) =>
  res.writeHead(400, { 'content-type': 'text/plain', connection: 'close' }).end('400 Bad Request');

describe('kubeRequest', () => {
  it('sends a request the HTTP layer refused (a 400 without a Status) once more', async () => {
    const { kc, received } = await serverAnswering(unparsed, json(201, { metadata: { name: 'e' } }));
    const created = await kubeRequest(kc, {
      method: 'POST',
      path: '/api/v1/namespaces/ns/events',
      body: { a: 1 },
    });
    expect(created).toEqual({ metadata: { name: 'e' } });
    expect(received).toEqual([
      'POST /api/v1/namespaces/ns/events {"a":1}',
      'POST /api/v1/namespaces/ns/events {"a":1}',
    ]);
  });

  it('names the request when the HTTP layer refuses it twice', async () => {
    const { kc, received } = await serverAnswering(unparsed, unparsed);
    const failure = kubeRequest(kc, { method: 'POST', path: '/api/v1/namespaces/ns/events', body: {} });
    await expect(failure).rejects.toThrow('POST /api/v1/namespaces/ns/events: 400 Bad Request');
    await expect(failure).rejects.toMatchObject({ statusCode: 400, fromApi: false });
    expect(received).toHaveLength(2);
  });

  it('does not repeat a request the API refused, and keeps its Status message and reason', async () => {
    const status = {
      kind: 'Status',
      status: 'Failure',
      message: 'spec.x: Invalid value',
      reason: 'BadRequest',
      code: 400,
    };
    const { kc, received } = await serverAnswering(json(400, status));
    const failure = kubeRequest(kc, { method: 'PATCH', path: '/apis/x/v1/things/a', body: {} });
    await expect(failure).rejects.toBeInstanceOf(KubeApiError);
    await expect(failure).rejects.toMatchObject({
      statusCode: 400,
      message: 'spec.x: Invalid value',
      reason: 'BadRequest',
    });
    expect(received).toHaveLength(1);
  });
});
