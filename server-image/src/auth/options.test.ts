import { describe, expect, it } from '@jest/globals';
import type { ServerConfig } from '../config.js';
import * as ENV from '../env.js';
import { authSettingsOf } from './options.js';
import { parseServe, restoreServerEnvAfterEach } from '../testing/serve-config.js';

restoreServerEnvAfterEach();

const parse = (args: string[]): Promise<ServerConfig> => parseServe(['--model-uri', '/m.onnx', ...args]);

const fail = (message: string): never => {
  throw new Error(message);
};

describe('authentication settings', () => {
  it('are off by default, with a 60 s clock skew', async () => {
    const c = await parse([]);
    expect(c.authApiKeysDir).toBeUndefined();
    expect(c.authOidcIssuer).toBeUndefined();
    expect(c.authOidcClockSkewSeconds).toBe(60);
  });

  it('come from the environment variables of the contract', async () => {
    Object.assign(process.env, {
      [ENV.AUTH_API_KEYS_DIR]: '/etc/modelship/api-keys',
      [ENV.AUTH_OIDC_ISSUER]: 'https://issuer.example.com',
      [ENV.AUTH_OIDC_AUDIENCES]: 'a, b,',
      [ENV.AUTH_OIDC_JWKS_URI]: 'https://issuer.example.com/keys',
      [ENV.AUTH_OIDC_REQUIRED_CLAIMS]: '{"groups":["ml"],"tenant":"acme"}',
      [ENV.AUTH_OIDC_CLOCK_SKEW_SECONDS]: '30',
    });
    expect(await parse([])).toMatchObject({
      authApiKeysDir: '/etc/modelship/api-keys',
      authOidcIssuer: 'https://issuer.example.com',
      authOidcAudiences: ['a', 'b'],
      authOidcJwksUri: 'https://issuer.example.com/keys',
      authOidcRequiredClaims: { groups: ['ml'], tenant: ['acme'] },
      authOidcClockSkewSeconds: 30,
    });
  });

  it('empty variables (a template that always sets them) are unset', async () => {
    Object.assign(process.env, {
      [ENV.AUTH_API_KEYS_DIR]: '',
      [ENV.AUTH_OIDC_ISSUER]: '',
      [ENV.AUTH_OIDC_AUDIENCES]: '',
      [ENV.AUTH_OIDC_JWKS_URI]: '',
      [ENV.AUTH_OIDC_REQUIRED_CLAIMS]: '',
    });
    const c = await parse([]);
    expect(c.authApiKeysDir).toBeUndefined();
    expect(c.authOidcIssuer).toBeUndefined();
  });

  it('refuse an issuer without audiences, and OIDC settings without an issuer', () => {
    expect(() => authSettingsOf({ authOidcIssuer: 'https://i' }, fail)).toThrow(
      '--auth-oidc-issuer needs --auth-oidc-audiences',
    );
    expect(() => authSettingsOf({ authOidcAudiences: ['a'] }, fail)).toThrow('need --auth-oidc-issuer');
    expect(() => authSettingsOf({ authOidcJwksUri: 'https://i/k' }, fail)).toThrow('need --auth-oidc-issuer');
  });
});
