/** SHA-256 digests of model files, and the expected-digest option. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { ModelFetchError } from './fetch-error.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Validates the expected digest and returns it in lowercase (hex is case-insensitive; `sha256sum` prints
 * lowercase, some tools uppercase). Undefined and '' mean "no expectation".
 */
export function normalizeSha256(expected: string | undefined, shownUri: string): string | undefined {
  if (expected === undefined || expected === '') return undefined;
  const hex = expected.trim().toLowerCase();
  if (!SHA256_HEX.test(hex)) {
    throw new ModelFetchError(
      'invalid_sha256',
      shownUri,
      `The expected sha256 for "${shownUri}" is not 64 hexadecimal digits (got ${JSON.stringify(expected.slice(0, 80))}); ` +
        'compute it with `sha256sum <file>`',
    );
  }
  return hex;
}

/** Hashes a file by streaming it (models can be gigabytes). Resolves with the hex digest and the size. */
export async function sha256OfFile(
  path: string,
  signal?: AbortSignal,
): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path, { signal, highWaterMark: 1 << 20 })) {
    const buf = chunk as Buffer;
    hash.update(buf);
    bytes += buf.length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

export function checksumMismatch(
  shownUri: string,
  expected: string,
  actual: string,
  where: string,
): ModelFetchError {
  return new ModelFetchError(
    'checksum_mismatch',
    shownUri,
    `The model from "${shownUri}" does not match the expected sha256: expected ${expected}, got ${actual} (${where}). ` +
      'Either the file changed at its source or the expected digest is out of date.',
  );
}
