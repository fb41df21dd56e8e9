/** Opens an http(s):// model for download: follows redirects, maps every failure to a ModelFetchError. */
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { ModelFetchError } from './fetch-error.js';
import { redactUri } from './fetch-uri.js';
import type { OpenedDownload } from './fetch-source.js';

const MAX_REDIRECTS = 10;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export async function openHttp(url: URL, shownUri: string, signal: AbortSignal): Promise<OpenedDownload> {
  let current = url;
  for (let hop = 0; ; hop++) {
    const res = await get(current, shownUri, signal);
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (REDIRECTS.has(status) && location !== undefined) {
      res.resume(); // drain and free the socket
      if (hop === MAX_REDIRECTS) {
        throw new ModelFetchError(
          'unexpected_response',
          shownUri,
          `Too many redirects (more than ${MAX_REDIRECTS}) fetching "${shownUri}"; check the URL for a redirect loop`,
        );
      }
      try {
        current = new URL(location, current);
      } catch {
        throw new ModelFetchError(
          'unexpected_response',
          shownUri,
          `"${shownUri}" redirected to an invalid URL`,
        );
      }
      if (current.protocol !== 'http:' && current.protocol !== 'https:') {
        throw new ModelFetchError(
          'unexpected_response',
          shownUri,
          `"${shownUri}" redirected to a ${current.protocol} URL; only http and https are followed`,
        );
      }
      continue;
    }
    if (status === 200) {
      const length = res.headers['content-length'];
      return {
        body: res,
        announcedBytes: length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined,
        sourceError: (err) => networkError(err, current, shownUri),
      };
    }
    res.resume();
    throw statusError(status, res.statusMessage, current, url, shownUri);
  }
}

function get(url: URL, shownUri: string, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = url.protocol === 'https:' ? httpsGet : httpGet;
    // identity: Content-Length must be the size of the bytes we store, not of a compressed stream.
    const req = request(
      url,
      { signal, headers: { 'accept-encoding': 'identity', 'user-agent': 'modelship-model-fetch' } },
      resolve,
    );
    req.once('error', (err) => reject(signal.aborted ? signal.reason : networkError(err, url, shownUri)));
  });
}

/** Where the request went, for messages: the redirect target (redacted) when it differs from the URI. */
function via(current: URL, original: URL): string {
  return current.href === original.href ? '' : ` (redirected to "${redactUri(current.href)}")`;
}

function statusError(
  status: number,
  statusMessage: string | undefined,
  current: URL,
  original: URL,
  shownUri: string,
): ModelFetchError {
  const answer = `HTTP ${status}${statusMessage ? ` ${statusMessage}` : ''}`;
  const where = `"${shownUri}"${via(current, original)}`;
  if (status === 404 || status === 410) {
    return new ModelFetchError(
      'not_found',
      shownUri,
      `No model at ${where}: the server answered ${answer}; check the URL`,
    );
  }
  if (status === 401 || status === 403) {
    return new ModelFetchError(
      'access_denied',
      shownUri,
      `Access to ${where} was refused: the server answered ${answer}; check the credentials in the URL, ` +
        'or whether a presigned URL has expired',
    );
  }
  if (status >= 500) {
    return new ModelFetchError(
      'server_error',
      shownUri,
      `The server of ${where} failed: it answered ${answer}; try again later or check the server`,
    );
  }
  return new ModelFetchError(
    'unexpected_response',
    shownUri,
    `Cannot download ${where}: the server answered ${answer}, expected 200`,
  );
}

/** Socket-level failures, by errno/OpenSSL code. */
export function networkError(err: unknown, url: URL, shownUri: string): ModelFetchError {
  const code = errorCode(err);
  const host = url.host;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') {
    return new ModelFetchError(
      'unreachable',
      shownUri,
      `Cannot resolve the host "${url.hostname}" of "${shownUri}" (${code}): check the host name and the pod's DNS`,
    );
  }
  if (code === 'ECONNREFUSED') {
    return new ModelFetchError(
      'unreachable',
      shownUri,
      `Connection refused by ${host} fetching "${shownUri}": check that the server runs and listens on that port`,
    );
  }
  if (/^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/.test(code)) {
    return new ModelFetchError(
      'tls_error',
      shownUri,
      `TLS with ${host} failed fetching "${shownUri}" (${code}): check the server's certificate; ` +
        'a private CA can be trusted with NODE_EXTRA_CA_CERTS',
    );
  }
  const what = code || (err as Error | undefined)?.message || String(err);
  return new ModelFetchError(
    'unreachable',
    shownUri,
    `The connection to ${host} failed fetching "${shownUri}" (${what}); check the network path to the server`,
  );
}

/**
 * The errno/OpenSSL code of a socket error. Read from the message when the property is gone: the AWS SDK
 * re-wraps errors it does not recognise as its own realm's Error (seen under Jest's VM contexts) as
 * "AWS SDK error wrapper for Error: connect ECONNREFUSED ...", keeping only the text.
 */
function errorCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && code !== '') return code;
  const message = (err as Error | undefined)?.message ?? '';
  return /\b(E[A-Z]{2,}[A-Z_]*|EAI_[A-Z]+|ERR_[A-Z_]+)\b/.exec(message)?.[1] ?? '';
}
