import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import {
  SignatureVerificationError,
  decodeSignature,
  parsePublicKey,
  signatureShapeProblem,
} from './model-signature.js';

const pem = (key: KeyObject, type: 'spki' | 'pkcs1' = 'spki'): string =>
  key.export({ type, format: 'pem' }) as string;

const ec = (namedCurve: string) => generateKeyPairSync('ec', { namedCurve });
const rsa = (modulusLength: number) => generateKeyPairSync('rsa', { modulusLength });

describe('parsePublicKey', () => {
  it.each([
    ['P-256', 'ECDSA P-256'],
    ['P-384', 'ECDSA P-384'],
    ['P-521', 'ECDSA P-521'],
  ])('takes an EC %s key (cosign generate-key-pair makes P-256)', (curve, description) => {
    const key = parsePublicKey(pem(ec(curve).publicKey));
    expect(key).toMatchObject({ scheme: 'ecdsa-sha256', description });
    expect(key.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('takes RSA keys in SPKI and PKCS#1 PEM, and Ed25519 keys', () => {
    const { publicKey } = rsa(2048);
    expect(parsePublicKey(pem(publicKey))).toMatchObject({
      scheme: 'rsa-pkcs1-sha256',
      description: 'RSA-2048',
    });
    expect(parsePublicKey(pem(publicKey, 'pkcs1')).fingerprint).toBe(
      parsePublicKey(pem(publicKey)).fingerprint,
    );
    const ed = generateKeyPairSync('ed25519').publicKey;
    expect(parsePublicKey(pem(ed))).toMatchObject({ scheme: 'ed25519', description: 'Ed25519' });
  });

  it('accepts surrounding whitespace (a YAML block scalar keeps a final newline)', () => {
    expect(parsePublicKey(`\n  ${pem(ec('P-256').publicKey)}\n\n`).scheme).toBe('ecdsa-sha256');
  });

  it('logs as type and fingerprint only, never the key', () => {
    const text = pem(ec('P-256').publicKey);
    const key = parsePublicKey(text);
    const logged = JSON.stringify({ key });
    expect(logged).toBe(JSON.stringify({ key: { key: 'ECDSA P-256', sha256: key.fingerprint } }));
    const body = text.split('\n')[1]!;
    expect(logged).not.toContain(body);
  });

  it('refuses a private key without using it, and says so without echoing it', () => {
    const privatePem = ec('P-256').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    let message = '';
    try {
      parsePublicKey(privatePem);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/this is a private key: give the public key/);
    expect(message).not.toContain(privatePem.split('\n')[1]!);
  });

  it.each([
    ['', /the public key is empty/],
    ['ssh-ed25519 AAAAC3Nza', /not PEM/],
    ['-----BEGIN PUBLIC KEY-----\nnot base64 at all\n-----END PUBLIC KEY-----', /cannot be read as PEM/],
  ])('refuses %j with a clear message', (text, why) => {
    expect(() => parsePublicKey(text)).toThrow(why);
  });

  it('refuses weak RSA keys and key types cosign does not sign with', () => {
    expect(() => parsePublicKey(pem(rsa(1024).publicKey))).toThrow(
      /RSA public key has 1024 bits; at least 2048/,
    );
    expect(() => parsePublicKey(pem(ec('secp256k1').publicKey))).toThrow(/curve secp256k1; use P-256/);
    expect(() => parsePublicKey(pem(generateKeyPairSync('x25519').publicKey))).toThrow(
      /of type x25519; use an ECDSA/,
    );
  });
});

describe('decodeSignature', () => {
  const bytes = randomBytes(71);
  const b64 = bytes.toString('base64');

  it('decodes base64 as cosign writes it, with or without line breaks (openssl base64 wraps at 64)', () => {
    expect(decodeSignature(b64)).toEqual(bytes);
    expect(decodeSignature(`${b64}\n`)).toEqual(bytes);
    expect(decodeSignature(b64.replace(/(.{64})/g, '$1\n'))).toEqual(bytes);
  });

  it.each([
    ['', /signature verification failed: the signature is empty/],
    [' \n', /the signature is empty/],
    ['not base64!', /signature verification failed: the signature is not base64/],
    ['QUJD=', /not base64/], // wrong padding
    ['-_-_', /not base64/], // base64url is not what cosign writes
  ])('refuses %j', (text, why) => {
    expect(() => decodeSignature(text)).toThrow(why);
    expect(() => decodeSignature(text)).toThrow(SignatureVerificationError);
  });

  it('marks its errors as not worth retrying, with a reason for the logs', () => {
    const err = new SignatureVerificationError('x');
    expect(err).toMatchObject({
      retryable: false,
      reason: 'signature_invalid',
      message: 'signature verification failed: x',
    });
  });
});

describe('signatureShapeProblem', () => {
  const data = Buffer.from('model bytes');

  it('accepts real signatures of each scheme', () => {
    for (const { publicKey, privateKey } of [ec('P-256'), ec('P-384'), rsa(2048)])
      expect(signatureShapeProblem(parsePublicKey(pem(publicKey)), sign('sha256', data, privateKey))).toBe(
        undefined,
      );
    const ed = generateKeyPairSync('ed25519');
    expect(signatureShapeProblem(parsePublicKey(pem(ed.publicKey)), sign(null, data, ed.privateKey))).toBe(
      undefined,
    );
  });

  it('names the usual mistakes: raw ECDSA, a signature by a key of another size or type', () => {
    const p256 = ec('P-256');
    const raw = sign('sha256', data, { key: p256.privateKey, dsaEncoding: 'ieee-p1363' });
    expect(signatureShapeProblem(parsePublicKey(pem(p256.publicKey)), raw)).toMatch(
      /the signature \(64 bytes\) is not an ASN.1 DER ECDSA signature, which an ECDSA P-256 key needs/,
    );
    const rsa3072 = parsePublicKey(pem(rsa(3072).publicKey));
    expect(signatureShapeProblem(rsa3072, sign('sha256', data, rsa(2048).privateKey))).toBe(
      'the signature is 256 bytes; an RSA-3072 signature is 384',
    );
    const ed = parsePublicKey(pem(generateKeyPairSync('ed25519').publicKey));
    expect(signatureShapeProblem(ed, sign('sha256', data, p256.privateKey))).toMatch(
      /an Ed25519 signature is 64/,
    );
  });
});
