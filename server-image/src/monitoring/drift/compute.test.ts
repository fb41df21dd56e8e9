import { describe, expect, it } from '@jest/globals';
import { parseBaseline } from './baseline.js';
import { computeBaseline, numericFrequencies, quantileEdges, SampleError } from './compute.js';
import { parseCsv, parseJsonSample, parseSample } from './sample.js';

describe('quantileEdges', () => {
  it('takes the lower quantiles of the sample, duplicates dropped', () => {
    const values = [10, 1, 9, 2, 8, 3, 7, 4, 6, 5];
    // n = 10, 4 bins: v[ceil(2.5)−1] = v[2], v[4], v[ceil(7.5)−1] = v[7] of 1..10.
    expect(quantileEdges(values, 4)).toEqual([3, 5, 8]);
    expect(numericFrequencies(values, [3, 5, 8])).toEqual([0.3, 0.2, 0.3, 0.2]);
    expect(quantileEdges([1, 1, 1, 1, 2], 4)).toEqual([1]);
    expect(quantileEdges([NaN, 4], 2)).toEqual([4]);
  });
});

describe('computeBaseline', () => {
  it('writes numeric and categorical features that the server accepts', () => {
    const doc = computeBaseline(
      {
        columns: [
          [1, 2, 3, 4],
          ['a', 'b', 'a', 'a'],
        ],
        names: ['size', 'kind'],
      },
      { input: 'features', bins: 2, categorical: ['kind'] },
    );
    expect(doc).toEqual({
      version: 1,
      features: [
        { name: 'size', input: 'features', column: 0, kind: 'numeric', edges: [2], frequencies: [0.5, 0.5] },
        {
          name: 'kind',
          input: 'features',
          column: 1,
          kind: 'categorical',
          values: ['a', 'b'],
          frequencies: [0.75, 0.25, 0],
        },
      ],
    });
    expect(parseBaseline(doc).features).toHaveLength(2);
  });

  it('names features input[i] by default, the input alone for a one-feature [N] input', () => {
    const many = computeBaseline(
      {
        columns: [
          [1, 2],
          [3, 4],
        ],
      },
      { input: 'x', bins: 2 },
    );
    expect(many.features.map((f) => [f.name, f.column])).toEqual([
      ['x[0]', 0],
      ['x[1]', 1],
    ]);
    const one = computeBaseline({ columns: [[1, 2]], oneFeature: true }, { input: 'x', bins: 2 });
    expect(one.features[0]).not.toHaveProperty('column');
    expect(one.features[0]!.name).toBe('x');
  });

  it('refuses what cannot give a baseline, saying why', () => {
    const s = { columns: [[1, 'x']] };
    expect(() => computeBaseline(s, { input: 'x', bins: 2 })).toThrow(
      /feature "x\[0\]", row 2: "x" is not a number/,
    );
    expect(() => computeBaseline(s, { input: 'x', bins: 2, featureNames: ['a', 'b'] })).toThrow(
      /--feature-names names 2 features, the sample has 1 columns/,
    );
    expect(() => computeBaseline(s, { input: 'x', bins: 2, categorical: ['nope'] })).toThrow(SampleError);
    expect(() => computeBaseline({ columns: [[NaN]] }, { input: 'x', bins: 2 })).toThrow(/has no values/);
  });
});

describe('sample files', () => {
  it('reads a CSV with a header, quotes and missing cells', () => {
    const s = parseCsv('a,"b, quoted",c\r\n1,x,2.5\n\n3,"y ""q""",\n');
    expect(s.names).toEqual(['a', 'b, quoted', 'c']);
    expect(s.columns[0]).toEqual([1, 3]);
    expect(s.columns[1]).toEqual(['x', 'y "q"']);
    expect(s.columns[2]![0]).toBe(2.5);
    expect(s.columns[2]![1]).toBeNaN();
  });

  it('reads a CSV without a header', () => {
    expect(parseCsv('1,2\n3,4\n')).toEqual({
      columns: [
        [1, 3],
        [2, 4],
      ],
    });
    expect(() => parseCsv('1,2\n3\n')).toThrow(/CSV line 2 has 1 fields, expected 2/);
  });

  it('reads a V2 request: [N, F] columns (FP32 rounded as the server sees it), [N] as one feature', () => {
    const s = parseJsonSample(
      {
        inputs: [
          {
            name: 'f',
            shape: [2, 2],
            datatype: 'FP32',
            data: [
              [0.1, 1],
              [2, 3],
            ],
          },
        ],
      },
      'f',
    );
    expect(s.columns).toEqual([
      [Math.fround(0.1), 2],
      [1, 3],
    ]);
    expect(
      parseJsonSample({ inputs: [{ name: 'f', shape: [2], datatype: 'INT64', data: [1, 2] }] }, 'f'),
    ).toEqual({
      columns: [[1, 2]],
      oneFeature: true,
    });
    expect(() => parseJsonSample({ inputs: [{ name: 'g', shape: [1], data: [1] }] }, 'f')).toThrow(
      /no input named "f" \(it has g\)/,
    );
    expect(() => parseJsonSample({ inputs: [{ name: 'f', shape: [2, 2], data: [1] }] }, 'f')).toThrow(
      /data must hold 4 values/,
    );
  });

  it('reads arrays of rows, of objects and of scalars', () => {
    expect(
      parseJsonSample(
        [
          [1, 'a'],
          [2, 'b'],
        ],
        'x',
      ).columns,
    ).toEqual([
      [1, 2],
      ['a', 'b'],
    ]);
    expect(
      parseJsonSample(
        [
          { p: 1, q: 2 },
          { q: 4, p: 3 },
        ],
        'x',
      ),
    ).toEqual({
      columns: [
        [1, 3],
        [2, 4],
      ],
      names: ['p', 'q'],
    });
    expect(parseJsonSample([1, 2], 'x')).toEqual({ columns: [[1, 2]], oneFeature: true });
    expect(() => parseSample('[]', 'rows.txt', 'x')).toThrow(/must be a \.csv or a \.json file/);
  });
});
