/**
 * The one error type model fetching throws. `reason` is for programs (metrics labels, retry decisions,
 * status conditions); `message` is for people: it names the URI (with secrets removed), what happened
 * and what to check.
 */
export type ModelFetchReason =
  /** The URI cannot be parsed, or a pvc:// path escapes its claim. */
  | 'invalid_uri'
  /** The URI's scheme is none of: local path, file://, pvc://, http://, https://, s3://. */
  | 'unsupported_scheme'
  /** The expected sha256 is not 64 hex digits. */
  | 'invalid_sha256'
  /** A remote URI (http, https, s3) without an expected sha256 while digests are required (--require-digest). */
  | 'digest_required'
  /** No file/object at that location (local ENOENT, HTTP 404/410, S3 NoSuchKey/NoSuchBucket). */
  | 'not_found'
  /** The location exists but is not a regular file (a directory, a device, ...). */
  | 'not_a_file'
  /** Permission refused: local EACCES, HTTP 401/403, S3 AccessDenied, bad or missing credentials. */
  | 'access_denied'
  /** The server could not be reached: DNS failure, connection refused or reset, no route. */
  | 'unreachable'
  /** The TLS handshake failed: an untrusted, expired or mismatched certificate. */
  | 'tls_error'
  /** The attempt did not complete within timeoutMs. */
  | 'timeout'
  /** The server answered 5xx. */
  | 'server_error'
  /** The server answered something else we cannot use (an unexpected status, too many redirects). */
  | 'unexpected_response'
  /** The download is bigger than maxBytes (announced or counted). */
  | 'too_large'
  /** The bytes do not hash to the expected sha256. */
  | 'checksum_mismatch'
  /** Something unforeseen failed (likely a bug); the message says what. */
  | 'internal_error'
  /** A local filesystem operation failed: cacheDir not writable, disk full, an I/O error reading a file. */
  | 'storage_error';

/** Reasons worth another attempt later: the same request may well succeed then. */
const TRANSIENT: ReadonlySet<ModelFetchReason> = new Set(['unreachable', 'timeout', 'server_error']);

export class ModelFetchError extends Error {
  override readonly name = 'ModelFetchError';
  readonly reason: ModelFetchReason;
  /** The URI the error is about, with credentials and query strings removed: safe to log. */
  readonly uri: string;
  /** True when retrying the same fetch later may succeed (network trouble, timeouts, 5xx). */
  readonly retryable: boolean;

  constructor(reason: ModelFetchReason, uri: string, message: string) {
    super(message);
    this.reason = reason;
    this.uri = uri;
    this.retryable = TRANSIENT.has(reason);
  }
}

export function isModelFetchError(err: unknown): err is ModelFetchError {
  // Duck-typed as well as instanceof: errors may cross module realms (e.g. Jest's VM contexts).
  return (
    err instanceof ModelFetchError ||
    (err instanceof Error &&
      err.name === 'ModelFetchError' &&
      typeof (err as { reason?: unknown }).reason === 'string')
  );
}
