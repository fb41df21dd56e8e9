import { describe, expect, it } from '@jest/globals';
import { TokenCache } from './token-cache.js';

describe('TokenCache', () => {
  it('answers a token until it expires', () => {
    const c = new TokenCache(10);
    c.set('t', 'alice', 2000, 1000);
    expect(c.get('t', 1999)).toBe('alice');
    expect(c.get('t', 2000)).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('keeps no expired token and no more than its bound, dropping the oldest', () => {
    const c = new TokenCache(2);
    c.set('gone', 'x', 1000, 1000);
    expect(c.size).toBe(0);
    c.set('a', 'A', 9000, 0);
    c.set('b', 'B', 9000, 0);
    c.set('c', 'C', 9000, 0);
    expect(c.size).toBe(2);
    expect(c.get('a', 1)).toBeUndefined();
    expect(c.get('b', 1)).toBe('B');
    expect(c.get('c', 1)).toBe('C');
  });
});
