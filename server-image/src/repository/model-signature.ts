/**
 * Model file signatures in the format users already produce offline: a cosign key-based blob signature
 * (`cosign sign-blob --key cosign.key --output-signature model.sig model.onnx`), or the same made with
 * `openssl dgst -sha256 -sign key.pem model.onnx | base64`: the base64 of a signature over the whole file, SHA-256,
 * ECDSA (ASN.1 DER, as both tools write it) or RSA PKCS#1 v1.5; or pure Ed25519 (cosign's ed25519 keys). Checked
 * with node:crypto against a PEM public key (docs/decisions/0007-model-signatures.md says why not the sigstore package).
 *
 * Pure parts (key and signature parsing, the shape check) are separate from the one I/O function, verifyFile.
 * Messages never carry key material: a key is named by its type and its fingerprint (sha256 of its DER SPKI).
 */
import { createHash, createPublicKey, createVerify, verify, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** A model's signature did not verify: the model must not load, and another attempt will not change that. */
export class SignatureVerificationError extends Error {
  override readonly name = 'SignatureVerificationError';
  /** For failureReason (loader.ts): the log field, inspect's code. */
  readonly reason = 'signature_invalid';
  readonly retryable = false;

  constructor(why: string) {
    super(`signature verification failed: ${why}`);
  }
}

/** How a key's signatures are checked: streamed through SHA-256, or over the whole message (EdDSA). */
export type SignatureScheme = 'ecdsa-sha256' | 'rsa-pkcs1-sha256' | 'ed25519';

export interface ModelPublicKey {
  readonly key: KeyObject;
  readonly scheme: SignatureScheme;
  /** 'ECDSA P-256', 'RSA-3072', 'Ed25519': for messages. */
  readonly description: string;
  /** Hex sha256 of the key's DER SubjectPublicKeyInfo: names the key in logs without printing it. */
  readonly fingerprint: string;
  /** How it appears in logs (the server logs its configuration at start): type and fingerprint only. */
  toJSON(): { key: string; sha256: string };
}

/** The curves cosign generates and verifies keys on (`cosign generate-key-pair` makes P-256). */
const CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
/** Shorter RSA keys are forgeable in practice; cosign refuses them too. */
const MIN_RSA_BITS = 2048;

/**
 * Parses a PEM public key (`cosign.pub`: `-----BEGIN PUBLIC KEY-----`, SPKI; also PKCS#1 `RSA PUBLIC KEY` and an
 * X.509 certificate's key). Throws an Error saying what is wrong, without echoing the text. A private key is refused
 * rather than used for its public half: it is a secret that must not sit in a spec or an environment variable.
 */
export function parsePublicKey(pem: string): ModelPublicKey {
  const text = pem.trim();
  if (text === '') throw new Error('the public key is empty');
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text))
    throw new Error(
      'this is a private key: give the public key (cosign.pub, or `openssl pkey -pubout`), and keep the private one secret',
    );
  if (!text.startsWith('-----BEGIN '))
    throw new Error('the public key is not PEM (expected -----BEGIN PUBLIC KEY-----, as cosign.pub holds)');
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: 'pem' });
  } catch (err) {
    throw new Error(`the public key cannot be read as PEM (${(err as { code?: string }).code ?? 'invalid'})`);
  }
  const fingerprint = createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex');
  const details = key.asymmetricKeyDetails ?? {};
  const described = (scheme: SignatureScheme, description: string): ModelPublicKey => ({
    key,
    scheme,
    description,
    fingerprint,
    toJSON: () => ({ key: description, sha256: fingerprint }),
  });
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = CURVES[details.namedCurve ?? ''];
      if (curve === undefined)
        throw new Error(
          `the EC public key is on the curve ${details.namedCurve ?? 'unknown'}; use P-256, P-384 or P-521`,
        );
      return described('ecdsa-sha256', `ECDSA ${curve}`);
    }
    case 'rsa': {
      const bits = details.modulusLength ?? 0;
      if (bits < MIN_RSA_BITS)
        throw new Error(`the RSA public key has ${bits} bits; at least ${MIN_RSA_BITS} are needed`);
      return described('rsa-pkcs1-sha256', `RSA-${bits}`);
    }
    case 'ed25519':
      return described('ed25519', 'Ed25519');
    default:
      throw new Error(
        `the public key is of type ${key.asymmetricKeyType ?? 'unknown'}; use an ECDSA (P-256, P-384, P-521), RSA or Ed25519 key`,
      );
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** A signature is at most a few hundred bytes (RSA-8192: 1 KiB); a file much bigger is not one. */
export const MAX_SIGNATURE_BYTES = 64 * 1024;

/**
 * The signature bytes from its text: standard base64 as cosign and `base64` write it, line breaks allowed
 * (`openssl base64` wraps at 64 columns). Throws SignatureVerificationError.
 */
export function decodeSignature(text: string): Buffer {
  const compact = text.replace(/\s+/g, '');
  if (compact === '') throw new SignatureVerificationError('the signature is empty');
  if (!BASE64.test(compact))
    throw new SignatureVerificationError(
      'the signature is not base64 (cosign sign-blob --output-signature, and openssl dgst -sign piped to base64, write base64)',
    );
  return Buffer.from(compact, 'base64');
}

/**
 * Why `signature` cannot be a signature by `key`, judging by its shape alone; undefined when it may be. Turns
 * "does not match" into a precise message for the common mistakes: a raw (P1363) ECDSA signature, a signature
 * made with a key of another size or type.
 */
export function signatureShapeProblem(key: ModelPublicKey, signature: Buffer): string | undefined {
  switch (key.scheme) {
    case 'ecdsa-sha256':
      // DER: SEQUENCE { INTEGER r, INTEGER s }.
      return signature[0] === 0x30 && signature.length >= 8
        ? undefined
        : `the signature (${signature.length} bytes) is not an ASN.1 DER ECDSA signature, which an ${key.description} key needs`;
    case 'rsa-pkcs1-sha256': {
      const bytes = Math.ceil((key.key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
      return signature.length === bytes
        ? undefined
        : `the signature is ${signature.length} bytes; an ${key.description} signature is ${bytes}`;
    }
    case 'ed25519':
      return signature.length === 64
        ? undefined
        : `the signature is ${signature.length} bytes; an Ed25519 signature is 64`;
  }
}

/**
 * Checks that `signature` is `key`'s signature over the file at `path`. ECDSA and RSA stream the file through
 * SHA-256 (a 2 GiB model is never held in memory); Ed25519 signs the message itself, not a digest, so its check
 * reads the whole file once (then released). Throws SignatureVerificationError.
 */
export async function verifyFile(
  path: string,
  key: ModelPublicKey,
  signature: Buffer,
  signal?: AbortSignal,
): Promise<void> {
  const problem = signatureShapeProblem(key, signature);
  if (problem !== undefined) throw new SignatureVerificationError(problem);
  let ok: boolean;
  try {
    if (key.scheme === 'ed25519') {
      ok = verify(null, await readFile(path, { signal }), key.key, signature);
    } else {
      const verifier = createVerify('sha256');
      for await (const chunk of createReadStream(path, { signal, highWaterMark: 1 << 20 }))
        verifier.update(chunk as Buffer);
      ok = verifier.verify(key.key, signature);
    }
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    const code = (err as { code?: string }).code;
    throw new SignatureVerificationError(
      code === 'ERR_FS_FILE_TOO_LARGE'
        ? 'the file is too large to check an Ed25519 signature over (it is read whole); sign large models with an ECDSA or RSA key'
        : `the signature could not be checked: ${(err as Error).message}`,
    );
  }
  if (!ok)
    throw new SignatureVerificationError(
      `the signature does not match the model file for the ${key.description} key ${key.fingerprint.slice(0, 16)}…: ` +
        'the file was changed after signing, or it was signed with another key',
    );
}
