/**
 * Turns a model URI into a local file the runtime can load.
 *
 * Local paths, file:// and pvc:// are used in place. http(s):// and s3:// are streamed into cacheDir under
 * a temporary name, counted against maxBytes, hashed, verified, then renamed into place; a later fetch of
 * the same URI with the same expected sha256 finds the file there (re-hashed, not re-downloaded).
 *
 * One call is one attempt: errors say through `reason` and `retryable` whether trying again may help,
 * and the caller decides when. URIs in messages, logs and the result are redacted (no user:password@,
 * no query strings, which carry the signatures of presigned URLs).
 */
import type { Logger } from 'winston';
import { cachePathFor, findCached, storeDownload } from './fetch-cache.js';
import { normalizeSha256 } from './fetch-digest.js';
import { ModelFetchError, isModelFetchError } from './fetch-error.js';
import { openHttp } from './fetch-http.js';
import { useLocalFile } from './fetch-local.js';
import { openS3, resolveS3Settings, type S3Options } from './fetch-s3.js';
import type { OpenedDownload } from './fetch-source.js';
import { DEFAULT_PVC_ROOT, parseModelUri, redactUri } from './fetch-uri.js';

export { ModelFetchError, type ModelFetchReason } from './fetch-error.js';
export type { S3Options } from './fetch-s3.js';

export interface FetchOptions {
  /** Downloads land here (the image's root filesystem is read-only: a mounted emptyDir or /tmp). */
  cacheDir: string;
  /** Downloads bigger than this are refused: by Content-Length up front, and by counting while streaming. */
  maxBytes: number;
  /** Expected hex digest of the file (either case); a mismatch is a `checksum_mismatch` error. */
  sha256?: string;
  /** Bounds the whole call (connect, response, body, hashing); default DEFAULT_TIMEOUT_MS. */
  timeoutMs?: number;
  /** pvc://claim/path -> `${pvcRoot}/claim/path`; default '/mnt/pvc'. */
  pvcRoot?: string;
  /** Explicit S3 settings; otherwise AWS_ENDPOINT_URL(_S3), AWS_REGION and the SDK's credential chain. */
  s3?: S3Options;
  logger?: Logger;
}

export interface FetchedModel {
  /** The file to load: the original for local/pvc URIs, the cached download otherwise. */
  path: string;
  /** Lowercase hex SHA-256 of the file. */
  sha256: string;
  bytes: number;
  /** The URI with credentials and query string removed: safe to log and to show in status. */
  uri: string;
}

/** Generous: a multi-gigabyte model over a slow link still fits, a stalled server does not hang a pod forever. */
export const DEFAULT_TIMEOUT_MS = 15 * 60_000;

type Origin = 'local' | 'cache' | 'download';

export async function fetchModel(uri: string, opts: FetchOptions): Promise<FetchedModel> {
  if (!(opts.maxBytes > 0))
    throw new RangeError(`fetchModel: maxBytes must be positive, got ${opts.maxBytes}`);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(timeoutMs > 0)) throw new RangeError(`fetchModel: timeoutMs must be positive, got ${timeoutMs}`);

  const shownUri = redactUri(uri);
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  opts.logger?.info('model fetch started', { uri: shownUri });

  const controller = new AbortController();
  const timer = setTimeout(
    () =>
      controller.abort(
        new ModelFetchError(
          'timeout',
          shownUri,
          `Fetching "${shownUri}" did not finish within ${timeoutMs} ms: the server is slow or stalled; ` +
            'check it, or raise the timeout for very large models',
        ),
      ),
    timeoutMs,
  );
  try {
    const { origin, ...file } = await fetchWithin(uri, shownUri, opts, controller.signal);
    opts.logger?.info('model fetch finished', {
      uri: shownUri,
      origin,
      path: file.path,
      bytes: file.bytes,
      sha256: file.sha256,
      durationMs: elapsed(),
    });
    return { ...file, uri: shownUri };
  } catch (err) {
    const error = asFetchError(controller.signal.aborted ? controller.signal.reason : err, uri, shownUri);
    opts.logger?.error('model fetch failed', {
      uri: shownUri,
      reason: error.reason,
      retryable: error.retryable,
      error: error.message,
      durationMs: elapsed(),
    });
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

async function fetchWithin(
  uri: string,
  shownUri: string,
  opts: FetchOptions,
  signal: AbortSignal,
): Promise<Omit<FetchedModel, 'uri'> & { origin: Origin }> {
  const pvcRoot = opts.pvcRoot ?? DEFAULT_PVC_ROOT;
  const source = parseModelUri(uri, pvcRoot);
  const expected = normalizeSha256(opts.sha256, shownUri);

  if (source.kind === 'file') {
    const hint =
      source.claim === undefined
        ? ''
        : `check that the PersistentVolumeClaim "${source.claim}" is mounted at ${pvcRoot}/${source.claim} and holds that file`;
    return { ...(await useLocalFile(source.path, shownUri, expected, signal, hint)), origin: 'local' };
  }

  const path = cachePathFor(opts.cacheDir, uri, expected);
  const cached = await findCached(path, expected, signal);
  if (cached !== undefined) return { path, ...cached, origin: 'cache' };

  const opened: OpenedDownload =
    source.kind === 'http'
      ? await openHttp(source.url, shownUri, signal)
      : await openS3(source.bucket, source.key, resolveS3Settings(opts.s3, process.env), shownUri, signal);
  try {
    if (opened.announcedBytes !== undefined && opened.announcedBytes > opts.maxBytes) {
      opened.body.destroy(); // stop the transfer now rather than drain gigabytes we will not keep
      throw new ModelFetchError(
        'too_large',
        shownUri,
        `The model at "${shownUri}" is ${opened.announcedBytes} bytes (announced by the server), ` +
          `over the limit of ${opts.maxBytes} bytes; raise maxBytes if the model really is that big`,
      );
    }
    const stored = await storeDownload({
      body: opened.body,
      announcedBytes: opened.announcedBytes,
      finalPath: path,
      maxBytes: opts.maxBytes,
      expectedSha256: expected,
      shownUri,
      signal,
      sourceError: opened.sourceError,
    });
    return { path, ...stored, origin: 'download' };
  } finally {
    opened.close?.();
  }
}

/** Anything thrown becomes a ModelFetchError; unforeseen messages are scrubbed of the raw URI and of URLs' secrets. */
function asFetchError(err: unknown, uri: string, shownUri: string): ModelFetchError {
  if (isModelFetchError(err)) return err;
  const raw = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  const scrubbed = (uri === '' ? raw : raw.split(uri).join(shownUri)).replace(
    /[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^\s"'<>]+/g,
    (url) => redactUri(url),
  );
  return new ModelFetchError(
    'internal_error',
    shownUri,
    `Fetching "${shownUri}" failed unexpectedly: ${scrubbed}`,
  );
}
