/**
 * The download cache: one file per (URI, expected sha256) in cacheDir, written to a temporary name and
 * renamed into place, so a file under its final name is always complete. A container restart in the same
 * pod (same emptyDir) reuses it instead of downloading again.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { checksumMismatch, sha256OfFile } from './fetch-digest.js';
import { ModelFetchError, isModelFetchError } from './fetch-error.js';

/**
 * Where the download of `uri` lands. The name hashes the full URI (query included: two presigned URLs
 * may name different objects) with the expected digest, and keeps the URI's file name for people
 * listing the directory.
 */
export function cachePathFor(cacheDir: string, uri: string, expectedSha256: string | undefined): string {
  const key = createHash('sha256')
    .update(`${uri}\n${expectedSha256 ?? ''}`)
    .digest('hex')
    .slice(0, 24);
  return join(cacheDir, `${key}-${displayName(uri)}`);
}

/** The last path segment of the URI (without query), reduced to safe characters; 'model' when there is none. */
function displayName(uri: string): string {
  const path = uri.split(/[?#]/, 1)[0] ?? '';
  const last = path.slice(path.lastIndexOf('/') + 1);
  const safe = last
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^\.+/, '')
    .slice(-80);
  return safe === '' ? 'model' : safe;
}

export interface CachedFile {
  sha256: string;
  bytes: number;
}

/**
 * A complete earlier download at `path`, or undefined. The file is hashed again (one sequential read,
 * which also warms the page cache for loading the model) so a corrupted or replaced file is never
 * served: on a digest mismatch it is deleted and the caller downloads afresh.
 */
export async function findCached(
  path: string,
  expectedSha256: string | undefined,
  signal: AbortSignal,
): Promise<CachedFile | undefined> {
  try {
    if (!(await stat(path)).isFile()) return undefined;
  } catch {
    return undefined;
  }
  let found: CachedFile;
  try {
    found = await sha256OfFile(path, signal);
  } catch {
    if (signal.aborted) throw signal.reason;
    return undefined; // unreadable: download again, the rename replaces it
  }
  if (expectedSha256 !== undefined && found.sha256 !== expectedSha256) {
    await unlink(path).catch(() => undefined);
    return undefined;
  }
  return found;
}

export interface StoreRequest {
  /** The response body. */
  body: Readable;
  /** The size the server announced, if it did; checked against what arrives. */
  announcedBytes: number | undefined;
  finalPath: string;
  maxBytes: number;
  expectedSha256: string | undefined;
  shownUri: string;
  signal: AbortSignal;
  /** Turns an error of `body` (connection reset, ...) into a ModelFetchError. */
  sourceError: (err: unknown) => ModelFetchError;
}

/**
 * Streams the body into a temporary file next to its final name, counting and hashing on the way,
 * stopping as soon as it grows past maxBytes. Only a complete, verified file is renamed into place;
 * the temporary file is removed on every failure.
 */
export async function storeDownload(req: StoreRequest): Promise<CachedFile> {
  const dir = join(req.finalPath, '..');
  const tmp = join(dir, `.${basename(req.finalPath)}.${randomBytes(6).toString('hex')}.partial`);
  const meter = new Meter(req.maxBytes, req.shownUri);
  let writeFailure: unknown;
  let out: ReturnType<typeof createWriteStream> | undefined;
  try {
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      writeFailure = err;
      throw err;
    }
    out = createWriteStream(tmp, { flags: 'wx', flush: true });
    out.once('error', (err) => (writeFailure ??= err));
    await pipeline(req.body, meter, out, { signal: req.signal });

    if (req.announcedBytes !== undefined && meter.bytes !== req.announcedBytes) {
      throw new ModelFetchError(
        'unexpected_response',
        req.shownUri,
        `The download of "${req.shownUri}" ended after ${meter.bytes} of the ${req.announcedBytes} announced bytes; ` +
          'the connection was cut or the server is misbehaving',
      );
    }
    const sha256 = meter.digest();
    if (req.expectedSha256 !== undefined && sha256 !== req.expectedSha256) {
      throw checksumMismatch(req.shownUri, req.expectedSha256, sha256, `${meter.bytes} bytes downloaded`);
    }
    try {
      await rename(tmp, req.finalPath);
    } catch (err) {
      writeFailure = err;
      throw err;
    }
    return { sha256, bytes: meter.bytes };
  } catch (err) {
    // What failed is decided now: the file stream, destroyed by the pipeline with the body's error, reports that
    // error too once it closes, which is not a write failure.
    const failedWriting = writeFailure;
    // The file's open may still be in flight: wait for the stream to close, or the unlink could run before the file
    // exists and leave it behind.
    const stream = out;
    if (stream && !stream.closed) await new Promise<void>((resolve) => stream.once('close', () => resolve()));
    await unlink(tmp).catch(() => undefined);
    if (req.signal.aborted) throw req.signal.reason;
    if (isModelFetchError(err)) throw err;
    if (failedWriting !== undefined) throw storageError(failedWriting, dir, req.shownUri);
    throw req.sourceError(err);
  }
}

function storageError(err: unknown, dir: string, shownUri: string): ModelFetchError {
  const code = (err as NodeJS.ErrnoException).code;
  const what =
    code === 'ENOSPC' || code === 'EDQUOT'
      ? 'the disk is full: give the cache volume (emptyDir sizeLimit) room for the model'
      : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
        ? 'it is not writable: mount a writable volume (an emptyDir) there'
        : `${code ?? (err as Error).message}`;
  return new ModelFetchError(
    'storage_error',
    shownUri,
    `Cannot store the download of "${shownUri}" in the cache directory ${dir}: ${what}`,
  );
}

/** Passes bytes through while counting and hashing them; fails once more than maxBytes went by. */
class Meter extends Transform {
  bytes = 0;
  private readonly hash = createHash('sha256');

  constructor(
    private readonly maxBytes: number,
    private readonly shownUri: string,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      done(
        new ModelFetchError(
          'too_large',
          this.shownUri,
          `The model at "${this.shownUri}" is larger than the limit of ${this.maxBytes} bytes ` +
            `(stopped once more than that had arrived); raise maxBytes if the model really is that big`,
        ),
      );
      return;
    }
    this.hash.update(chunk);
    done(null, chunk);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}
