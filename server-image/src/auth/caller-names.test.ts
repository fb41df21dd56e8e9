import { describe, expect, it } from '@jest/globals';
import { CallerNames, OTHER_CALLER } from './caller-names.js';

describe('CallerNames', () => {
  it('the first callers keep their names, later ones are other', () => {
    const n = new CallerNames(2);
    expect(n.label('a')).toBe('a');
    expect(n.label('b')).toBe('b');
    expect(n.label('c')).toBe(OTHER_CALLER);
    expect(n.label('a')).toBe('a');
    expect(n.label('d')).toBe(OTHER_CALLER);
  });
});
