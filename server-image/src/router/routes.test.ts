import { describe, expect, it } from '@jest/globals';
import { parseRoutes, SHADOW_DEFAULTS } from './routes.js';
import { compile } from './select.js';

const backends = [
  { revision: 'stable', url: 'http://s:80', weight: 100 },
  { revision: 'canary', url: 'http://c:80', weight: 0 },
];
const withShadow = (shadow: unknown, b: unknown[] = backends) =>
  JSON.stringify({ backends: b, matches: [], shadow });

describe('the shadow of a route table', () => {
  it('is optional, and gets its defaults when compiled', () => {
    expect(compile(parseRoutes(JSON.stringify({ backends, matches: [] }))).shadow).toBeUndefined();
    const t = compile(parseRoutes(withShadow({ revision: 'next', url: 'http://n:80' })));
    expect(t.shadow).toEqual({ revision: 'next', url: 'http://n:80', ...SHADOW_DEFAULTS });
    expect(SHADOW_DEFAULTS).toEqual({
      tolerance: { absolute: 1e-6, relative: 1e-4 },
      maxInFlight: 64,
      maxBodyBytes: 1048576,
      timeoutMs: 10_000,
    });
  });

  it('keeps what the table sets, filling in the rest', () => {
    const t = compile(
      parseRoutes(
        withShadow({
          revision: 'canary',
          url: 'http://c:80',
          tolerance: { relative: 0.01 },
          maxInFlight: 2,
          maxBodyBytes: 100,
          timeoutMs: 50,
        }),
      ),
    );
    expect(t.shadow).toEqual({
      revision: 'canary',
      url: 'http://c:80',
      tolerance: { absolute: 1e-6, relative: 0.01 },
      maxInFlight: 2,
      maxBodyBytes: 100,
      timeoutMs: 50,
    });
    // A shadow listed as a backend at weight 0 still gets no weighted traffic.
    expect(t.cumulative.map((c) => c.backend.revision)).toEqual(['stable']);
  });

  it.each([
    ['a list', [], /shadow must be an object/],
    ['no revision', { url: 'http://n:80' }, /the shadow has no revision/],
    [
      'a bad url',
      { revision: 'n', url: 'http://n:80/v2' },
      /shadow n: url must be http\(s\):\/\/host\[:port\]/,
    ],
    [
      'live weight',
      { revision: 'stable', url: 'http://s:80' },
      /shadow stable is also a backend with weight 100/,
    ],
    [
      'another url than its backend',
      { revision: 'canary', url: 'http://x:80' },
      /differs from its backend's http:\/\/c:80/,
    ],
    [
      'a tolerance that is not an object',
      { revision: 'n', url: 'http://n', tolerance: 1 },
      /tolerance must be an object/,
    ],
    [
      'a negative tolerance',
      { revision: 'n', url: 'http://n', tolerance: { absolute: -1 } },
      /tolerance.absolute must be a number >= 0, got -1/,
    ],
    [
      'a string tolerance',
      { revision: 'n', url: 'http://n', tolerance: { relative: '1' } },
      /tolerance.relative must be a number >= 0, got "1"/,
    ],
    [
      'maxInFlight 0',
      { revision: 'n', url: 'http://n', maxInFlight: 0 },
      /maxInFlight must be an integer >= 1, got 0/,
    ],
    [
      'a fractional maxBodyBytes',
      { revision: 'n', url: 'http://n', maxBodyBytes: 1.5 },
      /maxBodyBytes must be an integer >= 1/,
    ],
    [
      'timeoutMs as a string',
      { revision: 'n', url: 'http://n', timeoutMs: '5s' },
      /timeoutMs must be an integer >= 1, got "5s"/,
    ],
  ])('refuses %s', (_what, shadow, message) => {
    expect(() => parseRoutes(withShadow(shadow))).toThrow(message);
  });
});

describe('serverName, the TLS name an https:// backend or shadow must present', () => {
  it('is optional, kept on backends and carried to the compiled shadow', () => {
    const t = parseRoutes(
      JSON.stringify({
        backends: [
          { revision: 'stable', url: 'https://10.0.0.7:8443', weight: 100, serverName: 'iris.ml.svc' },
        ],
        matches: [],
        shadow: { revision: 'next', url: 'https://10.0.0.8:8443', serverName: 'iris.ml.svc' },
      }),
    );
    expect(t.backends[0]?.serverName).toBe('iris.ml.svc');
    expect(compile(t).shadow).toMatchObject({ url: 'https://10.0.0.8:8443', serverName: 'iris.ml.svc' });
    expect(compile(parseRoutes(withShadow({ revision: 'n', url: 'https://n' }))).shadow).not.toHaveProperty(
      'serverName',
    );
  });

  it.each([
    ['an empty name', ''],
    ['a URL', 'https://iris.ml.svc'],
    ['a name with a port', 'iris.ml.svc:443'],
    ['a number', 443],
    ['a label starting with a hyphen', '-iris.ml.svc'],
  ])('refuses %s, on a backend and on the shadow', (_what, serverName) => {
    expect(() =>
      parseRoutes(
        JSON.stringify({
          backends: [{ revision: 'stable', url: 'https://s', weight: 100, serverName }],
          matches: [],
        }),
      ),
    ).toThrow(`backend stable: serverName must be a DNS name, got ${JSON.stringify(serverName)}`);
    expect(() => parseRoutes(withShadow({ revision: 'n', url: 'https://n', serverName }))).toThrow(
      `shadow n: serverName must be a DNS name, got ${JSON.stringify(serverName)}`,
    );
  });
});
