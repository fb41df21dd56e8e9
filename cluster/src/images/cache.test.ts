import { describe, expect, it } from '@jest/globals';
import { entriesToPrune } from './cache.js';

describe('entriesToPrune', () => {
  const entries = [
    { hash: 'aaaa', mtimeMs: 1 },
    { hash: 'bbbb', mtimeMs: 4 },
    { hash: 'cccc', mtimeMs: 3 },
    { hash: 'dddd', mtimeMs: 2 },
  ];

  it('keeps the current build and the newest others up to the limit, oldest deleted first', () => {
    expect(entriesToPrune(entries, 'aaaa', 3).sort()).toEqual(['dddd']);
    expect(entriesToPrune(entries, 'bbbb', 2).sort()).toEqual(['aaaa', 'dddd']);
    expect(entriesToPrune(entries, 'cccc', 1).sort()).toEqual(['aaaa', 'bbbb', 'dddd']);
  });

  it('never deletes the current build, even when it is the oldest', () => {
    expect(entriesToPrune(entries, 'aaaa', 1)).not.toContain('aaaa');
    expect(entriesToPrune([{ hash: 'aaaa', mtimeMs: 1 }], 'aaaa', 1)).toEqual([]);
  });
});
