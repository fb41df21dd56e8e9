/**
 * Why a request was refused authentication: a small fixed set, the label of modelship_auth_failures_total and
 * nothing more. The client never learns which (every refusal is the same 401): telling "expired" from "bad
 * signature" helps an attacker probe, while the operator reads the reason off the metric.
 */
export const AUTH_FAILURE_REASONS = [
  /** No credential at all. */
  'missing',
  /** A credential header that cannot be read: not `Bearer <token>`, or a token that does not decode. */
  'malformed',
  /** A wrong or revoked key; a JWT with a bad signature, a refused algorithm, an unknown key, issuer or audience. */
  'invalid',
  /** A JWT past its `exp` (beyond the allowed clock skew). */
  'expired',
  /** A JWT before its `nbf` (beyond the allowed clock skew). */
  'not_yet_valid',
  /** A valid JWT without the claims the server requires. */
  'claims',
  /** The issuer's discovery document or JWKS could not be fetched: no JWT can be checked now. */
  'unavailable',
] as const;

export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

/** What authenticating one request gave: who called, or why not (and whether a credential was presented). */
export type AuthOutcome = { caller: string } | { failure: AuthFailureReason };
