/**
 * What must hold of a model before onnxruntime sees it, beyond its sha256 (fetch.ts): the digest policy
 * (--require-digest: remote models must name their sha256, checked before any download) and its signature
 * (--model-public-key with --model-signature or --model-signature-uri, checked on the file that will be loaded).
 * openModel (loader.ts) runs both, so `serve` and `inspect` apply the same rules.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'winston';
import { fetchModel, type FetchOptions } from './fetch.js';
import { ModelFetchError, isModelFetchError } from './fetch-error.js';
import { parseModelUri, redactUri } from './fetch-uri.js';
import {
  MAX_SIGNATURE_BYTES,
  SignatureVerificationError,
  decodeSignature,
  type ModelPublicKey,
} from './model-signature.js';

/**
 * Where a model's signature comes from: inline base64, or a file fetched like the model (same URI forms). `toJSON`
 * lets a source that is logged show its URI redacted.
 */
export type SignatureSource = { base64: string } | { uri: string; toJSON?: () => unknown };

export interface ModelVerification {
  /** Refuse http(s):// and s3:// URIs that come without an expected sha256. */
  requireDigest?: boolean;
  /** Check the file's signature with this key before loading it. */
  signature?: { publicKey: ModelPublicKey; source: SignatureSource };
}

/**
 * Throws a `digest_required` ModelFetchError when `uri` is remote and no sha256 is expected. Pure: it runs before
 * anything is fetched. Local files and pvc:// claims are not remote: whoever can change them can change the pod.
 */
export function checkDigestPolicy(uri: string, sha256: string | undefined, pvcRoot?: string): void {
  if (sha256 !== undefined && sha256 !== '') return;
  const source = parseModelUri(uri, pvcRoot);
  if (source.kind === 'file') return;
  const shown = redactUri(uri);
  throw new ModelFetchError(
    'digest_required',
    shown,
    `The model URI "${shown}" is remote (${source.kind === 's3' ? 's3' : source.url.protocol.slice(0, -1)}) and has no sha256, ` +
      'which the digest policy requires (--require-digest, MODELSHIP_REQUIRE_DIGEST): nothing was downloaded. ' +
      "Give the file's `sha256sum` (--model-sha256, MODELSHIP_MODEL_SHA256; spec.model.sha256)",
  );
}

/**
 * The signature's bytes: decoded inline, or fetched (bounded, never digest-checked: the key authenticates it) and
 * decoded. Fetch failures keep their reason, so network trouble is retried; a bad signature is not.
 */
export async function loadSignature(
  source: SignatureSource,
  fetch: Omit<FetchOptions, 'maxBytes' | 'sha256' | 'logger'>,
  logger?: Logger,
): Promise<Buffer> {
  if ('base64' in source) return decodeSignature(source.base64);
  const shown = redactUri(source.uri);
  let text: string;
  try {
    const file = await fetchModel(source.uri, { ...fetch, maxBytes: MAX_SIGNATURE_BYTES, logger });
    // Downloads are bounded while streaming; local and pvc:// files are used in place.
    if (file.bytes > MAX_SIGNATURE_BYTES)
      throw new SignatureVerificationError(
        `the signature file "${shown}" is ${file.bytes} bytes: not a signature (at most ${MAX_SIGNATURE_BYTES})`,
      );
    text = await readFile(file.path, 'latin1');
  } catch (err) {
    if (isModelFetchError(err))
      throw new ModelFetchError(
        err.reason,
        err.uri,
        `signature verification failed: the signature could not be fetched: ${err.message}`,
      );
    if (err instanceof SignatureVerificationError) throw err;
    throw new SignatureVerificationError(
      `the signature file "${shown}" could not be read: ${(err as Error).message}`,
    );
  }
  return decodeSignature(text);
}
