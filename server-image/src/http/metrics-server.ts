/**
 * The metrics port: GET /metrics in Prometheus text format, apart from the inference port and its auth. Over TLS
 * (--metrics-tls) with the inference port's certificate, reloaded with it.
 */
import type { Registry } from 'prom-client';
import type { TlsIdentity } from '../tls/identity.js';
import { createServingServer, type ServingServer } from '../tls/server.js';

export function createMetricsServer(registry: Registry, tls?: TlsIdentity): ServingServer {
  return createServingServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: 'the metrics port serves GET /metrics only' }));
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': registry.contentType });
        res.end(text);
      },
      (err: unknown) => {
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: String(err) }));
      },
    );
  }, tls);
}
