/**
 * `modelship-server serve`'s authentication flags (each with its environment variable, env.ts) and their checks.
 * With --auth-api-keys-dir or --auth-oidc-issuer set, every route of the inference port but the health checks
 * needs credentials.
 */
import { InvalidArgumentError, type Option } from 'commander';
import * as ENV from '../env.js';
import { parseRequiredClaims, type RequiredClaims } from './jwt-rules.js';

export interface AuthSettings {
  /** A directory of API key files (a mounted Secret); unset: no API keys. */
  authApiKeysDir?: string;
  /** The OIDC issuer JWTs must come from; unset: no JWTs. */
  authOidcIssuer?: string;
  /** Accepted `aud` values (one is enough); required with the issuer. */
  authOidcAudiences?: string[];
  authOidcJwksUri?: string;
  authOidcRequiredClaims?: RequiredClaims;
  authOidcClockSkewSeconds?: number;
}

export const DEFAULT_CLOCK_SKEW_SECONDS = 60;

const url = (value: string): string => {
  if (value === '') return value; // a template that always sets the variable: unset
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new InvalidArgumentError(`must be an https:// (or http://) URL, got '${value}'`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    throw new InvalidArgumentError(`must be an https:// (or http://) URL, got '${u.protocol}'`);
  return value;
};

const requiredClaims = (value: string): RequiredClaims | undefined => {
  if (value.trim() === '') return undefined;
  try {
    return parseRequiredClaims(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};

const seconds = (value: string): number => {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n > 3600)
    throw new InvalidArgumentError(`must be an integer from 0 to 3600, got '${value}'`);
  return n;
};

export function authOptions(o: (flags: string, description: string, env: string) => Option): Option[] {
  return [
    o(
      '--auth-api-keys-dir <dir>',
      'API keys: one file per key (name = caller, content = the key or sha256:<hex>), reloaded on change; clients send Authorization: Bearer <key> or X-API-Key',
      ENV.AUTH_API_KEYS_DIR,
    ),
    o(
      '--auth-oidc-issuer <url>',
      'accept JWTs (Authorization: Bearer) from this OIDC issuer',
      ENV.AUTH_OIDC_ISSUER,
    ).argParser(url),
    o(
      '--auth-oidc-audiences <list>',
      'comma-separated accepted aud values (required with --auth-oidc-issuer)',
      ENV.AUTH_OIDC_AUDIENCES,
    ).argParser((v) =>
      v
        .split(',')
        .map((a) => a.trim())
        .filter((a) => a !== ''),
    ),
    o(
      '--auth-oidc-jwks-uri <url>',
      "the issuer's JWKS (default: jwks_uri of its /.well-known/openid-configuration)",
      ENV.AUTH_OIDC_JWKS_URI,
    ).argParser(url),
    o(
      '--auth-oidc-required-claims <json>',
      'JSON object: claim -> a string or an array of accepted strings, all required',
      ENV.AUTH_OIDC_REQUIRED_CLAIMS,
    ).argParser(requiredClaims),
    o(
      '--auth-oidc-clock-skew-seconds <s>',
      'clock skew allowed when checking exp and nbf',
      ENV.AUTH_OIDC_CLOCK_SKEW_SECONDS,
    )
      .default(DEFAULT_CLOCK_SKEW_SECONDS)
      .argParser(seconds),
  ];
}

/** The parsed flags as AuthSettings, empty values unset; calls `fail` with what is wrong in a combination. */
export function authSettingsOf(
  opts: Record<string, unknown>,
  fail: (message: string) => never,
): AuthSettings {
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined);
  const issuer = str(opts.authOidcIssuer);
  const audiences = (opts.authOidcAudiences as string[] | undefined) ?? [];
  const jwksUri = str(opts.authOidcJwksUri);
  const claims = opts.authOidcRequiredClaims as RequiredClaims | undefined;
  if (!issuer && (audiences.length > 0 || jwksUri || claims))
    fail(
      `error: --auth-oidc-audiences, --auth-oidc-jwks-uri and --auth-oidc-required-claims need --auth-oidc-issuer (or ${ENV.AUTH_OIDC_ISSUER})`,
    );
  // Without an audience check, a token the issuer made for any other application would be accepted here.
  if (issuer && audiences.length === 0)
    fail(`error: --auth-oidc-issuer needs --auth-oidc-audiences (or ${ENV.AUTH_OIDC_AUDIENCES})`);
  return {
    authApiKeysDir: str(opts.authApiKeysDir),
    authOidcIssuer: issuer,
    authOidcAudiences: issuer ? audiences : undefined,
    authOidcJwksUri: jwksUri,
    authOidcRequiredClaims: claims,
    authOidcClockSkewSeconds:
      (opts.authOidcClockSkewSeconds as number | undefined) ?? DEFAULT_CLOCK_SKEW_SECONDS,
  };
}
