/**
 * Typed errors of the data plane and the ONE mapping from error to HTTP status (Triton's HttpCodeFromError).
 * `reason` is a short, stable label used as the metrics' failure reason.
 */

export type ErrorKind =
  'invalid_argument' | 'not_found' | 'unavailable' | 'too_large' | 'unsupported' | 'internal';

export class InferenceError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    /** Label for metrics and logs, e.g. 'bad_request', 'queue_full', 'not_ready'. */
    readonly reason: string = defaultReason(kind),
    /** Seconds a client should wait before retrying (sent as Retry-After on 503). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'InferenceError';
  }
}

function defaultReason(kind: ErrorKind): string {
  switch (kind) {
    case 'invalid_argument':
      return 'bad_request';
    case 'not_found':
      return 'not_found';
    case 'unavailable':
      return 'unavailable';
    case 'too_large':
      return 'too_large';
    case 'unsupported':
      return 'unsupported';
    case 'internal':
      return 'internal';
  }
}

export const invalid = (message: string): InferenceError => new InferenceError('invalid_argument', message);
export const notFound = (message: string): InferenceError => new InferenceError('not_found', message);

const STATUS: Record<ErrorKind, number> = {
  invalid_argument: 400,
  not_found: 404,
  too_large: 413,
  unsupported: 501,
  unavailable: 503,
  internal: 500,
};

/** The HTTP status for any error: typed errors by kind, anything else is a 500. */
export function httpStatusOf(err: unknown): number {
  return err instanceof InferenceError ? STATUS[err.kind] : 500;
}

/** The failure reason label for any error. */
export function reasonOf(err: unknown): string {
  return err instanceof InferenceError ? err.reason : 'internal';
}
