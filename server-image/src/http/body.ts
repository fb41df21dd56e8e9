/**
 * Reads a request body into one Buffer, refusing more than a limit (413) without buffering the excess.
 * Callback style: it runs once per inference request, and a promise here would add a promise and a microtask to
 * every request for nothing.
 */
import type { IncomingMessage } from 'node:http';
import { InferenceError } from '../protocol/v2/errors.js';

export function tooLarge(limit: number): InferenceError {
  return new InferenceError(
    'too_large',
    `the request body is larger than the limit of ${limit} bytes`,
    'too_large',
  );
}

/** Calls `done` exactly once: with the body, or with an InferenceError (413 too large, or the client went away). */
export function readBody(
  req: IncomingMessage,
  limit: number,
  done: (err: InferenceError | undefined, body?: Buffer) => void,
): void {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    done(tooLarge(limit));
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const onData = (chunk: Buffer): void => {
    size += chunk.byteLength;
    if (size > limit) {
      cleanup();
      // Stop reading; the response closes the connection, so the rest of the body is never buffered.
      req.pause();
      done(tooLarge(limit));
      return;
    }
    chunks.push(chunk);
  };
  const onEnd = (): void => {
    cleanup();
    done(undefined, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
  };
  const onError = (err: Error): void => {
    cleanup();
    done(
      err instanceof InferenceError
        ? err
        : new InferenceError(
            'invalid_argument',
            `reading the request body failed: ${err.message}`,
            'client_closed',
          ),
    );
  };
  // A client that disconnects mid-body must not leave this request (and its chunks) pending forever.
  const onClose = (): void => {
    if (!req.complete)
      onError(
        new InferenceError(
          'invalid_argument',
          'the client closed the connection before sending the whole body',
          'client_closed',
        ),
      );
  };
  const cleanup = (): void => {
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', onError);
    req.off('close', onClose);
  };
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onError);
  req.on('close', onClose);
}
