/**
 * The decisions around a JWT that need no network and no key (pure): which algorithms are accepted, what a
 * verification error means for the client (AuthFailureReason), whether the claims the server requires are there,
 * and who the caller is.
 */
import type { JWTPayload } from 'jose';
import type { AuthFailureReason } from './reasons.js';

/**
 * Asymmetric algorithms only. `none` is never accepted, and neither is any HMAC: a server that accepted HS256
 * would verify a token "signed" with the issuer's public key (which anyone can fetch) as if it were a secret.
 */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

/** Claim -> accepted values: a string claim must be one of them, an array claim must hold one of them. */
export type RequiredClaims = Record<string, readonly string[]>;

/** Raised (by oidc.ts) when the issuer's keys cannot be had: nothing is wrong with the token itself. */
export class IssuerUnavailable extends Error {
  override readonly name = 'IssuerUnavailable';
}

/** What a verification error from jose (or IssuerUnavailable) means; anything unknown is `invalid`. */
export function reasonOf(err: unknown): AuthFailureReason {
  if (err instanceof IssuerUnavailable) return 'unavailable';
  const e = err as { code?: unknown; claim?: unknown; reason?: unknown };
  switch (e.code) {
    case 'ERR_JWT_EXPIRED':
      return 'expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return e.claim === 'nbf' && e.reason === 'check_failed' ? 'not_yet_valid' : 'invalid';
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return 'malformed';
    default:
      return 'invalid';
  }
}

export function meetsRequiredClaims(payload: JWTPayload, required: RequiredClaims): boolean {
  for (const [claim, accepted] of Object.entries(required)) {
    const value = payload[claim];
    if (typeof value === 'string') {
      if (!accepted.includes(value)) return false;
    } else if (Array.isArray(value)) {
      if (!value.some((v) => typeof v === 'string' && accepted.includes(v))) return false;
    } else return false;
  }
  return true;
}

/** The caller a token names: `sub`, else the client it was issued to (`azp`, `client_id`). */
export function callerOf(payload: JWTPayload): string {
  for (const claim of ['sub', 'azp', 'client_id'])
    if (typeof payload[claim] === 'string' && payload[claim] !== '') return payload[claim];
  return 'unknown';
}

/**
 * MODELSHIP_AUTH_OIDC_REQUIRED_CLAIMS: a JSON object, claim -> a string or an array of accepted strings.
 * Throws an Error naming what is wrong.
 */
export function parseRequiredClaims(text: string): RequiredClaims {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('must be a JSON object (claim -> a string or an array of strings)');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error('must be a JSON object (claim -> a string or an array of strings)');
  const out: RequiredClaims = {};
  for (const [claim, accepted] of Object.entries(value)) {
    if (typeof accepted === 'string') out[claim] = [accepted];
    else if (
      Array.isArray(accepted) &&
      accepted.length > 0 &&
      accepted.every((a): a is string => typeof a === 'string')
    )
      out[claim] = accepted;
    else throw new Error(`claim '${claim}': must be a string or a non-empty array of strings`);
  }
  return out;
}
