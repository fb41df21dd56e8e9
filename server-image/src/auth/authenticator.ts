/**
 * Who is calling: the credential a request carries (credentials.ts) checked against the API keys or the OIDC
 * issuer. Synchronous wherever it can be (a key lookup, a JWT verified before and still in the cache): only a JWT
 * seen for the first time waits for its verification, and concurrent requests with the same new token share one.
 * A JWT-shaped credential is a JWT only when OIDC is configured; otherwise it is looked up as a key.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ApiKeySet } from './api-keys.js';
import { credentialOf } from './credentials.js';
import type { OidcVerifier } from './oidc.js';
import type { AuthOutcome } from './reasons.js';
import { TokenCache } from './token-cache.js';

export type Authenticate = (headers: IncomingHttpHeaders) => AuthOutcome | Promise<AuthOutcome>;

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
  const byKey = (key: string): AuthOutcome => {
    const name = opts.keys?.().lookup(key);
    return name === undefined ? { failure: 'invalid' } : { caller: name };
  };
  const oidc = opts.oidc;

  return (headers) => {
    const credential = credentialOf(headers);
    switch (credential.kind) {
      case 'none':
        return { failure: 'missing' };
      case 'malformed':
        return { failure: 'malformed' };
      case 'key':
        return byKey(credential.key);
      case 'jwt': {
        if (!oidc) return byKey(credential.token);
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
