/**
 * Which credential a request carries, read from its headers (pure). `Authorization: Bearer <token>` or
 * `X-API-Key: <key>`; Authorization wins when both are sent. A JWT is told from an API key by its shape: three
 * dot-separated base64url parts (the third may be empty: an unsigned token, which is refused later, but as a JWT).
 */
import type { IncomingHttpHeaders } from 'node:http';

export type Credential =
  { kind: 'none' } | { kind: 'malformed' } | { kind: 'jwt'; token: string } | { kind: 'key'; key: string };

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** RFC 6750's b64token after the (case-insensitive) scheme, with optional surrounding blanks. */
const BEARER = /^\s*bearer +([A-Za-z0-9\-._~+/]+=*)\s*$/i;
/** Longer credentials are refused before any work: no real key or token comes near it. */
export const MAX_CREDENTIAL_LENGTH = 16_384;

export function isJwtShaped(value: string): boolean {
  return JWT_SHAPE.test(value);
}

export function credentialOf(headers: IncomingHttpHeaders): Credential {
  const authorization = headers.authorization;
  if (authorization !== undefined) {
    if (authorization.length > MAX_CREDENTIAL_LENGTH) return { kind: 'malformed' };
    const m = BEARER.exec(authorization);
    if (!m) return { kind: 'malformed' };
    return classify(m[1]!);
  }
  const apiKey = headers['x-api-key'];
  if (apiKey === undefined) return { kind: 'none' };
  // Node joins repeated X-API-Key headers with ', ': not one key.
  const key = typeof apiKey === 'string' ? apiKey.trim() : '';
  if (key === '' || key.length > MAX_CREDENTIAL_LENGTH || /[\s,]/.test(key)) return { kind: 'malformed' };
  return classify(key);
}

function classify(value: string): Credential {
  return isJwtShaped(value) ? { kind: 'jwt', token: value } : { kind: 'key', key: value };
}
