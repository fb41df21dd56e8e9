/**
 * @jest-environment ./server-image/test/support/onnx-environment.js
 */
/**
 * Input drift in the serving runtime: a real server with the iris model ([N, 4] FP32 in; label INT64 and
 * probabilities FP32 out) and a baseline written here; a known sample sent over HTTP; the PSI per feature on
 * /metrics against values computed by hand below. A bad or missing baseline leaves drift off and the model serving.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { irisModel } from '../../test/fixtures/onnx/models.js';
import { http, postJson } from './support/client.js';
import { startTestServer, waitUntil, type TestServer } from './support/server.js';

const L = 'model="iris",version="1",revision="test-rev"';
const EPSILON = 1e-4;

const BASELINE = {
  version: 1,
  features: [
    {
      name: 'sepal_length',
      input: 'features',
      column: 0,
      kind: 'numeric',
      edges: [0, 1, 2],
      frequencies: [0.25, 0.25, 0.25, 0.25],
    },
    { input: 'features', column: 1, kind: 'numeric', edges: [0, 1], frequencies: [0.2, 0.5, 0.3] },
    { input: 'features', column: 2, kind: 'numeric', edges: [0.5], frequencies: [0.5, 0.5] },
    { name: 'shifted', input: 'features', column: 3, kind: 'numeric', edges: [0.5], frequencies: [0.9, 0.1] },
    // Column 9 of a [N, 4] input: a warning, and never any samples.
    { input: 'features', column: 9, kind: 'numeric', edges: [0], frequencies: [0.5, 0.5] },
  ],
  outputs: [
    { output: 'label', kind: 'categorical', values: ['0', '1', '2'], frequencies: [0.3, 0.3, 0.4, 0] },
  ],
};

// The sample, 8 rows in two requests (5 + 3). Per column, the rows fall in these bins of the baseline:
//   col 0: -1 | 0.5 0.5 | 1.5 1.5 1.5 | 3 3   -> 1, 2, 3, 2 of 8
//   col 1: -0.5 | 0.5 0.5 0.5 0.5 | 2 2 2     -> 1, 4, 3 of 8
//   col 2: 0 0 0 0 | 1 1 1 1                  -> 4, 4 of 8: exactly the baseline
//   col 3: | 1 1 1 1 1 1 1 1                   -> 0, 8 of 8: all in the baseline's rare bin
const ROWS = [
  [-1, -0.5, 0, 1],
  [0.5, 0.5, 0, 1],
  [0.5, 0.5, 0, 1],
  [1.5, 0.5, 0, 1],
  [1.5, 0.5, 1, 1],
  [1.5, 2, 1, 1],
  [3, 2, 1, 1],
  [3, 2, 1, 1],
];
// PSI = Σ (a − e) ln(a / e), by hand; bins where a = e contribute 0.
const EXPECTED_PSI = {
  sepal_length: (0.125 - 0.25) * Math.log(0.125 / 0.25) + (0.375 - 0.25) * Math.log(0.375 / 0.25),
  'features[1]': (0.125 - 0.2) * Math.log(0.125 / 0.2) + (0.375 - 0.3) * Math.log(0.375 / 0.3),
  'features[2]': 0,
  // The empty bin counts as EPSILON.
  shifted: (EPSILON - 0.9) * Math.log(EPSILON / 0.9) + (1 - 0.1) * Math.log(1 / 0.1),
};

const request = (rows: number[][]) => ({
  inputs: [{ name: 'features', shape: [rows.length, 4], datatype: 'FP32', data: rows.flat() }],
});

async function metricsText(s: TestServer): Promise<string> {
  return (await http(`${s.metricsBase}/metrics`)).body.toString();
}

/** The value of a series given as `name{a="x",...}` in any label order; undefined when absent. */
function value(text: string, series: string): number | undefined {
  const key = (s: string) => {
    const m = /^([^{ ]+)(?:\{(.*)\})?$/.exec(s)!;
    return `${m[1]}{${(m[2] ?? '')
      .split(/,(?=[a-z_]+=")/)
      .filter(Boolean)
      .sort()
      .join(',')}}`;
  };
  const wanted = key(series);
  for (const line of text.split('\n')) {
    const space = line.lastIndexOf(' ');
    if (!line.startsWith('#') && space > 0 && key(line.slice(0, space)) === wanted)
      return Number(line.slice(space + 1));
  }
  return undefined;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelship-drift-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('input drift', () => {
  let s: TestServer;
  let text: string;
  beforeAll(async () => {
    const uri = join(dir, 'baseline.json');
    await writeFile(uri, JSON.stringify(BASELINE));
    s = await startTestServer(irisModel(), { modelName: 'iris', baselineUri: uri });
    await waitUntil(
      'the baseline is loaded',
      async () => value(await metricsText(s), `modelship_drift_baseline_loaded{${L}}`) === 1,
    );
    // Nothing seen yet: no PSI at all (not 0), an empty window.
    text = await metricsText(s);
    expect(value(text, `modelship_drift_window_samples{${L}}`)).toBe(0);
    expect(text).not.toMatch(/^modelship_drift_psi\{/m);
    expect((await postJson(`${s.base}/v2/models/iris/infer`, request(ROWS.slice(0, 5)))).status).toBe(200);
    expect((await postJson(`${s.base}/v2/models/iris/infer`, request(ROWS.slice(5)))).status).toBe(200);
    await waitUntil('the window holds the 8 rows', async () => {
      text = await metricsText(s);
      return value(text, `modelship_drift_window_samples{${L}}`) === 8;
    }).catch((err) => {
      throw new Error(
        `${err}\n${text
          .split('\n')
          .filter((l) => /drift|prediction/.test(l))
          .join('\n')}\n${JSON.stringify(s.logs.filter((l) => l.level !== 'debug'))}`,
      );
    });
  }, 60_000);
  afterAll(async () => {
    await s.stop();
  });

  it('exports each feature’s PSI against the baseline, as computed by hand', () => {
    expect(text).not.toContain('feature="features[9]"');
    for (const [feature, expected] of Object.entries(EXPECTED_PSI))
      expect(value(text, `modelship_drift_psi{${L},feature="${feature}"}`)).toBeCloseTo(expected, 9);
    expect(EXPECTED_PSI.shifted).toBeGreaterThan(5);
    expect(value(text, `modelship_drift_psi{${L},feature="features[2]"}`)).toBe(0);
  });

  it('exports the prediction distribution: classes of the label, values of the probabilities', () => {
    const classes = ['0', '1', '2'].map(
      (c) => value(text, `modelship_prediction_class_total{${L},output="label",class="${c}"}`) ?? 0,
    );
    expect(classes.reduce((a, b) => a + b, 0)).toBe(8);
    expect(value(text, `modelship_prediction_value_count{${L},output="probabilities"}`)).toBe(24);
    expect(value(text, `modelship_prediction_value_sum{${L},output="probabilities"}`)).toBeCloseTo(8, 4);
    // And the label's PSI against the baseline's outputs, from those counts.
    const a = classes.map((c) => Math.max(c / 8, EPSILON));
    const e = [0.3, 0.3, 0.4];
    const expected = a.reduce((sum, ai, i) => sum + (ai - e[i]!) * Math.log(ai / e[i]!), 0);
    expect(value(text, `modelship_prediction_psi{${L},output="label"}`)).toBeCloseTo(expected, 9);
    expect(value(text, `modelship_drift_dropped_total{${L}}`)).toBe(0);
  });

  it('warns about baseline entries the model cannot have', () => {
    expect(s.logs).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        problem: `features[9]: column 9 is beyond input "features"'s 4 columns`,
      }),
    );
  });
});

describe('a baseline that cannot be used', () => {
  it.each([
    [
      'invalid',
      { ...BASELINE, features: [{ ...BASELINE.features[0], frequencies: [0.5, 0.5, 0.5, 0.5] }] },
      /features\[0\]\.frequencies: must sum to 1/,
    ],
    ['not JSON', 'nope{', /not valid JSON/],
    ['missing', undefined, /could not be fetched/],
  ])(
    '%s: drift is off with a warning saying why, the model serves',
    async (_, content, warning) => {
      const uri = join(dir, `bad-${Math.random()}.json`);
      if (content !== undefined)
        await writeFile(uri, typeof content === 'string' ? content : JSON.stringify(content));
      const s = await startTestServer(irisModel(), { modelName: 'iris', baselineUri: uri });
      try {
        await waitUntil('the baseline is refused', async () =>
          s.logs.some((l) => l.level === 'warn' && /^drift monitoring is off/.test(String(l.message))),
        );
        const warned = s.logs.find((l) => /^drift monitoring is off/.test(String(l.message)))!;
        expect(String(warned.message)).toMatch(warning);
        expect((await postJson(`${s.base}/v2/models/iris/infer`, request(ROWS))).status).toBe(200);
        await waitUntil(
          'the predictions are counted',
          async () =>
            value(await metricsText(s), `modelship_prediction_value_count{${L},output="probabilities"}`) ===
            24,
        );
        const text = await metricsText(s);
        expect(value(text, `modelship_drift_baseline_loaded{${L}}`)).toBe(0);
        expect(value(text, `modelship_drift_window_samples{${L}}`)).toBe(0);
        expect(value(text, `modelship_model_ready{${L}}`)).toBe(1);
      } finally {
        await s.stop();
      }
    },
    60_000,
  );

  it('never logs a presigned baseline URL’s query string', async () => {
    const s = await startTestServer(irisModel(), {
      modelName: 'iris',
      baselineUri: `http://127.0.0.1:1/baseline.json?X-Amz-Signature=s3cr3t`,
      loadRetryDelayMs: 10,
    });
    try {
      await waitUntil('the baseline is refused', async () =>
        s.logs.some((l) => /^drift monitoring is off/.test(String(l.message))),
      );
      expect(s.logs.find((l) => l.message === 'starting')).toBeDefined();
      expect(JSON.stringify(s.logs)).not.toContain('s3cr3t');
    } finally {
      await s.stop();
    }
  }, 60_000);

  it('no --baseline-uri: no drift monitor, no drift or prediction series', async () => {
    const s = await startTestServer(irisModel(), { modelName: 'iris' });
    try {
      expect(s.server.drift).toBeUndefined();
      expect((await postJson(`${s.base}/v2/models/iris/infer`, request(ROWS))).status).toBe(200);
      // modelship_prediction_store_* is ground-truth feedback's, there with or without a baseline.
      expect(await metricsText(s)).not.toMatch(/modelship_(drift_|prediction_(class|value)_)/);
    } finally {
      await s.stop();
    }
  }, 60_000);
});
