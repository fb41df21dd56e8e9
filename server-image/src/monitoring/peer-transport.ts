/**
 * How one replica sends forwarded feedback to another. Peers are addressed by pod IP (the headless Service's
 * addresses), so with TLS the name to verify cannot come from the URL: every replica serves the same certificate
 * (the ModelDeployment's TLS Secret), so a peer is verified under the first DNS name of this pod's own certificate,
 * against the Secret's ca.crt when it has one (else Node's trust store, with NODE_EXTRA_CA_CERTS).
 */
import { X509Certificate } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';

/** POSTs `body` with `headers`; resolves with whether the answer was 2xx and its JSON (undefined if not JSON). */
export type PeerPost = (
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
) => Promise<{ ok: boolean; json: unknown }>;

export const plainPeerPost: PeerPost = async (url, headers, body, timeoutMs) => {
  const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
  return { ok: res.ok, json: await res.json().catch(() => undefined) };
};

/** The first DNS name in a PEM certificate's subjectAltName, else its CN. */
export function certificateName(pem: Buffer | string): string | undefined {
  const cert = new X509Certificate(pem);
  const dns = (cert.subjectAltName ?? '')
    .split(', ')
    .find((entry) => entry.startsWith('DNS:'))
    ?.slice('DNS:'.length);
  return dns ?? /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
}

/**
 * https to peers: `ownCertificate` is read at every call (it is renewed in place), and so is `tlsDir`/ca.crt
 * (feedback is rare next to inference; a renewed CA is picked up without a restart).
 */
export function tlsPeerPost(ownCertificate: () => Buffer, tlsDir: string): PeerPost {
  return async (url, headers, body, timeoutMs) => {
    const ca = await readFile(join(tlsDir, 'ca.crt')).catch(() => undefined);
    const servername = certificateName(ownCertificate());
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        url,
        {
          method: 'POST',
          headers: { ...headers, 'content-length': Buffer.byteLength(body) },
          ...(servername ? { servername, checkServerIdentity: checkAs(servername) } : {}),
          ...(ca ? { ca } : {}),
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            let json: unknown;
            try {
              json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              json = undefined;
            }
            const status = res.statusCode ?? 0;
            resolve({ ok: status >= 200 && status < 300, json });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  };
}

/** The peer's certificate must name `servername`, not the IP address the request went to. */
function checkAs(servername: string) {
  return (_host: string, cert: PeerCertificate) => checkServerIdentity(servername, cert);
}
