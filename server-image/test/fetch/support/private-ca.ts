/**
 * A private certificate authority made for one test run with the openssl CLI, and an HTTPS server on loopback
 * whose certificate it signed (for 127.0.0.1): what a model store inside a company network looks like.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PrivateCa {
  /** The CA certificate (PEM): what a client must trust. */
  caPath: string;
  /** A key and certificate for 127.0.0.1 signed by the CA. */
  serverKey: Buffer;
  serverCert: Buffer;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd: dir });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT')
      throw new Error('the openssl command is needed to make a test CA (apt-get install openssl)');
    throw new Error(`openssl ${args[0]} failed: ${e.stderr ?? e.message}`);
  }
}

/** Makes the CA and the server certificate in `dir` (valid for a day). */
export async function makePrivateCa(dir: string): Promise<PrivateCa> {
  await openssl(dir, [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
    '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=Modelship test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]); // prettier-ignore
  await openssl(dir, [
    'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1',
  ]); // prettier-ignore
  await writeFile(
    join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n',
  );
  await openssl(dir, [
    'x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1',
    '-extfile', 'server.ext', '-out', 'server.pem',
  ]); // prettier-ignore
  return {
    caPath: join(dir, 'ca.pem'),
    serverKey: await readFile(join(dir, 'server.key')),
    serverCert: await readFile(join(dir, 'server.pem')),
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
