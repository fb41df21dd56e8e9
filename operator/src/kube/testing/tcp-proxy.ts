import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP forwarder on loopback for tests that need the network to fail between a client and a real server:
 * `cut()` breaks every open connection mid-stream, `refuse()` makes new connections fail (connection
 * refused) until `accept()`. TLS passes through untouched.
 */
export class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
    public port = 0,
  ) {}

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetHost, targetPort);
    await proxy.accept();
    return proxy;
  }

  /** Open client connections. */
  connections(): number {
    return [...this.sockets].filter((s) => s.remotePort !== this.targetPort).length;
  }

  /** Destroys every open connection, both sides. */
  cut(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** Stops listening (new connections are refused) and cuts the open ones. */
  async refuse(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.cut();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Listens again, on the same port as before. Idempotent. */
  async accept(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => {
      const upstream = createConnection({ host: this.targetHost, port: this.targetPort });
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          this.sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async close(): Promise<void> {
    await this.refuse();
  }
}
