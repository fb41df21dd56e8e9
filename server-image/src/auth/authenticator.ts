/**
 * Who is calling: the credential a request carries (credentials.ts) checked against the API keys or the OIDC
 * issuer. Synchronous wherever it can be (a key lookup, a JWT verified before and still in the cache): only a JWT
 * seen for the first time waits for its verification, and concurrent requests with the same new token share one.
 * A JWT-shaped credential is a JWT only when OIDC is configured; otherwise it is looked up as a key.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { ApiKeySet } from './api-keys.js';
import { credentialOf } from './credentials.js';
import type { OidcVerifier } from './oidc.js';
import type { AuthOutcome } from './reasons.js';
import { TokenCache } from './token-cache.js';

/**
 * `connection`: the request's socket, when there is one. A key accepted on a connection is remembered for it, so a
 * keep-alive client does not pay the key's sha256 on every request (see keyOnConnection).
 */
export type Authenticate = (
  headers: IncomingHttpHeaders,
  connection?: object,
) => AuthOutcome | Promise<AuthOutcome>;

export interface AuthenticatorOptions {
  /** The API keys valid now (read on every request: a reload swaps the set). */
  keys?: () => ApiKeySet;
  oidc?: OidcVerifier;
  /** Wall-clock ms since the epoch, for the token cache. @default Date.now */
  now?: () => number;
  /** Most verified tokens kept. @default 10000 */
  tokenCacheSize?: number;
  /**
   * A verified token is verified again after this long even if it has not expired, so a key removed from the JWKS
   * stops being honoured (with the JWKS's own cache age, oidc.ts) instead of living on until the token's `exp`.
   * @default 300000 (5 minutes)
   */
  reverifyAfterMs?: number;
}

export const DEFAULT_REVERIFY_AFTER_MS = 5 * 60_000;

export function createAuthenticator(opts: AuthenticatorOptions): Authenticate {
  const now = opts.now ?? Date.now;
  const cache = new TokenCache(opts.tokenCacheSize ?? 10_000);
  const reverifyAfterMs = opts.reverifyAfterMs ?? DEFAULT_REVERIFY_AFTER_MS;
  const verifying = new Map<string, Promise<AuthOutcome>>();
  /**
   * The key last accepted on each connection, with the key set that accepted it. A new request on the connection
   * with the same key and the same set (no reload since: a revoked key is looked up again) is accepted without the
   * sha256. The comparison stays constant-time: a router's pooled connection carries many clients' requests, and
   * one client must not learn another's key from how fast a guess is refused.
   */
  const keyOnConnection = new WeakMap<object, { key: Buffer; keys: ApiKeySet; caller: string }>();
  const byKey = (key: string, connection?: object): AuthOutcome => {
    const keys = opts.keys?.();
    if (keys === undefined) return { failure: 'invalid' };
    const remembered = connection && keyOnConnection.get(connection);
    if (remembered && remembered.keys === keys) {
      const presented = Buffer.from(key);
      if (presented.length === remembered.key.length && timingSafeEqual(presented, remembered.key))
        return { caller: remembered.caller };
    }
    const name = keys.lookup(key);
    if (name === undefined) return { failure: 'invalid' };
    if (connection) keyOnConnection.set(connection, { key: Buffer.from(key), keys, caller: name });
    return { caller: name };
  };
  const oidc = opts.oidc;

  return (headers, connection) => {
    // The common case first, before any parsing: a token verified before, sent as `Bearer <token>`. The cache holds
    // only tokens that were parsed and verified, so an exact match needs neither again (two regular expressions
    // over a JWT of a kilobyte: about 1 µs, 1 % of a small model's request).
    const authorization = headers.authorization;
    if (oidc && authorization !== undefined && authorization.startsWith('Bearer ')) {
      const cached = cache.get(authorization.slice(7), now());
      if (cached !== undefined) return { caller: cached };
    }
    const credential = credentialOf(headers);
    switch (credential.kind) {
      case 'none':
        return { failure: 'missing' };
      case 'malformed':
        return { failure: 'malformed' };
      case 'key':
        return byKey(credential.key, connection);
      case 'jwt': {
        if (!oidc) return byKey(credential.token, connection);
        const token = credential.token;
        const cached = cache.get(token, now());
        if (cached !== undefined) return { caller: cached };
        let pending = verifying.get(token);
        if (!pending) {
          pending = oidc.verify(token).then((r): AuthOutcome => {
            verifying.delete(token);
            if ('failure' in r) return r;
            const at = now();
            cache.set(token, r.caller, Math.min(r.expiresAtMs, at + reverifyAfterMs), at);
            return { caller: r.caller };
          });
          verifying.set(token, pending);
        }
        return pending;
      }
    }
  };
}
