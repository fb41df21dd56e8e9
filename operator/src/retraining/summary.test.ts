import { describe, expect, it } from '@jest/globals';
import { MAX_METRICS, parseSummary, relativePathProblem, type SummaryResult } from './summary.js';

const SHA = 'a'.repeat(64);
const minimal = { model: 'model.onnx', sha256: SHA, metrics: { accuracy: 0.97 } };
const full = {
  model: 'model.onnx',
  sha256: SHA,
  metrics: { accuracy: 0.97, f1: 0.96 },
  metricsFile: 'metrics.json',
  data: { ref: 'sklearn:breast_cancer@2026-12-02', rows: 455 },
  holdout: 'holdout.json',
  version: 'v7',
};
const json = (o: unknown) => JSON.stringify(o);
const withField = (field: string, value: unknown) => json({ ...minimal, [field]: value });
const without = (field: keyof typeof minimal) => {
  const o: Record<string, unknown> = { ...minimal };
  delete o[field];
  return json(o);
};
const reasonOf = (r: SummaryResult) => (r.ok ? `accepted: ${JSON.stringify(r.summary)}` : r.reason);

describe('parseSummary: a valid summary', () => {
  it('accepts the full contract as written', () => {
    expect(parseSummary(json(full))).toEqual({ ok: true, summary: full, warnings: [] });
  });

  it('accepts the required fields alone and leaves the optional ones out', () => {
    const r = parseSummary(json(minimal));
    expect(r).toEqual({ ok: true, summary: minimal, warnings: [] });
    expect(r.ok && Object.keys(r.summary)).toEqual(['model', 'sha256', 'metrics']);
  });

  it('tolerates surrounding whitespace and newlines (echo adds one)', () => {
    expect(parseSummary(`\n  ${json(minimal)}\n`)).toMatchObject({ ok: true, summary: minimal });
  });

  it('accepts pretty-printed JSON over several lines', () => {
    expect(parseSummary(JSON.stringify(full, null, 2))).toMatchObject({ ok: true, summary: full });
  });

  it('accepts an uppercase or mixed-case sha256 and lowercases it', () => {
    const r = parseSummary(withField('sha256', 'ABCDEF0123456789'.repeat(4)));
    expect(r).toMatchObject({ ok: true, summary: { sha256: 'abcdef0123456789'.repeat(4) } });
    expect(parseSummary(withField('sha256', 'aBcD'.repeat(16)))).toMatchObject({
      ok: true,
      summary: { sha256: 'abcd'.repeat(16) },
    });
  });

  it('accepts paths in sub-folders and drops ./ segments', () => {
    const r = parseSummary(json({ ...minimal, model: './out/model.onnx', holdout: 'data/./holdout.json' }));
    expect(r).toMatchObject({ ok: true, summary: { model: 'out/model.onnx', holdout: 'data/holdout.json' } });
  });

  it('accepts metric values that are negative, zero, integers or in exponent notation', () => {
    const metrics = { loss: -1.5, errors: 0, rows_seen: 455, tiny: 1e-12, 'auc.roc': 0.5, 'f1-macro': 1 };
    expect(parseSummary(withField('metrics', metrics))).toMatchObject({ ok: true, summary: { metrics } });
  });

  it(`accepts exactly ${MAX_METRICS} metrics`, () => {
    const metrics = Object.fromEntries(Array.from({ length: MAX_METRICS }, (_, i) => [`m${i}`, i]));
    expect(parseSummary(withField('metrics', metrics)).ok).toBe(true);
  });

  it('accepts empty metrics with a warning: the gate decides', () => {
    expect(parseSummary(withField('metrics', {}))).toEqual({
      ok: true,
      summary: { ...minimal, metrics: {} },
      warnings: ['metrics is empty: the quality gate has no number to check'],
    });
  });

  it('accepts data with a ref and no rows, and rows 0', () => {
    expect(parseSummary(withField('data', { ref: 'x' }))).toMatchObject({
      ok: true,
      summary: { data: { ref: 'x' } },
    });
    expect(parseSummary(withField('data', { ref: 'x', rows: 0 }))).toMatchObject({
      ok: true,
      summary: { data: { ref: 'x', rows: 0 } },
    });
  });

  it.each(['1', 'v1.2.3', 'release_2026-12-02', 'A' + 'b'.repeat(62)])(
    'accepts the version label %s',
    (v) => {
      expect(parseSummary(withField('version', v))).toMatchObject({ ok: true, summary: { version: v } });
    },
  );

  it('ignores unknown keys at the top level and in data, and names each in a warning', () => {
    const r = parseSummary(
      json({ ...minimal, trainer: 'sklearn', data: { ref: 'x', seed: 1 }, extra: null }),
    );
    expect(r).toEqual({
      ok: true,
      summary: { ...minimal, data: { ref: 'x' } },
      warnings: [
        "unknown field 'trainer' ignored",
        "unknown field 'extra' ignored",
        "unknown field 'data.seed' ignored",
      ],
    });
  });

  it('accepts a summary of exactly 4096 bytes (multi-byte characters counted as bytes)', () => {
    const base = json({ ...minimal, data: { ref: '' } });
    const ref = 'é'.repeat((4096 - base.length) / 2);
    const message = json({ ...minimal, data: { ref } });
    expect(new TextEncoder().encode(message).length).toBe(4096);
    expect(parseSummary(message).ok).toBe(true);
  });

  it('keeps a metric named like an Object.prototype member as an own number', () => {
    const r = parseSummary(withField('metrics', { constructor: 1, toString: 2 }));
    expect(r.ok && Object.getOwnPropertyNames(r.summary.metrics)).toEqual(['constructor', 'toString']);
    expect(r.ok && r.summary.metrics.constructor).toBe(1);
  });
});

describe('parseSummary: every malformed summary is refused with a reason that names the problem', () => {
  const longSha = 'f'.repeat(200);
  const cases: [string, string, string | RegExp][] = [
    // Nothing there
    ['empty', '', 'termination message is empty: the job wrote no summary to /dev/termination-log'],
    [
      'whitespace only',
      ' \n\t \n',
      'termination message is empty: the job wrote no summary to /dev/termination-log',
    ],
    // Not JSON
    [
      'plain text (a log line)',
      'Traceback (most recent call last):',
      /^not JSON: .*\(the message begins 'Traceback/,
    ],
    [
      'truncated JSON',
      json(full).slice(0, 40),
      /^not JSON: .*; it looks cut off after 40 bytes \(the message begins/,
    ],
    ['two JSON documents', `${json(minimal)}\n${json(minimal)}`, /^not JSON: /],
    ['a trailing comma', '{"model":"model.onnx",}', /^not JSON: /],
    ['single quotes', "{'model':'model.onnx'}", /^not JSON: /],
    ['NaN as a bare literal', json(minimal).replace('0.97', 'NaN'), /^not JSON: /],
    ['Infinity as a bare literal', json(minimal).replace('0.97', 'Infinity'), /^not JSON: /],
    // JSON, but not an object
    ['JSON array', json([minimal]), 'the summary must be a JSON object, got an array'],
    ['JSON null', 'null', 'the summary must be a JSON object, got null'],
    ['JSON string', '"model.onnx"', "the summary must be a JSON object, got the string 'model.onnx'"],
    ['JSON number', '42', 'the summary must be a JSON object, got the number 42'],
    ['JSON true', 'true', 'the summary must be a JSON object, got true'],
    ['empty object', '{}', 'model is missing: the path of the ONNX file in the output folder'],
    // Missing required fields
    ['model missing', without('model'), 'model is missing: the path of the ONNX file in the output folder'],
    [
      'sha256 missing',
      without('sha256'),
      'sha256 is missing: the SHA-256 of the model file, 64 hex characters',
    ],
    ['metrics missing', without('metrics'), 'metrics is missing: an object of metric names and numbers'],
    // Wrong types
    [
      'model a number',
      withField('model', 1),
      'model must be a string (a path relative to the output folder), got the number 1',
    ],
    [
      'model null',
      withField('model', null),
      'model must be a string (a path relative to the output folder), got null',
    ],
    [
      'model an object',
      withField('model', { path: 'm' }),
      'model must be a string (a path relative to the output folder), got an object',
    ],
    [
      'sha256 a number',
      withField('sha256', 123),
      'sha256 must be a string of 64 hex characters, got the number 123',
    ],
    [
      'metrics an array',
      withField('metrics', [0.9]),
      'metrics must be an object of metric names and numbers, got an array',
    ],
    [
      'metrics null',
      withField('metrics', null),
      'metrics must be an object of metric names and numbers, got null',
    ],
    [
      'metrics a number',
      withField('metrics', 0.9),
      'metrics must be an object of metric names and numbers, got the number 0.9',
    ],
    [
      'metricsFile a boolean',
      withField('metricsFile', true),
      'metricsFile must be a string (a path relative to the output folder), got true',
    ],
    [
      'holdout an array',
      withField('holdout', ['h.json']),
      'holdout must be a string (a path relative to the output folder), got an array',
    ],
    ['version a number', withField('version', 7), 'version must be a string, got the number 7'],
    [
      'data a string',
      withField('data', 'sklearn'),
      "data must be an object with ref and rows, got the string 'sklearn'",
    ],
    ['data null', withField('data', null), 'data must be an object with ref and rows, got null'],
    [
      'data without ref',
      withField('data', { rows: 3 }),
      'data.ref is missing: the reference of the training data',
    ],
    ['data.ref a number', withField('data', { ref: 3 }), 'data.ref must be a string, got the number 3'],
    [
      'data.ref blank',
      withField('data', { ref: '  ' }),
      'data.ref is empty: the reference of the training data',
    ],
    [
      'data.rows negative',
      withField('data', { ref: 'x', rows: -1 }),
      'data.rows must be a non-negative integer, got the number -1',
    ],
    [
      'data.rows fractional',
      withField('data', { ref: 'x', rows: 1.5 }),
      'data.rows must be a non-negative integer, got the number 1.5',
    ],
    [
      'data.rows a string',
      withField('data', { ref: 'x', rows: '455' }),
      "data.rows must be a non-negative integer, got the string '455'",
    ],
    [
      'data.rows beyond safe integers',
      withField('data', { ref: 'x', rows: 2 ** 60 }),
      /^data.rows must be a non-negative integer/,
    ],
    // sha256 values
    [
      'sha256 too short',
      withField('sha256', 'abc'),
      "sha256 must be 64 hex characters, got 'abc' (3 characters)",
    ],
    [
      'sha256 one too many',
      withField('sha256', SHA + 'a'),
      /^sha256 must be 64 hex characters, got 'a+…' \(65 characters\)$/,
    ],
    ['sha256 empty', withField('sha256', ''), "sha256 must be 64 hex characters, got '' (0 characters)"],
    [
      'sha256 not hex',
      withField('sha256', 'g'.repeat(64)),
      /^sha256 must be 64 hex characters, got 'g+…' \(64 characters\)$/,
    ],
    [
      'sha256 with a prefix',
      withField('sha256', `sha256:${SHA}`),
      /^sha256 must be 64 hex characters, got 'sha256:a+…' \(71 characters\)$/,
    ],
    [
      'sha256 with spaces',
      withField('sha256', ` ${SHA} `),
      /^sha256 must be 64 hex characters, .*\(66 characters\)$/,
    ],
    [
      'sha256 huge (quoted shortened)',
      withField('sha256', longSha),
      `sha256 must be 64 hex characters, got '${'f'.repeat(60)}…' (200 characters)`,
    ],
    // Metrics
    [
      'metric a string number',
      withField('metrics', { accuracy: '0.97' }),
      "metrics.accuracy is not a finite number, got the string '0.97'",
    ],
    [
      'metric "NaN" as a string',
      withField('metrics', { accuracy: 'NaN' }),
      "metrics.accuracy is not a finite number, got the string 'NaN'",
    ],
    [
      'metric "Infinity" as a string',
      withField('metrics', { rmse: 'Infinity' }),
      "metrics.rmse is not a finite number, got the string 'Infinity'",
    ],
    [
      'metric overflowing to Infinity',
      json(minimal).replace('0.97', '1e999'),
      'metrics.accuracy is not a finite number, got the number Infinity',
    ],
    [
      'metric null (how JSON.stringify writes NaN)',
      withField('metrics', { accuracy: NaN }),
      'metrics.accuracy is not a finite number, got null',
    ],
    ['metric a boolean', withField('metrics', { ok: true }), 'metrics.ok is not a finite number, got true'],
    [
      'metric nested',
      withField('metrics', { test: { accuracy: 1 } }),
      'metrics.test is not a finite number, got an object',
    ],
    [
      'metric an array',
      withField('metrics', { accuracy: [1] }),
      'metrics.accuracy is not a finite number, got an array',
    ],
    [
      'the second metric bad',
      withField('metrics', { accuracy: 1, f1: 'x' }),
      "metrics.f1 is not a finite number, got the string 'x'",
    ],
    [
      'metric name with a space',
      withField('metrics', { 'my metric': 1 }),
      /^metric name 'my metric' is not allowed: a letter or '_' first/,
    ],
    [
      'metric name starting with a digit',
      withField('metrics', { '1acc': 1 }),
      /^metric name '1acc' is not allowed/,
    ],
    ['metric name empty', withField('metrics', { '': 1 }), /^metric name '' is not allowed/],
    ['metric name with a slash', withField('metrics', { 'a/b': 1 }), /^metric name 'a\/b' is not allowed/],
    [
      'metric name __proto__',
      '{"model":"m.onnx","sha256":"' + SHA + '","metrics":{"__proto__":1}}',
      /^metric name '__proto__' is not allowed/,
    ],
    [
      `more than ${MAX_METRICS} metrics`,
      withField(
        'metrics',
        Object.fromEntries(Array.from({ length: MAX_METRICS + 1 }, (_, i) => [`m${i}`, i])),
      ),
      `metrics has ${MAX_METRICS + 1} entries, more than the ${MAX_METRICS} allowed`,
    ],
    // Paths
    ['model path empty', withField('model', ''), 'model path is empty'],
    [
      'model path leaving the folder',
      withField('model', '../x'),
      "model path '../x' leaves the output folder",
    ],
    [
      'model path leaving in the middle',
      withField('model', 'a/../../x'),
      "model path 'a/../../x' leaves the output folder",
    ],
    ['model path that is only ..', withField('model', '..'), "model path '..' leaves the output folder"],
    [
      'model path absolute',
      withField('model', '/etc/passwd'),
      "model path '/etc/passwd' is absolute: it must be relative to the run's output folder",
    ],
    [
      'model path a Windows drive',
      withField('model', 'C:/model.onnx'),
      "model path 'C:/model.onnx' is absolute: it must be relative to the run's output folder",
    ],
    [
      'model path with backslashes',
      withField('model', 'out\\model.onnx'),
      "model path 'out\\\\model.onnx' contains a backslash: use '/' between folders",
    ],
    [
      'model path escaping with backslashes',
      withField('model', '..\\..\\x'),
      /^model path .* contains a backslash/,
    ],
    [
      'model path a URI',
      withField('model', 's3://bucket/model.onnx'),
      "model path 's3://bucket/model.onnx' is a URI: it must be a path relative to the run's output folder",
    ],
    [
      'model path with a double slash',
      withField('model', 'out//model.onnx'),
      "model path 'out//model.onnx' has an empty segment (a '//' or a trailing '/')",
    ],
    [
      'model path a folder',
      withField('model', 'out/'),
      "model path 'out/' has an empty segment (a '//' or a trailing '/')",
    ],
    ['model path only .', withField('model', '.'), "model path '.' names the output folder, not a file"],
    [
      'model path with NUL',
      withField('model', 'model.onnx\u0000.txt'),
      "model path 'model.onnx\\u0000.txt' contains a control character",
    ],
    [
      'model path with a newline',
      withField('model', 'model\n.onnx'),
      "model path 'model\\n.onnx' contains a control character",
    ],
    [
      'metricsFile leaving the folder',
      withField('metricsFile', '../../metrics.json'),
      "metricsFile path '../../metrics.json' leaves the output folder",
    ],
    [
      'holdout absolute',
      withField('holdout', '/data/holdout.json'),
      "holdout path '/data/holdout.json' is absolute: it must be relative to the run's output folder",
    ],
    ['metricsFile empty', withField('metricsFile', ''), 'metricsFile path is empty'],
    // Version label
    ['version empty', withField('version', ''), /^version '' is not a valid label: 1 to 63 letters/],
    ['version starting with a dot', withField('version', '.v1'), /^version '.v1' is not a valid label/],
    ['version with a space', withField('version', 'v 1'), /^version 'v 1' is not a valid label/],
    ['version with a slash', withField('version', 'a/b'), /^version 'a\/b' is not a valid label/],
    ['version 64 characters', withField('version', 'v'.repeat(64)), /^version 'v+…' is not a valid label/],
  ];

  it.each(cases)('%s', (_name, message, expected) => {
    const r = parseSummary(message);
    expect(r.ok).toBe(false);
    if (typeof expected === 'string') expect(reasonOf(r)).toBe(expected);
    else expect(reasonOf(r)).toMatch(expected);
  });

  it('refuses a message longer than the 4096 bytes Kubernetes keeps, counting bytes, not characters', () => {
    const base = json({ ...minimal, data: { ref: '' } });
    const message = json({ ...minimal, data: { ref: 'é'.repeat((4096 - base.length) / 2 + 1) } });
    expect(message.length).toBeLessThan(4096);
    expect(reasonOf(parseSummary(message))).toBe(
      'termination message is 4098 bytes, more than the 4096 Kubernetes keeps: it cannot be a complete summary',
    );
  });

  it('refuses a huge message without quoting it whole', () => {
    const r = parseSummary(json({ ...minimal, junk: 'x'.repeat(1_000_000) }));
    expect(reasonOf(r)).toMatch(/^termination message is 1000\d+ bytes, more than the 4096/);
    expect(reasonOf(r).length).toBeLessThan(200);
  });

  it('says a summary cut off at the limit looks cut off, and quotes only its beginning', () => {
    const message = json({ ...minimal, data: { ref: 'x'.repeat(5000) } }).slice(0, 4096);
    const reason = reasonOf(parseSummary(message));
    expect(reason).toMatch(
      /^not JSON: .*; it looks cut off after 4096 bytes \(the message begins '\{"model":"model.onnx"/,
    );
    expect(reason.length).toBeLessThan(300);
  });

  it('reports the first problem in field order: model, sha256, metrics, paths, data, version', () => {
    const bad = { model: '../m', sha256: 'x', metrics: null, data: 1, version: '' };
    expect(reasonOf(parseSummary(json(bad)))).toBe("model path '../m' leaves the output folder");
    expect(reasonOf(parseSummary(json({ ...bad, model: 'm' })))).toMatch(/^sha256 /);
    expect(reasonOf(parseSummary(json({ ...bad, model: 'm', sha256: SHA })))).toMatch(/^metrics /);
  });
});

describe('relativePathProblem', () => {
  it.each(['model.onnx', 'a/b/c.onnx', './model.onnx', '.hidden', 'a..b', '...', 'a:b.onnx', 'é/ü.onnx'])(
    '%s is fine',
    (p) => {
      expect(relativePathProblem('model', p)).toBeUndefined();
    },
  );
});
