import { describe, expect, it } from '@jest/globals';
import { credentialOf, isJwtShaped } from './credentials.js';

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln';

describe('credentialOf', () => {
  it('reads Bearer tokens, JWT or key by shape', () => {
    expect(credentialOf({ authorization: `Bearer ${JWT}` })).toEqual({ kind: 'jwt', token: JWT });
    expect(credentialOf({ authorization: 'bearer my-key_1' })).toEqual({ kind: 'key', key: 'my-key_1' });
    expect(credentialOf({ authorization: '  Bearer   my-key  ' })).toEqual({ kind: 'key', key: 'my-key' });
  });

  it('reads X-API-Key, and Authorization wins over it', () => {
    expect(credentialOf({ 'x-api-key': ' k1 ' })).toEqual({ kind: 'key', key: 'k1' });
    expect(credentialOf({ authorization: 'Bearer k2', 'x-api-key': 'k1' })).toEqual({
      kind: 'key',
      key: 'k2',
    });
  });

  it('no credential is missing; an unreadable one is malformed', () => {
    expect(credentialOf({})).toEqual({ kind: 'none' });
    for (const authorization of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer ', 'Bearer a b', 'Token x'])
      expect(credentialOf({ authorization })).toEqual({ kind: 'malformed' });
    expect(credentialOf({ 'x-api-key': '' })).toEqual({ kind: 'malformed' });
    expect(credentialOf({ 'x-api-key': 'k1, k2' })).toEqual({ kind: 'malformed' });
    expect(credentialOf({ authorization: `Bearer ${'a'.repeat(20_000)}` })).toEqual({ kind: 'malformed' });
  });

  it('a JWT has three dot-separated base64url parts, the last may be empty (alg none)', () => {
    expect(isJwtShaped(JWT)).toBe(true);
    expect(isJwtShaped('eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.')).toBe(true);
    expect(isJwtShaped('a.b')).toBe(false);
    expect(isJwtShaped('a.b.c.d')).toBe(false);
    expect(isJwtShaped('a+b.c.d')).toBe(false);
    expect(isJwtShaped('.b.c')).toBe(false);
  });
});
