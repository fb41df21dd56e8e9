/**
 * Authentication of the inference port, from the configuration: the API key directory (read before the port
 * opens, then kept current), the OIDC verifier, the authenticator, and the metrics every outcome is counted in.
 * Undefined when neither API keys nor OIDC are configured: the port is open, as before.
 */
import type { IncomingMessage } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from 'winston';
import type { Clock } from '../clock.js';
import { ApiKeyDirectory } from './api-key-dir.js';
import { createAuthenticator } from './authenticator.js';
import { AuthMetrics } from './metrics.js';
import { createOidcVerifier } from './oidc.js';
import { DEFAULT_CLOCK_SKEW_SECONDS, type AuthSettings } from './options.js';
import type { AuthOutcome } from './reasons.js';

export interface AuthDeps {
  logger: Logger;
  clock: Clock;
  registry: Registry;
  /** The model name, the `model` label of the caller metric. */
  model: string;
  /** How often the key directory is re-read besides its change events (api-key-dir.ts's default). */
  keyReloadMs?: number;
  /** Least time between JWKS fetches for unknown `kid`s (jose's default, 30 s). */
  jwksCooldownMs?: number;
  /** How long a JWKS is used before it is fetched again (oidc.ts's default, 10 minutes). */
  jwksMaxAgeMs?: number;
  /** How long a verified JWT is answered from the cache before it is verified again (authenticator.ts's default). */
  tokenReverifyMs?: number;
}

export interface InferenceAuth {
  authenticate(req: IncomingMessage): AuthOutcome | Promise<AuthOutcome>;
  close(): void;
}

export async function startAuth(settings: AuthSettings, deps: AuthDeps): Promise<InferenceAuth | undefined> {
  if (!settings.authApiKeysDir && !settings.authOidcIssuer) return undefined;
  const keys = settings.authApiKeysDir
    ? await ApiKeyDirectory.open({
        dir: settings.authApiKeysDir,
        logger: deps.logger,
        clock: deps.clock,
        reloadMs: deps.keyReloadMs,
      })
    : undefined;
  const oidc = settings.authOidcIssuer
    ? createOidcVerifier({
        issuer: settings.authOidcIssuer,
        audiences: settings.authOidcAudiences ?? [],
        jwksUri: settings.authOidcJwksUri,
        requiredClaims: settings.authOidcRequiredClaims,
        clockSkewSeconds: settings.authOidcClockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS,
        logger: deps.logger,
        clock: deps.clock,
        jwksCooldownMs: deps.jwksCooldownMs,
        jwksMaxAgeMs: deps.jwksMaxAgeMs,
      })
    : undefined;
  const authenticate = createAuthenticator({
    keys: keys && (() => keys.current()),
    oidc,
    reverifyAfterMs: deps.tokenReverifyMs,
  });
  const metrics = new AuthMetrics(deps.registry, deps.model);
  const counted = (outcome: AuthOutcome): AuthOutcome => {
    metrics.record(outcome);
    return outcome;
  };
  deps.logger.info('inference authentication on', {
    apiKeys: keys ? keys.current().size : undefined,
    oidcIssuer: settings.authOidcIssuer,
  });
  return {
    authenticate(req) {
      const outcome = authenticate(req.headers, req.socket);
      return outcome instanceof Promise ? outcome.then(counted) : counted(outcome);
    },
    close: () => keys?.close(),
  };
}
