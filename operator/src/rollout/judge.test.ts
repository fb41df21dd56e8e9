import { describe, expect, it } from '@jest/globals';
import { judge, overall, type MetricCheck, type Measurement, type Verdict } from './judge.js';

const errorRate = (mode: MetricCheck['mode'], threshold: number, minSamples = 20): MetricCheck => ({
  metric: 'errorRate',
  mode,
  threshold,
  minSamples,
});
const latency = (mode: MetricCheck['mode'], threshold: number, minSamples = 20): MetricCheck => ({
  metric: 'latencyP99',
  mode,
  threshold,
  minSamples,
});
const m = (samples: number, value?: number): Measurement => ({ samples, value });

describe('judge', () => {
  const cases: [string, MetricCheck, Measurement, Measurement, Partial<Verdict>][] = [
    [
      'absolute error rate within',
      errorRate('absolute', 0.05),
      m(100, 0.01),
      m(900, 0),
      { verdict: 'Pass', limit: 0.05 },
    ],
    [
      'absolute error rate at the limit passes',
      errorRate('absolute', 0.05),
      m(100, 0.05),
      m(0),
      { verdict: 'Pass' },
    ],
    [
      'absolute error rate above',
      errorRate('absolute', 0.05),
      m(100, 0.2),
      m(900, 0),
      { verdict: 'Fail', reason: 'errorRate 20% above 5% (100 requests)' },
    ],
    [
      'relative error rate: stable fails too, the canary no worse',
      errorRate('relativeToStable', 0.01),
      m(100, 0.1),
      m(900, 0.095),
      { verdict: 'Pass', limit: 0.105 },
    ],
    [
      'relative error rate: worse than stable by more than allowed',
      errorRate('relativeToStable', 0.01),
      m(100, 0.03),
      m(900, 0),
      { verdict: 'Fail', reason: 'errorRate 3% above stable 0% + 1% = 1% (100 requests)' },
    ],
    [
      'too few canary requests',
      errorRate('absolute', 0.05),
      m(12, 1),
      m(900, 0),
      {
        verdict: 'NoData',
        reason: 'errorRate: the canary served 12 of the 20 requests needed for a verdict',
      },
    ],
    [
      'no value although requests (no latency observed)',
      latency('absolute', 100),
      m(50),
      m(50, 20),
      { verdict: 'NoData', reason: 'latencyP99: no value for the canary although it served 50 requests' },
    ],
    [
      'relative latency: stable without enough traffic to compare',
      latency('relativeToStable', 50),
      m(100, 30),
      m(3, 10),
      {
        verdict: 'NoData',
        reason: 'latencyP99: the stable version served 3 of the 20 requests needed to compare with',
      },
    ],
    [
      'relative latency above',
      latency('relativeToStable', 50),
      m(100, 130),
      m(900, 20),
      {
        verdict: 'Fail',
        limit: 70,
        reason: 'latencyP99 130ms above stable 20ms + 50ms = 70ms (100 requests)',
      },
    ],
    ['absolute latency within', latency('absolute', 250), m(100, 249.95), m(0), { verdict: 'Pass' }],
    [
      'accuracy at least its min passes (higher is better)',
      { metric: 'accuracy', mode: 'absolute', threshold: 0.9, minSamples: 20 },
      m(50, 0.92),
      m(0),
      { verdict: 'Pass', limit: 0.9, reason: 'accuracy 92% within 90% (50 ground-truth rows)' },
    ],
    [
      'accuracy below its min fails',
      { metric: 'accuracy', mode: 'absolute', threshold: 0.9, minSamples: 20 },
      m(50, 0.5),
      m(0),
      { verdict: 'Fail', reason: 'accuracy 50% below 90% (50 ground-truth rows)' },
    ],
    [
      'accuracy more than the tolerance below stable fails',
      { metric: 'accuracy', mode: 'relativeToStable', threshold: 0.02, minSamples: 20 },
      m(50, 0.9),
      m(400, 0.95),
      {
        verdict: 'Fail',
        limit: 0.95 - 0.02,
        reason: 'accuracy 90% below stable 95% − 2% = 93% (50 ground-truth rows)',
      },
    ],
    [
      'accuracy without enough ground truth says so',
      { metric: 'accuracy', mode: 'absolute', threshold: 0.9, minSamples: 20 },
      m(5, 1),
      m(0),
      {
        verdict: 'NoData',
        reason: 'accuracy: the canary has 5 of the 20 ground-truth rows needed for a verdict',
      },
    ],
    [
      'mean absolute error is lower-is-better',
      { metric: 'meanAbsoluteError', mode: 'relativeToStable', threshold: 0.1, minSamples: 10 },
      m(30, 0.45),
      m(30, 0.3),
      {
        verdict: 'Fail',
        reason: 'meanAbsoluteError 0.45 above stable 0.3 + 0.1 = 0.4 (30 ground-truth rows)',
      },
    ],
    [
      'agreement of mirrored requests below the threshold fails',
      { metric: 'agreement', mode: 'absolute', threshold: 0.95, minSamples: 50 },
      m(60, 0.5),
      m(0),
      { verdict: 'Fail', reason: 'agreement 50% below 95% (60 compared requests)' },
    ],
  ];

  it.each(cases)('%s', (_name, check, canary, stable, expected) => {
    expect(judge(check, canary, stable)).toMatchObject(expected);
  });
});

describe('overall', () => {
  const v = (verdict: Verdict['verdict']) => ({ verdict }) as Verdict;
  it.each([
    [['Pass', 'Pass'], 'Pass'],
    [['Pass', 'NoData'], 'NoData'],
    [['NoData', 'Fail'], 'Fail'],
    [[], 'Pass'],
  ] as [Verdict['verdict'][], string][])('%j is %s', (verdicts, expected) => {
    expect(overall(verdicts.map(v))).toBe(expected);
  });
});
