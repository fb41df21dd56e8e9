/**
 * A certificate and its private key as the kubernetes.io/tls Secret layout holds them (tls.crt, tls.key), checked
 * before anything serves them: both parse, the key belongs to the certificate, and OpenSSL accepts them as a
 * context. No I/O. Error messages name the file and what is wrong, never the key's content.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { createSecureContext } from 'node:tls';

export const CERT_FILE = 'tls.crt';
export const KEY_FILE = 'tls.key';

export interface CheckedPair {
  /** PEM: the leaf certificate, then any intermediates. */
  cert: Buffer;
  key: Buffer;
  /** The leaf certificate's notAfter. */
  notAfter: Date;
  /** The leaf's subject and serial, for logs (public information). */
  subject: string;
  serial: string;
}

/** Checks a pair; throws an Error that says which file is wrong and how. */
export function checkPair(cert: Buffer, key: Buffer): CheckedPair {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new Error(`${CERT_FILE} is not a PEM certificate (${openSslReason(err)})`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    // OpenSSL's reason is a fixed text (e.g. "DECODER routines::unsupported"), never the key itself.
    throw new Error(`${KEY_FILE} is not an unencrypted PEM private key (${openSslReason(err)})`);
  }
  if (!x509.checkPrivateKey(privateKey))
    throw new Error(`${KEY_FILE} does not belong to the certificate in ${CERT_FILE}`);
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new Error(`${CERT_FILE} and ${KEY_FILE} cannot serve TLS (${openSslReason(err)})`);
  }
  return {
    cert,
    key,
    notAfter: new Date(x509.validTo),
    subject: x509.subject.replace(/\n/g, ', '),
    serial: x509.serialNumber,
  };
}

/** The library's reason for a failure, cut short: enough to diagnose, no data from the input. */
function openSslReason(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return (e.message ?? e.code ?? String(err)).split('\n', 1)[0]!.slice(0, 200);
}

/**
 * Certificates in a PEM bundle (a CA file), checked to hold at least one; throws saying what is wrong. Returns how
 * many there are, for the log.
 */
export function checkCaBundle(pem: Buffer, what: string): number {
  const count = pem.toString('latin1').split('-----BEGIN CERTIFICATE-----').length - 1;
  if (count === 0) throw new Error(`${what} holds no PEM certificate`);
  try {
    // Each one must parse: OpenSSL would otherwise drop a broken one silently and verify against the rest.
    for (const block of pem
      .toString('latin1')
      .match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [])
      new X509Certificate(block);
  } catch (err) {
    throw new Error(`${what} holds a certificate that does not parse (${openSslReason(err)})`);
  }
  return count;
}
