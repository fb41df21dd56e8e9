/** What a remote source (http, s3) hands over once the server has answered with the model's bytes. */
import type { Readable } from 'node:stream';
import type { ModelFetchError } from './fetch-error.js';

export interface OpenedDownload {
  body: Readable;
  /** The size the server announced (Content-Length), when it did. */
  announcedBytes: number | undefined;
  /** Maps an error raised while reading `body` (connection reset, ...) to a ModelFetchError. */
  sourceError: (err: unknown) => ModelFetchError;
  /** Releases what the source holds (an SDK client, sockets); called once, whatever happened. */
  close?: () => void;
}
