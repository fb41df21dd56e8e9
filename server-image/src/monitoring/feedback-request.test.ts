import { describe, expect, it } from '@jest/globals';
import { parseFeedbackBody } from './feedback-request.js';

const parse = (v: unknown) => parseFeedbackBody(Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)));

describe('parseFeedbackBody', () => {
  it('reads one label, labels per row, and a bulk list', () => {
    expect(parse({ id: 'a', label: 2 })).toEqual({
      bulk: false,
      items: [{ id: 'a', labels: [2], field: 'label', single: true }],
    });
    expect(parse({ id: 'a', labels: [1, 2] }).items[0]).toEqual({
      id: 'a',
      labels: [1, 2],
      field: 'labels',
      single: false,
    });
    const bulk = parse({
      feedback: [
        { id: 'a', label: 'x' },
        { id: 'b', labels: [] },
      ],
    });
    expect(bulk.bulk).toBe(true);
    expect(bulk.items.map((i) => i.field)).toEqual(['feedback[0].label', 'feedback[1].labels']);
  });

  it.each([
    ['not JSON', '{', /the body is not JSON/],
    ['a list', '[1]', /must be a JSON object/],
    ['no id', { label: 1 }, /^id must be the request id/],
    ['an empty id', { id: '', label: 1 }, /^id must be the request id/],
    ['a numeric id', { id: 3, label: 1 }, /^id must be/],
    ['no label', { id: 'a' }, /exactly one of "label" \(one row\) or "labels"/],
    ['both', { id: 'a', label: 1, labels: [1] }, /exactly one of/],
    ['labels not a list', { id: 'a', labels: 3 }, /^labels must be a list/],
    ['feedback not a list', { feedback: {} }, /"feedback" must be a list/],
    ['an empty feedback list', { feedback: [] }, /"feedback" is empty/],
    ['a bad item', { feedback: [{ id: 'a', label: 1 }, { label: 1 }] }, /^feedback\[1\]\.id must be/],
  ])('refuses %s, naming the field', (_name, body, message) => {
    expect(() => parse(body)).toThrow(message);
  });
});
