import { describe, expect, it } from '@jest/globals';
import { Backoff, backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  it.each([
    [0, 200],
    [1, 400],
    [2, 800],
    [7, 25_600],
    [8, 30_000],
    [1000, 30_000],
  ])('attempt %i waits %i ms (200 ms doubling to 30 s)', (attempt, expected) => {
    expect(backoffDelay(attempt, { initialMs: 200, maxMs: 30_000 })).toBe(expected);
  });

  it('honours another factor', () => {
    expect(backoffDelay(2, { initialMs: 100, maxMs: 10_000, factor: 3 })).toBe(900);
  });
});

describe('Backoff', () => {
  it('grows with each failure, adds jitter on top, and starts over after reset', () => {
    const values = [0, 1, 0.5];
    const b = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0.5, random: () => values.shift() ?? 0 });
    expect(b.next()).toBe(100);
    expect(b.next()).toBe(300); // 200 × 1.5
    expect(b.next()).toBe(500); // 400 × 1.25
    b.reset();
    expect(b.next()).toBe(100);
  });
});
