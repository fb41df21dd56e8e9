import { describe, expect, it } from '@jest/globals';
import { convert } from './vendor-k8s-schemas.js';

const all = {
  'io.example.Inner': {
    type: 'object',
    description: 'inner',
    properties: { x: { type: 'string', description: 'x' } },
    'x-kubernetes-map-type': 'atomic',
  },
  'io.example.Outer': {
    type: 'object',
    properties: {
      inner: {
        allOf: [{ $ref: '#/components/schemas/io.example.Inner' }],
        description: 'the inner one',
        default: {},
      },
      q: { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity' },
      list: {
        type: 'array',
        items: { type: 'string' },
        'x-kubernetes-patch-strategy': 'merge',
        'x-kubernetes-list-type': 'set',
      },
    },
  },
};

describe('convert (vendored Kubernetes schemas)', () => {
  const out = convert(all, all['io.example.Outer']) as {
    properties: Record<string, Record<string, unknown>>;
  };

  it('inlines allOf references, keeping the referring description', () => {
    expect(out.properties.inner).toEqual({
      type: 'object',
      description: 'the inner one',
      properties: { x: { type: 'string', description: 'x' } },
      'x-kubernetes-map-type': 'atomic',
    });
  });

  it('renders quantities as int-or-string with the quantity grammar', () => {
    expect(out.properties.q!['x-kubernetes-int-or-string']).toBe(true);
    expect(out.properties.q!.anyOf).toEqual([{ type: 'integer' }, { type: 'string' }]);
    expect(new RegExp(out.properties.q!.pattern as string).test('500m')).toBe(true);
    expect(new RegExp(out.properties.q!.pattern as string).test('lots')).toBe(false);
  });

  it('drops defaults and patch extensions a CRD does not accept', () => {
    expect(out.properties.list).toEqual({
      type: 'array',
      items: { type: 'string' },
      'x-kubernetes-list-type': 'set',
    });
  });

  it('refuses recursive schemas', () => {
    const rec = { 'io.R': { type: 'object', properties: { self: { $ref: '#/components/schemas/io.R' } } } };
    expect(() => convert(rec, rec['io.R'], ['io.R'])).toThrow(/recursive/);
  });
});
