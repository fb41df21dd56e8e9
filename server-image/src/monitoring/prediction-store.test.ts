import { describe, expect, it } from '@jest/globals';
import { FakeClock } from '../testing/fake-clock.js';
import type { Prediction } from './prediction.js';
import { PredictionStore, type EvictionReason } from './prediction-store.js';

const p = (c: number): Prediction => ({ kind: 'classification', classes: [c] });

function store(maxEntries: number, maxAgeMs: number) {
  const clock = new FakeClock();
  const evicted: [string, EvictionReason][] = [];
  const s = new PredictionStore({
    maxEntries,
    maxAgeMs,
    clock,
    onEvict: (e, reason) => evicted.push([e.keys[0]!, reason]),
  });
  return { s, clock, evicted };
}

describe('PredictionStore', () => {
  it('finds a prediction by either key, counts it once, and forgets both keys when removed', () => {
    const { s } = store(10, 1000);
    s.put(['req-1', 'proto-1'], p(1), '1');
    s.put(['req-2', undefined, 'req-2'], p(2), '1');
    expect(s.size).toBe(2);
    const e = s.get('proto-1')!;
    expect(e.prediction).toEqual(p(1));
    expect(s.get('req-1')).toBe(e);
    s.remove(e);
    expect(s.get('req-1')).toBeUndefined();
    expect(s.get('proto-1')).toBeUndefined();
    expect(s.size).toBe(1);
  });

  it('evicts the oldest beyond its size', () => {
    const { s, evicted } = store(2, 1000);
    s.put(['a'], p(1), '1');
    s.put(['b'], p(2), '1');
    s.put(['c'], p(3), '1');
    expect(evicted).toEqual([['a', 'size']]);
    expect(s.get('a')).toBeUndefined();
    expect(s.get('c')).toBeDefined();
  });

  it('evicts by age on the clock', async () => {
    const { s, clock, evicted } = store(10, 1000);
    s.put(['a'], p(1), '1');
    await clock.advance(500);
    s.put(['b'], p(2), '1');
    await clock.advance(499);
    expect(s.size).toBe(2);
    await clock.advance(1);
    expect(s.get('a')).toBeUndefined();
    expect(evicted).toEqual([['a', 'age']]);
    expect(s.size).toBe(1);
  });

  it('replaces a prediction whose key a newer request reuses', () => {
    const { s, evicted } = store(10, 1000);
    s.put(['a', 'x'], p(1), '1');
    s.put(['x'], p(2), '1');
    expect(evicted).toEqual([['a', 'replaced']]);
    expect(s.get('a')).toBeUndefined();
    expect(s.get('x')!.prediction).toEqual(p(2));
  });
});
