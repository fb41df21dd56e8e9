import { describe, expect, it } from '@jest/globals';
import { errors } from 'jose';
import {
  ASYMMETRIC_ALGORITHMS,
  IssuerUnavailable,
  callerOf,
  meetsRequiredClaims,
  parseRequiredClaims,
  reasonOf,
} from './jwt-rules.js';

describe('JWT rules', () => {
  it('accepts no symmetric algorithm and not none', () => {
    for (const alg of ASYMMETRIC_ALGORITHMS) expect(alg).not.toMatch(/^(HS|none)/i);
  });

  it("maps jose's errors to the fixed reasons", () => {
    const payload = { sub: 'a' };
    expect(reasonOf(new errors.JWTExpired('x', payload, 'exp', 'check_failed'))).toBe('expired');
    expect(reasonOf(new errors.JWTClaimValidationFailed('x', payload, 'nbf', 'check_failed'))).toBe(
      'not_yet_valid',
    );
    expect(reasonOf(new errors.JWTClaimValidationFailed('x', payload, 'iss', 'check_failed'))).toBe(
      'invalid',
    );
    expect(reasonOf(new errors.JWTClaimValidationFailed('x', payload, 'exp', 'missing'))).toBe('invalid');
    expect(reasonOf(new errors.JWSSignatureVerificationFailed())).toBe('invalid');
    expect(reasonOf(new errors.JOSEAlgNotAllowed('x'))).toBe('invalid');
    expect(reasonOf(new errors.JWKSNoMatchingKey())).toBe('invalid');
    expect(reasonOf(new errors.JWSInvalid('x'))).toBe('malformed');
    expect(reasonOf(new errors.JWTInvalid('x'))).toBe('malformed');
    expect(reasonOf(new IssuerUnavailable('down'))).toBe('unavailable');
    expect(reasonOf(new Error('anything else'))).toBe('invalid');
  });

  it('required claims: a string among the accepted, or an array holding one', () => {
    const required = { groups: ['ml', 'admins'], tenant: ['acme'] };
    expect(meetsRequiredClaims({ groups: ['x', 'ml'], tenant: 'acme' }, required)).toBe(true);
    expect(meetsRequiredClaims({ groups: 'admins', tenant: 'acme' }, required)).toBe(true);
    expect(meetsRequiredClaims({ groups: ['x'], tenant: 'acme' }, required)).toBe(false);
    expect(meetsRequiredClaims({ groups: ['ml'] }, required)).toBe(false);
    expect(meetsRequiredClaims({ groups: ['ml'], tenant: 1 }, required)).toBe(false);
    expect(meetsRequiredClaims({}, {})).toBe(true);
  });

  it('the caller is sub, else azp, else client_id', () => {
    expect(callerOf({ sub: 'alice', azp: 'app' })).toBe('alice');
    expect(callerOf({ azp: 'app', client_id: 'c' })).toBe('app');
    expect(callerOf({ client_id: 'c' })).toBe('c');
    expect(callerOf({})).toBe('unknown');
  });

  it('parses required claims, naming what is wrong', () => {
    expect(parseRequiredClaims('{"groups":["ml","x"],"tenant":"acme"}')).toEqual({
      groups: ['ml', 'x'],
      tenant: ['acme'],
    });
    expect(() => parseRequiredClaims('nope')).toThrow('must be a JSON object');
    expect(() => parseRequiredClaims('["a"]')).toThrow('must be a JSON object');
    expect(() => parseRequiredClaims('{"groups":[]}')).toThrow("claim 'groups'");
    expect(() => parseRequiredClaims('{"groups":[1]}')).toThrow("claim 'groups'");
  });
});
