import { describe, expect, it } from '@jest/globals';
import { pendingRequest, requestAnnotation } from './requests.js';

const ann = (value: string) => ({ [requestAnnotation]: value });

describe('pendingRequest', () => {
  it.each([
    ['{"id":"1","action":"promote"}', { request: { id: '1', action: 'promote', full: false } }],
    ['{"id":"1","action":"promote","full":true}', { request: { id: '1', action: 'promote', full: true } }],
    [
      '{"id":"2","action":"undo","toRevision":"abc"}',
      { request: { id: '2', action: 'undo', toRevision: 'abc' } },
    ],
    ['{"id":"3","action":"abort"}', { request: { id: '3', action: 'abort' } }],
    [
      '{"id":"4","action":"launch"}',
      { invalid: { id: '4', action: 'launch', result: expect.stringMatching(/unknown action "launch"/) } },
    ],
    [
      '{"action":"abort"}',
      { invalid: expect.objectContaining({ result: `${requestAnnotation} needs an "id"` }) },
    ],
    [
      'not json',
      { invalid: expect.objectContaining({ result: `${requestAnnotation} is not a JSON object` }) },
    ],
  ])('%s', (text, expected) => {
    expect(pendingRequest(ann(text), undefined)).toEqual(expected);
  });

  it('is nothing without the annotation, or when its id was handled already', () => {
    expect(pendingRequest(undefined, undefined)).toBeUndefined();
    expect(
      pendingRequest(ann('{"id":"1","action":"abort"}'), { id: '1', action: 'abort', result: 'done' }),
    ).toBeUndefined();
    const bad = pendingRequest(ann('oops'), undefined);
    expect(pendingRequest(ann('oops'), 'invalid' in bad! ? bad.invalid : undefined)).toBeUndefined();
  });
});
