/**
 * The HTTP server of a port that may serve TLS: node:http without a certificate, node:https with one (the same
 * request handler either way; the caller sets the same keep-alive settings on both). One place decides, so the
 * inference port, the router and the metrics ports cannot differ in how they serve TLS.
 */
import { createServer as createHttpServer, type RequestListener, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { TlsIdentity } from './identity.js';

export type ServingServer = HttpServer | HttpsServer;

export function createServingServer(handler: RequestListener, identity?: TlsIdentity): ServingServer {
  if (!identity) return createHttpServer(handler);
  // HTTP/1.1 only, as on the plain port: the protocol's clients (tritonclient, curl, load balancers) speak it.
  const server = createHttpsServer({ ...identity.secureOptions(), ALPNProtocols: ['http/1.1'] }, handler);
  identity.attach(server);
  return server;
}
