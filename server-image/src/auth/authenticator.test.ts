import { describe, expect, it } from '@jest/globals';
import { ApiKeySet, parseKeyFile, type ApiKey } from './api-keys.js';
import { createAuthenticator } from './authenticator.js';
import type { OidcVerifier, VerifyOutcome } from './oidc.js';

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln';
const keys = new ApiKeySet([parseKeyFile('ci', 'key-1') as ApiKey]);

/** An OIDC verifier that answers what the test says and counts its calls. */
function verifier(answer: VerifyOutcome): OidcVerifier & { calls: number } {
  const v = {
    calls: 0,
    verify: async () => {
      v.calls++;
      return answer;
    },
  };
  return v;
}

describe('createAuthenticator', () => {
  it('API keys answer synchronously', () => {
    const auth = createAuthenticator({ keys: () => keys });
    expect(auth({ 'x-api-key': 'key-1' })).toEqual({ caller: 'ci' });
    expect(auth({ authorization: 'Bearer key-1' })).toEqual({ caller: 'ci' });
    expect(auth({ authorization: 'Bearer key-2' })).toEqual({ failure: 'invalid' });
    expect(auth({})).toEqual({ failure: 'missing' });
    expect(auth({ authorization: 'Basic x' })).toEqual({ failure: 'malformed' });
  });

  it('remembers the key a connection was accepted with, until the key set changes (a revoked key is refused)', () => {
    /** The real key set, counting its (sha256) lookups. */
    class CountingKeys extends ApiKeySet {
      lookups = 0;
      override lookup(presented: string) {
        this.lookups++;
        return super.lookup(presented);
      }
    }
    let current = new CountingKeys([parseKeyFile('ci', 'key-1') as ApiKey]);
    const auth = createAuthenticator({ keys: () => current });
    const connection = {};
    const other = {};
    expect(auth({ 'x-api-key': 'key-1' }, connection)).toEqual({ caller: 'ci' });
    expect(auth({ authorization: 'Bearer key-1' }, connection)).toEqual({ caller: 'ci' });
    expect(current.lookups).toBe(1);
    // Another key on the same connection is looked up (and refused); the remembered one still answers.
    expect(auth({ 'x-api-key': 'key-2' }, connection)).toEqual({ failure: 'invalid' });
    expect(auth({ 'x-api-key': 'key-10' }, connection)).toEqual({ failure: 'invalid' });
    expect(auth({ 'x-api-key': 'key-1' }, connection)).toEqual({ caller: 'ci' });
    expect(current.lookups).toBe(3);
    // Another connection pays its own lookup.
    expect(auth({ 'x-api-key': 'key-1' }, other)).toEqual({ caller: 'ci' });
    expect(current.lookups).toBe(4);
    // The Secret changed: key-1 revoked, key-2 added. The connection's remembered key no longer counts.
    current = new CountingKeys([parseKeyFile('ci-2', 'key-2') as ApiKey]);
    expect(auth({ 'x-api-key': 'key-1' }, connection)).toEqual({ failure: 'invalid' });
    expect(auth({ 'x-api-key': 'key-2' }, connection)).toEqual({ caller: 'ci-2' });
    expect(auth({ 'x-api-key': 'key-2' }, connection)).toEqual({ caller: 'ci-2' });
    expect(current.lookups).toBe(2);
  });

  it('verifies a JWT once, then answers it from the cache until it expires', async () => {
    let now = 1_000_000;
    const v = verifier({ caller: 'alice', expiresAtMs: now + 60_000 });
    const auth = createAuthenticator({ oidc: v, now: () => now });
    const headers = { authorization: `Bearer ${JWT}` };
    const first = auth(headers);
    const concurrent = auth(headers);
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toEqual({ caller: 'alice' });
    expect(await concurrent).toEqual({ caller: 'alice' });
    expect(v.calls).toBe(1);
    expect(auth(headers)).toEqual({ caller: 'alice' });
    now += 60_000;
    expect(await auth(headers)).toEqual({ caller: 'alice' });
    expect(v.calls).toBe(2);
  });

  it('verifies a long-lived JWT again after reverifyAfterMs, so a removed key stops being honoured', async () => {
    let now = 1_000_000;
    const v = verifier({ caller: 'alice', expiresAtMs: now + 3_600_000 });
    const auth = createAuthenticator({ oidc: v, now: () => now, reverifyAfterMs: 300_000 });
    const headers = { authorization: `Bearer ${JWT}` };
    expect(await auth(headers)).toEqual({ caller: 'alice' });
    now += 299_999;
    expect(auth(headers)).toEqual({ caller: 'alice' });
    expect(v.calls).toBe(1);
    now += 1;
    expect(await auth(headers)).toEqual({ caller: 'alice' });
    expect(v.calls).toBe(2);
  });

  it('answers a verified JWT from the cache in every header form it may come in; another token is verified', async () => {
    const now = 1_000_000;
    const v = verifier({ caller: 'alice', expiresAtMs: now + 60_000 });
    const auth = createAuthenticator({ oidc: v, now: () => now });
    expect(await auth({ authorization: `Bearer ${JWT}` })).toEqual({ caller: 'alice' });
    for (const authorization of [`Bearer ${JWT}`, `bearer ${JWT}`, `  Bearer  ${JWT} `])
      expect(auth({ authorization })).toEqual({ caller: 'alice' });
    expect(auth({ 'x-api-key': JWT })).toEqual({ caller: 'alice' });
    expect(auth({ authorization: `Bearer ${JWT}x` })).toBeInstanceOf(Promise);
    expect(v.calls).toBe(2);
  });

  it('never caches a refused JWT', async () => {
    const v = verifier({ failure: 'expired' });
    const auth = createAuthenticator({ oidc: v });
    expect(await auth({ authorization: `Bearer ${JWT}` })).toEqual({ failure: 'expired' });
    expect(await auth({ authorization: `Bearer ${JWT}` })).toEqual({ failure: 'expired' });
    expect(v.calls).toBe(2);
  });

  it('a JWT-shaped credential is a key when OIDC is off; a key is invalid when keys are off', () => {
    const dotted = new ApiKeySet([parseKeyFile('dots', 'a.b.c') as ApiKey]);
    expect(createAuthenticator({ keys: () => dotted })({ 'x-api-key': 'a.b.c' })).toEqual({ caller: 'dots' });
    expect(createAuthenticator({ oidc: verifier({ failure: 'invalid' }) })({ 'x-api-key': 'k' })).toEqual({
      failure: 'invalid',
    });
  });
});
