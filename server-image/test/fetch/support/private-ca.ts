/**
 * A private certificate authority made for one test run (support/pki.ts), and an HTTPS server on loopback
 * whose certificate it signed (for 127.0.0.1): what a model store inside a company network looks like.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createTestCa } from '../../support/pki.js';

export interface PrivateCa {
  /** The CA certificate (PEM): what a client must trust. */
  caPath: string;
  /** A key and certificate for 127.0.0.1 signed by the CA. */
  serverKey: Buffer;
  serverCert: Buffer;
  /** Removes the CA's files. */
  remove(): Promise<void>;
}

/** A CA (support/pki.ts) and a server certificate for 127.0.0.1 it signed. */
export async function makePrivateCa(): Promise<PrivateCa> {
  const ca = await createTestCa();
  const pair = await ca.issue(['127.0.0.1']);
  return {
    caPath: ca.caFile,
    serverKey: Buffer.from(pair.key),
    serverCert: Buffer.from(pair.cert),
    remove: () => ca.remove(),
  };
}

export interface TestHttpsServer {
  /** https://127.0.0.1:PORT/model.onnx */
  url: string;
  /** TCP connections accepted, TLS handshakes that failed, and HTTP requests answered. */
  readonly counts: { connections: number; handshakeFailures: number; requests: number };
  close(): Promise<void>;
}

/** Serves `bytes` at /model.onnx over HTTPS with the CA's server certificate. */
export async function serveOverHttps(ca: PrivateCa, bytes: Uint8Array): Promise<TestHttpsServer> {
  const counts = { connections: 0, handshakeFailures: 0, requests: 0 };
  const server: Server = createServer({ key: ca.serverKey, cert: ca.serverCert }, (req, res) => {
    counts.requests++;
    if (req.url !== '/model.onnx') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.byteLength });
    res.end(bytes);
  });
  server.on('connection', () => counts.connections++);
  server.on('tlsClientError', () => counts.handshakeFailures++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}/model.onnx`,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
