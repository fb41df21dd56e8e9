/** A real HTTP server on loopback for fetch tests; each test decides per path what it answers. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface TestHttpServer {
  /** e.g. http://127.0.0.1:PORT (no trailing slash). */
  origin: string;
  /** Requests received, as "METHOD /path?query", in order. */
  requests: string[];
  /** Answers requests for `path` (without query) with `handler`; unknown paths get 404. */
  route(path: string, handler: Handler): void;
  close(): Promise<void>;
}

export async function startHttpServer(): Promise<TestHttpServer> {
  const routes = new Map<string, Handler>();
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const handler = routes.get(path);
    if (handler) return handler(req, res);
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    route: (path, handler) => void routes.set(path, handler),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections(); // stalled responses from timeout tests would keep close() waiting
        server.close(() => resolve());
      }),
  };
}

/** Serves `body` with a Content-Length. */
export function serveBytes(body: Buffer): Handler {
  return (_req, res) => {
    res
      .writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length })
      .end(body);
  };
}
