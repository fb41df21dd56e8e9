import { describe, expect, it } from '@jest/globals';
import { SlidingCounts } from './window.js';

describe('SlidingCounts', () => {
  it('keeps the last windowMs in sub-windows and forgets older ones', () => {
    // 10 sub-windows of 100 ms.
    const w = new SlidingCounts(2, 1000, 10);
    w.at(0);
    w.add(0, 3);
    w.at(450);
    w.add(1);
    w.add(0);
    expect([...w.totals(999)]).toEqual([4, 1]);
    // At 1000 the sub-window [0, 100) has left: only what came at 450 remains, until its sub-window [400, 500)
    // leaves at 1400 (the window is the current sub-window and the 9 before it: 900 to 1000 ms of history).
    expect([...w.totals(1000)]).toEqual([1, 1]);
    expect([...w.totals(1399)]).toEqual([1, 1]);
    expect([...w.totals(1400)]).toEqual([0, 0]);
  });

  it('reuses a slot a full window later without keeping its old counts', () => {
    const w = new SlidingCounts(1, 1000, 10);
    w.at(50);
    w.add(0, 5);
    w.at(1050); // the same slot, one window on
    w.add(0, 2);
    expect([...w.totals(1050)]).toEqual([2]);
  });

  it('survives a long silence', () => {
    const w = new SlidingCounts(1, 1000, 10);
    w.at(0);
    w.add(0, 7);
    expect([...w.totals(1e9)]).toEqual([0]);
    w.add(0);
    expect([...w.totals(1e9 + 10)]).toEqual([1]);
  });
});
