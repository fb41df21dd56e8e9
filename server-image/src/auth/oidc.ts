/**
 * JWT verification against an OIDC issuer with jose: the signature with the issuer's keys (its JWKS, fetched and
 * cached by createRemoteJWKSet, fetched again when a token names an unknown `kid`, at most once per cooldown),
 * asymmetric algorithms only, `iss`, `aud`, `exp` (required) and `nbf` with the configured clock skew, then the
 * required claims. Where the JWKS is comes from the configuration, else from the issuer's discovery document
 * (`<issuer>/.well-known/openid-configuration`), fetched at start and again after a failure (not more than once per
 * DISCOVERY_RETRY_MS, so a down issuer is not called by every request).
 */
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Logger } from 'winston';
import type { Clock } from '../clock.js';
import {
  ASYMMETRIC_ALGORITHMS,
  IssuerUnavailable,
  callerOf,
  meetsRequiredClaims,
  reasonOf,
  type RequiredClaims,
} from './jwt-rules.js';
import type { AuthFailureReason } from './reasons.js';

export interface OidcOptions {
  issuer: string;
  audiences: readonly string[];
  /** Else discovered from the issuer. */
  jwksUri?: string;
  requiredClaims?: RequiredClaims;
  clockSkewSeconds: number;
  logger: Logger;
  /** Monotonic: the discovery retry and the warnings' rate. */
  clock: Clock;
  /** Wall-clock time, ms since the epoch: what `exp` and `nbf` are compared with. @default Date.now */
  now?: () => number;
  /** Least time between two JWKS fetches for unknown `kid`s (jose's cooldown). @default 30000 */
  jwksCooldownMs?: number;
  /** How long a fetched JWKS is used before it is fetched again, so removed keys are noticed. @default 600000 */
  jwksMaxAgeMs?: number;
  /** Discovery and JWKS request timeout. @default 5000 */
  fetchTimeoutMs?: number;
}

export type VerifyOutcome = { caller: string; expiresAtMs: number } | { failure: AuthFailureReason };

const DISCOVERY_RETRY_MS = 5_000;
export const DEFAULT_JWKS_MAX_AGE_MS = 10 * 60_000;
const WARN_EVERY_MS = 30_000;
/** jose errors about the token's key, not the issuer's availability. */
const KEY_ERRORS: ReadonlySet<string> = new Set([
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JOSE_NOT_SUPPORTED',
]);

export interface OidcVerifier {
  verify(token: string): Promise<VerifyOutcome>;
}

export function createOidcVerifier(opts: OidcOptions): OidcVerifier {
  const { logger, clock } = opts;
  const now = opts.now ?? Date.now;
  const timeoutMs = opts.fetchTimeoutMs ?? 5_000;
  let keys: Promise<JWTVerifyGetKey> | undefined;
  let failedAt = -Infinity;
  let warnedAt = -Infinity;
  const warn = (message: string, err: unknown): void => {
    if (clock.now() - warnedAt < WARN_EVERY_MS) return;
    warnedAt = clock.now();
    logger.warn(message, { issuer: opts.issuer, error: (err as Error).message ?? String(err) });
  };
  const remote = (uri: string): JWTVerifyGetKey =>
    createRemoteJWKSet(new URL(uri), {
      cooldownDuration: opts.jwksCooldownMs ?? 30_000,
      cacheMaxAge: opts.jwksMaxAgeMs ?? DEFAULT_JWKS_MAX_AGE_MS,
      timeoutDuration: timeoutMs,
    });

  function keySet(): Promise<JWTVerifyGetKey> {
    if (keys) return keys;
    if (clock.now() - failedAt < DISCOVERY_RETRY_MS)
      return Promise.reject(new IssuerUnavailable('discovery failed recently'));
    keys = (opts.jwksUri ? Promise.resolve(opts.jwksUri) : discoverJwksUri(opts.issuer, timeoutMs)).then(
      remote,
      (err: unknown) => {
        keys = undefined;
        failedAt = clock.now();
        warn('OIDC discovery failed: JWTs are refused until it succeeds', err);
        throw new IssuerUnavailable(String(err));
      },
    );
    return keys;
  }
  // Discovered at start, so the first request does not wait for it.
  keySet().catch(() => undefined);

  const getKey: JWTVerifyGetKey = async (header, token) => {
    const set = await keySet();
    try {
      return await set(header, token);
    } catch (err) {
      if (KEY_ERRORS.has((err as { code?: string }).code ?? '')) throw err;
      warn("could not fetch the OIDC issuer's keys (JWKS)", err);
      throw new IssuerUnavailable(String(err));
    }
  };

  return {
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, getKey, {
          issuer: opts.issuer,
          audience: [...opts.audiences],
          algorithms: [...ASYMMETRIC_ALGORITHMS],
          clockTolerance: opts.clockSkewSeconds,
          requiredClaims: ['exp'],
          currentDate: new Date(now()),
        });
        if (opts.requiredClaims && !meetsRequiredClaims(payload, opts.requiredClaims))
          return { failure: 'claims' };
        // Verified now; good until exp (+ the skew allowed), which the caller's cache honours.
        return { caller: callerOf(payload), expiresAtMs: (payload.exp! + opts.clockSkewSeconds) * 1000 };
      } catch (err) {
        return { failure: reasonOf(err) };
      }
    },
  };
}

/** The issuer's jwks_uri from its discovery document, which must name the same issuer (OIDC Discovery 4.3). */
export async function discoverJwksUri(issuer: string, timeoutMs: number): Promise<string> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  const doc = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
  if (doc.issuer !== issuer)
    throw new Error(`${url} names the issuer ${JSON.stringify(doc.issuer)}, not ${JSON.stringify(issuer)}`);
  if (typeof doc.jwks_uri !== 'string') throw new Error(`${url} has no jwks_uri`);
  new URL(doc.jwks_uri); // throws for a malformed one
  return doc.jwks_uri;
}
