/** checkPair and checkCaBundle: what a certificate pair or a CA bundle must be before it is served or trusted. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { createTestCa, type KeyPair, type TestCa } from '../../test/support/pki.js';
import { checkCaBundle, checkPair } from './pair.js';

let ca: TestCa;
let leaf: KeyPair;
let other: KeyPair;

beforeAll(async () => {
  ca = await createTestCa();
  leaf = await ca.issue(['model.ml.svc', '127.0.0.1']);
  other = await ca.issue(['other.ml.svc']);
}, 30_000);
afterAll(() => ca.remove());

describe('checkPair', () => {
  it("accepts a certificate with its key and reads the certificate's notAfter", () => {
    const pair = checkPair(Buffer.from(leaf.cert), Buffer.from(leaf.key));
    expect(pair.notAfter.getTime()).toBe(new Date(new X509Certificate(leaf.cert).validTo).getTime());
    expect(pair.subject).toBe('CN=model.ml.svc');
  });

  it('accepts a chain (leaf then CA), reading the leaf', () => {
    const pair = checkPair(Buffer.from(leaf.cert + ca.ca), Buffer.from(leaf.key));
    expect(pair.subject).toBe('CN=model.ml.svc');
  });

  it('refuses a key of another certificate, naming the files', () => {
    expect(() => checkPair(Buffer.from(leaf.cert), Buffer.from(other.key))).toThrow(
      'tls.key does not belong to the certificate in tls.crt',
    );
  });

  it('refuses what is not a certificate or not a key, without quoting it', () => {
    expect(() => checkPair(Buffer.from('not a certificate'), Buffer.from(leaf.key))).toThrow(
      /^tls\.crt is not a PEM certificate/,
    );
    const truncated = leaf.key.slice(0, 80);
    let message = '';
    try {
      checkPair(Buffer.from(leaf.cert), Buffer.from(truncated));
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^tls\.key is not an unencrypted PEM private key/);
    expect(message).not.toContain(truncated.split('\n')[1]);
  });

  it('refuses an empty pair (a Secret being written)', () => {
    expect(() => checkPair(Buffer.alloc(0), Buffer.alloc(0))).toThrow(/tls\.crt is not a PEM certificate/);
  });
});

describe('checkCaBundle', () => {
  it('counts the certificates of a bundle', () => {
    expect(checkCaBundle(Buffer.from(ca.ca), 'ca.crt')).toBe(1);
    expect(checkCaBundle(Buffer.from(ca.ca + leaf.cert), 'ca.crt')).toBe(2);
  });

  it('refuses a bundle without a certificate, or with one that does not parse', () => {
    expect(() => checkCaBundle(Buffer.from('hello'), '/etc/ca.crt')).toThrow(
      '/etc/ca.crt holds no PEM certificate',
    );
    const broken = ca.ca.replace(/\n[A-Za-z0-9+/]{10}/, '\n!!!!!!!!!!');
    expect(() => checkCaBundle(Buffer.from(broken), 'ca.crt')).toThrow(
      /ca\.crt holds a certificate that does not parse/,
    );
  });
});
