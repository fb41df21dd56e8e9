/** The operator's two small HTTP servers: Prometheus /metrics, and /healthz + /readyz for kubelet probes. */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}

export function metricsServer(registry: Registry): Server {
  return createServer((req, res) => {
    if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') {
      registry
        .metrics()
        .then((body) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(body))
        .catch((err: Error) => res.writeHead(500).end(err.message));
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found; try /metrics\n');
  });
}

/**
 * /healthz: the process is alive (its event loop answers). /readyz: the caches are synced, so this replica
 * could lead at once; a standby replica is ready too, as in controller-runtime.
 */
export function healthServer(isReady: () => boolean): Server {
  return createServer((req, res) => {
    const path = req.url?.split('?')[0];
    if (path === '/healthz' || path === '/livez')
      return void res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
    if (path === '/readyz') {
      const ready = isReady();
      return void res
        .writeHead(ready ? 200 : 503, { 'Content-Type': 'text/plain' })
        .end(ready ? 'ok\n' : 'caches not synced\n');
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
  });
}
