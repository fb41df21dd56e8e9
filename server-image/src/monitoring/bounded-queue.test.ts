import { describe, expect, it } from '@jest/globals';
import { BoundedQueue } from './bounded-queue.js';

describe('BoundedQueue', () => {
  it('keeps order, refuses beyond its capacity, and leaves peeked items until dropped', () => {
    const q = new BoundedQueue<number>(3);
    expect([q.push(1), q.push(2), q.push(3), q.push(4)]).toEqual([true, true, true, false]);
    expect(q.peek(2)).toEqual([1, 2]);
    expect(q.length).toBe(3);
    q.drop(2);
    expect(q.push(5)).toBe(true);
    expect(q.peek(10)).toEqual([3, 5]);
    expect(q.clear()).toBe(2);
    expect(q.length).toBe(0);
  });

  it('stays in order across compactions', () => {
    const q = new BoundedQueue<number>(5000);
    for (let i = 0; i < 5000; i++) q.push(i);
    const seen: number[] = [];
    let next = 5000;
    while (q.length > 0) {
      const batch = q.peek(7);
      seen.push(...batch);
      q.drop(batch.length);
      if (next < 8000) q.push(next++);
    }
    expect(seen).toEqual(Array.from({ length: 8000 }, (_, i) => i));
  });
});
