import { describe, expect, it } from '@jest/globals';
import { parseRoutes } from './routes.js';
import { choose, compile } from './select.js';

const table = compile(
  parseRoutes(
    JSON.stringify({
      backends: [
        { revision: 'stable', url: 'http://s:80', weight: 90 },
        { revision: 'canary', url: 'http://c:80', weight: 10 },
      ],
      matches: [{ header: 'x-model-version', value: 'canary', revision: 'canary' }],
    }),
  ),
);

describe('choose', () => {
  it.each([
    [0, 'stable'],
    [0.8999, 'stable'],
    [0.9, 'canary'],
    [0.9999, 'canary'],
  ])('random %s goes to %s', (r, expected) => {
    expect(choose(table, {}, () => r).revision).toBe(expected);
  });

  it('sends a matching header to the canary whatever the weight, and ignores other values', () => {
    expect(choose(table, { 'x-model-version': 'canary' }, () => 0).revision).toBe('canary');
    expect(choose(table, { 'x-model-version': 'stable' }, () => 0).revision).toBe('stable');
  });

  it('honours the weights within ±2 % over 10,000 requests', () => {
    // A seeded generator (mulberry32), so that the test sees the same sequence every run.
    let seed = 42;
    const random = () => {
      seed |= 0;
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    let canary = 0;
    for (let i = 0; i < 10_000; i++) if (choose(table, {}, random).revision === 'canary') canary++;
    expect(Math.abs(canary / 10_000 - 0.1)).toBeLessThanOrEqual(0.02);
  });

  it('never sends traffic to a backend at weight 0 unless a header asks for it', () => {
    const t = compile(
      parseRoutes(
        JSON.stringify({
          backends: [
            { revision: 'stable', url: 'http://s:80', weight: 100 },
            { revision: 'canary', url: 'http://c:80', weight: 0 },
          ],
          matches: [{ header: 'x-canary', value: '1', revision: 'canary' }],
        }),
      ),
    );
    expect(choose(t, {}, () => 0.99999).revision).toBe('stable');
    expect(choose(t, { 'x-canary': '1' }, () => 0).revision).toBe('canary');
  });
});

describe('parseRoutes', () => {
  it.each([
    ['not json', /not JSON/],
    ['{}', /non-empty backends/],
    ['{"backends":[{"revision":"a","url":"http://a","weight":60}]}', /add up to 60, not 100/],
    ['{"backends":[{"revision":"a","url":"ftp://a","weight":100}]}', /url must be http/],
    [
      '{"backends":[{"revision":"a","url":"http://a","weight":100}],"matches":[{"header":"X","value":"1","revision":"a"}]}',
      /lowercase header/,
    ],
    [
      '{"backends":[{"revision":"a","url":"http://a","weight":100}],"matches":[{"header":"x","value":"1","revision":"b"}]}',
      /no backend b/,
    ],
  ])('refuses %s', (text, message) => {
    expect(() => parseRoutes(text)).toThrow(message);
  });
});
