/** An https client for TLS tests: trusts what the test says (or nothing extra), and reports the certificate it saw. */
import { X509Certificate } from 'node:crypto';
import { request, type Agent } from 'node:https';
import type { TLSSocket } from 'node:tls';

export interface HttpsResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The serial number of the certificate the server presented (hex, uppercase). */
  serial: string;
  /** The request went over a connection an earlier request opened (keep-alive). */
  reused: boolean;
}

export function https(
  url: string,
  opts: {
    ca?: string;
    agent?: Agent;
    method?: string;
    body?: string;
    headers?: Record<string, string>;
    /** The name to verify (and send as SNI) when the URL has an IP address: a Service's ClusterIP. */
    servername?: string;
    timeoutMs?: number;
  } = {},
): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: opts.method ?? 'GET',
        headers: { ...(opts.body ? { 'content-type': 'application/json' } : {}), ...opts.headers },
        // Without an agent of the test's, a fresh connection each time (no pool shared between tests).
        ...(opts.agent ? { agent: opts.agent } : { agent: false, ca: opts.ca }),
        ...(opts.servername ? { servername: opts.servername } : {}),
        ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}),
      },
      (res) => {
        const serial = normalSerial((res.socket as TLSSocket).getPeerCertificate().serialNumber);
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            serial,
            reused: req.reusedSocket,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** The error an https request fails with (throws if it succeeds). */
export async function httpsFailure(url: string, ca?: string): Promise<NodeJS.ErrnoException> {
  try {
    const r = await https(url, { ca });
    throw new Error(`expected the TLS handshake to fail, got HTTP ${r.status}`);
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
}

/** A certificate's serial, as `serial` above gives it. */
export function serialOf(pem: string): string {
  return normalSerial(new X509Certificate(pem).serialNumber);
}

const normalSerial = (hex: string) => hex.toUpperCase().replace(/^0+(?=.)/, '');
