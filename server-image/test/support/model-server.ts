/** A plain HTTP server on loopback that serves model bytes, optionally holding responses until released. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ModelHttpServer {
  url(path?: string): string;
  /** Responses wait until release() when created with hold: true. */
  release(): void;
  requests: number;
  close(): Promise<void>;
}

export async function serveModelOverHttp(
  bytes: Uint8Array,
  opts: { hold?: boolean } = {},
): Promise<ModelHttpServer> {
  let release!: () => void;
  const released = opts.hold ? new Promise<void>((r) => (release = r)) : Promise.resolve();
  if (!opts.hold) release = () => undefined;
  const state = { requests: 0 };
  const server: Server = createServer((req, res) => {
    state.requests++;
    if (req.url !== '/model.onnx') {
      res.writeHead(404).end('not found');
      return;
    }
    void released.then(() => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.byteLength });
      res.end(bytes);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path = '/model.onnx') => `http://127.0.0.1:${port}${path}`,
    release: () => release(),
    get requests() {
      return state.requests;
    },
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
