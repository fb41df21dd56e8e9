import { describe, expect, it } from '@jest/globals';
import { Type } from '@sinclair/typebox';
import { toStructural, walk } from './structural.js';

describe('toStructural', () => {
  it('keeps types, descriptions, bounds, defaults and required', () => {
    const s = toStructural(
      Type.Object(
        {
          a: Type.Integer({ description: 'A', minimum: 1, default: 3 }),
          b: Type.Optional(Type.String({ description: 'B' })),
        },
        { description: 'obj' },
      ),
    );
    expect(s).toEqual({
      type: 'object',
      description: 'obj',
      required: ['a'],
      properties: {
        a: { type: 'integer', description: 'A', minimum: 1, default: 3 },
        b: { type: 'string', description: 'B' },
      },
    });
  });

  it('turns a string-keyed record into additionalProperties', () => {
    const s = toStructural(Type.Record(Type.String(), Type.String(), { description: 'labels' }));
    expect(s).toEqual({ type: 'object', description: 'labels', additionalProperties: { type: 'string' } });
  });

  it('turns a union of literals into an enum of one type', () => {
    const s = toStructural(Type.Union([Type.Literal('True'), Type.Literal('False')], { description: 'd' }));
    expect(s).toEqual({ type: 'string', enum: ['True', 'False'], description: 'd' });
  });

  it('turns a lone literal into a one-value enum', () => {
    expect(toStructural(Type.Literal('x'))).toEqual({ type: 'string', enum: ['x'] });
  });

  it('passes CEL rules and Kubernetes extensions through', () => {
    const rule = { rule: 'self > 0', message: 'positive' };
    const s = toStructural(
      Type.Array(Type.Object({ name: Type.String() }), {
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
        'x-kubernetes-validations': [rule],
      }),
    );
    expect(s['x-kubernetes-list-type']).toBe('map');
    expect(s['x-kubernetes-list-map-keys']).toEqual(['name']);
    expect(s['x-kubernetes-validations']).toEqual([rule]);
    expect(s.items).toEqual({ type: 'object', required: ['name'], properties: { name: { type: 'string' } } });
  });

  it('keeps an int-or-string as anyOf', () => {
    const q = { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] };
    expect(toStructural(q)).toEqual(q);
  });

  it('maps additionalProperties: true to preserve-unknown-fields and drops false', () => {
    expect(toStructural({ type: 'object', additionalProperties: true })).toEqual({
      type: 'object',
      'x-kubernetes-preserve-unknown-fields': true,
    });
    expect(toStructural({ type: 'object', additionalProperties: false })).toEqual({ type: 'object' });
  });

  it('drops keywords a CRD refuses', () => {
    expect(toStructural({ $id: 'x', $schema: 'y', title: 't', type: 'string' })).toEqual({ type: 'string' });
  });

  it.each([
    [
      'a node without a type',
      { properties: { a: { description: 'no type' } }, type: 'object' },
      /<root>\.a: every node .* needs a type/,
    ],
    ['a union of non-literals', Type.Union([Type.String(), Type.Integer()]), /anyOf is only supported/],
    ['a union of literals of two types', Type.Union([Type.Literal('a'), Type.Literal(1)]), /one type/],
    [
      'a regex-keyed map',
      { type: 'object', patternProperties: { '^x-': { type: 'string' } } },
      /patternProperties/,
    ],
  ])('refuses %s', (_what, schema, error) => {
    expect(() => toStructural(schema)).toThrow(error);
  });
});

describe('walk', () => {
  it('visits properties, array items and map values with their paths', () => {
    const s = toStructural(
      Type.Object({
        a: Type.Object({ b: Type.String() }),
        l: Type.Array(Type.Object({ c: Type.String() })),
        m: Type.Record(Type.String(), Type.Object({ d: Type.String() })),
      }),
    );
    expect([...walk(s)].map(([p]) => p)).toEqual(['a', 'a.b', 'l', 'l[].c', 'm', 'm{}.d']);
  });
});
