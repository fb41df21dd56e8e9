import { describe, expect, it } from '@jest/globals';
import { TrafficTotals, increase, quantile, type RevisionCounters } from './traffic.js';

const c = (requests: number, errors = 0, buckets: [number, number][] = []): RevisionCounters => ({
  requests,
  errors,
  buckets: new Map(buckets),
});
const scrape = (byTarget: Record<string, Record<string, RevisionCounters>>) =>
  new Map(Object.entries(byTarget).map(([t, revs]) => [t, new Map(Object.entries(revs))]));

describe('increase', () => {
  it.each([
    [10, 15, 5],
    [10, 10, 0],
    [10, 3, 3], // reset: the target restarted and counted 3 since
  ])('from %i to %i is %i', (a, b, expected) => expect(increase(a, b)).toBe(expected));
});

describe('TrafficTotals', () => {
  it('sums increases over targets and differences them over a window', () => {
    const t = new TrafficTotals(60_000);
    t.record(0, scrape({ p1: { a: c(100, 1) }, p2: { a: c(50) } }));
    expect(t.window('a', 10_000, 0)).toBeUndefined(); // a baseline alone says nothing
    t.record(5000, scrape({ p1: { a: c(110, 2) }, p2: { a: c(60, 1) } }));
    expect(t.window('a', 10_000, 5000)).toMatchObject({ requests: 20, errors: 2, spanMs: 5000 });
    t.record(10_000, scrape({ p1: { a: c(130, 2) }, p2: { a: c(60, 1) } }));
    // The window is the last 5 s only: 20 more requests on p1.
    expect(t.window('a', 5000, 10_000)).toMatchObject({ requests: 20, errors: 0, spanMs: 5000 });
    expect(t.window('a', 10_000, 10_000)).toMatchObject({ requests: 40, errors: 2, spanMs: 10_000 });
  });

  it('handles a restarted target (counters from zero) and a new one (a baseline first)', () => {
    const t = new TrafficTotals(60_000);
    t.record(0, scrape({ p1: { a: c(100) } }));
    t.record(5000, scrape({ p1: { a: c(4) }, p2: { a: c(1000) } }));
    expect(t.window('a', 5000, 5000)).toMatchObject({ requests: 4 });
    t.record(10_000, scrape({ p1: { a: c(6) }, p2: { a: c(1010) } }));
    expect(t.window('a', 5000, 10_000)).toMatchObject({ requests: 12 });
  });

  it('counts a revision that appears on a known target from zero, and keeps revisions apart', () => {
    const t = new TrafficTotals(60_000);
    t.record(0, scrape({ router: { stable: c(100) } }));
    t.record(
      5000,
      scrape({
        router: {
          stable: c(190),
          canary: c(10, 3, [
            [0.1, 8],
            [Infinity, 10],
          ]),
        },
      }),
    );
    expect(t.window('stable', 5000, 5000)).toMatchObject({ requests: 90, errors: 0 });
    const canary = t.window('canary', 5000, 5000)!;
    expect(canary).toMatchObject({ requests: 10, errors: 3 });
    expect([...canary.buckets]).toEqual([
      [0.1, 8],
      [Infinity, 10],
    ]);
    expect(t.window('unknown', 5000, 5000)).toMatchObject({ requests: 0 });
  });
});

describe('quantile', () => {
  it.each([
    [
      0.99,
      [
        [0.1, 90],
        [0.5, 100],
        [Infinity, 100],
      ],
      0.46,
    ],
    [
      0.5,
      [
        [0.1, 90],
        [0.5, 100],
        [Infinity, 100],
      ],
      0.1 * (50 / 90),
    ],
    [
      0.99,
      [
        [0.1, 0],
        [0.5, 0],
        [Infinity, 10],
      ],
      0.5,
    ], // all above the last bound: the highest finite bound
    [
      0.9,
      [
        [1, 10],
        [2, 10],
        [Infinity, 10],
      ],
      1 * 0.9,
    ],
  ] as [number, [number, number][], number][])('q%s of %j is %s', (q, buckets, expected) => {
    expect(quantile(q, new Map(buckets))).toBeCloseTo(expected, 10);
  });

  it('is undefined without observations', () => {
    expect(quantile(0.99, new Map([[Infinity, 0]]))).toBeUndefined();
    expect(quantile(0.99, new Map())).toBeUndefined();
  });
});
