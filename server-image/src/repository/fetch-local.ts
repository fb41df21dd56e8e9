/** Models already on this machine (a path, file://, or a mounted PVC): used in place, never copied. */
import { stat } from 'node:fs/promises';
import { checksumMismatch, sha256OfFile } from './fetch-digest.js';
import { ModelFetchError } from './fetch-error.js';

export interface LocalModel {
  path: string;
  sha256: string;
  bytes: number;
}

/**
 * Checks that `path` is a readable regular file, hashes it and compares the digest when one is expected.
 * `hint` is appended to not-found messages (e.g. which volume should be mounted where).
 */
export async function useLocalFile(
  path: string,
  shownUri: string,
  expectedSha256: string | undefined,
  signal: AbortSignal,
  hint = '',
): Promise<LocalModel> {
  let sha256: string;
  let bytes: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) {
      throw new ModelFetchError(
        'not_a_file',
        shownUri,
        `The model path ${path} (from "${shownUri}") is ${info.isDirectory() ? 'a directory' : 'not a regular file'}; ` +
          'point the URI at the model file itself',
      );
    }
    ({ sha256, bytes } = await sha256OfFile(path, signal));
  } catch (err) {
    throw localFileError(err, path, shownUri, hint);
  }
  if (expectedSha256 !== undefined && sha256 !== expectedSha256) {
    throw checksumMismatch(shownUri, expectedSha256, sha256, `local file ${path}`);
  }
  return { path, sha256, bytes };
}

/** Maps a filesystem error on a model file to a ModelFetchError; anything already mapped passes through. */
export function localFileError(err: unknown, path: string, shownUri: string, hint = ''): unknown {
  if (err instanceof ModelFetchError || (err as Error | undefined)?.name === 'AbortError') return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const suffix = hint ? `; ${hint}` : '';
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new ModelFetchError(
        'not_found',
        shownUri,
        `No model file at ${path} (from "${shownUri}")${suffix}`,
      );
    case 'EACCES':
    case 'EPERM':
      return new ModelFetchError(
        'access_denied',
        shownUri,
        `Permission denied reading the model file ${path} (from "${shownUri}"): check its mode and owner, ` +
          `and the pod's runAsUser/fsGroup${suffix}`,
      );
    case 'EISDIR':
      return new ModelFetchError(
        'not_a_file',
        shownUri,
        `The model path ${path} (from "${shownUri}") is a directory`,
      );
    default:
      return new ModelFetchError(
        'storage_error',
        shownUri,
        `Cannot read the model file ${path} (from "${shownUri}"): ${code ?? (err as Error).message}${suffix}`,
      );
  }
}
