import { describe, expect, it } from '@jest/globals';
import {
  evaluateGate,
  fmt,
  metricChecks,
  shapesCompatible,
  signatureChecks,
  type GateCheck,
  type GateInput,
  type MetricRule,
  type PromotionPolicy,
  type Signature,
} from './gate.js';

const policy = (metrics: MetricRule[], extra: Partial<PromotionPolicy> = {}): PromotionPolicy => ({
  mode: 'Manual',
  metrics,
  ...extra,
});
const t = (name: string, datatype: string, shape: number[]) => ({ name, datatype, shape });
const iris: Signature = {
  inputs: [t('features', 'FP32', [-1, 4])],
  outputs: [t('probabilities', 'FP32', [-1, 3]), t('label', 'INT64', [-1])],
};

describe('metricChecks', () => {
  type Case = [string, MetricRule, Record<string, number>, Record<string, number> | undefined, GateCheck[]];
  const cases: Case[] = [
    // min / max, inclusive
    [
      'above the minimum',
      { name: 'accuracy', min: 0.9 },
      { accuracy: 0.97 },
      undefined,
      [{ name: 'accuracy.min', passed: true, message: 'accuracy 0.97 is at least the minimum 0.9' }],
    ],
    [
      'at the minimum passes (inclusive)',
      { name: 'accuracy', min: 0.9 },
      { accuracy: 0.9 },
      undefined,
      [{ name: 'accuracy.min', passed: true, message: 'accuracy 0.9 is at least the minimum 0.9' }],
    ],
    [
      'below the minimum',
      { name: 'accuracy', min: 0.9 },
      { accuracy: 0.87 },
      undefined,
      [{ name: 'accuracy.min', passed: false, message: 'accuracy 0.87 is below the minimum 0.9' }],
    ],
    [
      'just below the minimum is not rounded up in the message',
      { name: 'accuracy', min: 0.9 },
      { accuracy: 0.8999999 },
      undefined,
      [{ name: 'accuracy.min', passed: false, message: 'accuracy 0.8999999 is below the minimum 0.9' }],
    ],
    [
      'at the maximum passes (inclusive)',
      { name: 'rmse', max: 5 },
      { rmse: 5 },
      undefined,
      [{ name: 'rmse.max', passed: true, message: 'rmse 5 is at most the maximum 5' }],
    ],
    [
      'above the maximum',
      { name: 'rmse', max: 5 },
      { rmse: 6.25 },
      undefined,
      [{ name: 'rmse.max', passed: false, message: 'rmse 6.25 is above the maximum 5' }],
    ],
    [
      'min and max both checked, both reported',
      { name: 'calibration', min: 0.5, max: 1.5 },
      { calibration: 2 },
      undefined,
      [
        { name: 'calibration.min', passed: true, message: 'calibration 2 is at least the minimum 0.5' },
        { name: 'calibration.max', passed: false, message: 'calibration 2 is above the maximum 1.5' },
      ],
    ],
    [
      'a minimum of 0 with a negative value',
      { name: 'r2', min: 0 },
      { r2: -0.3 },
      undefined,
      [{ name: 'r2.min', passed: false, message: 'r2 -0.3 is below the minimum 0' }],
    ],
    // notWorseThanStable, higher is better (the default)
    [
      'better than stable',
      { name: 'accuracy', notWorseThanStable: true },
      { accuracy: 0.95 },
      { accuracy: 0.9 },
      [
        {
          name: 'accuracy.notWorseThanStable',
          passed: true,
          message: "accuracy 0.95 is better than the stable version's 0.9",
        },
      ],
    ],
    [
      'equal to stable, no tolerance',
      { name: 'accuracy', notWorseThanStable: true },
      { accuracy: 0.9 },
      { accuracy: 0.9 },
      [
        {
          name: 'accuracy.notWorseThanStable',
          passed: true,
          message: "accuracy 0.9 is equal to the stable version's 0.9",
        },
      ],
    ],
    [
      'slightly worse, no tolerance: fails',
      { name: 'accuracy', notWorseThanStable: true },
      { accuracy: 0.899 },
      { accuracy: 0.9 },
      [
        {
          name: 'accuracy.notWorseThanStable',
          passed: false,
          message: "accuracy 0.899 is worse than the stable version's 0.9",
        },
      ],
    ],
    [
      'worse within the tolerance',
      { name: 'accuracy', notWorseThanStable: true, tolerance: 0.05 },
      { accuracy: 0.88 },
      { accuracy: 0.9 },
      [
        {
          name: 'accuracy.notWorseThanStable',
          passed: true,
          message: "accuracy 0.88 is worse than the stable version's 0.9 by 0.02, within the tolerance 0.05",
        },
      ],
    ],
    [
      'worse by exactly the tolerance passes although 0.9 - 0.05 is 0.8500000000000001 in binary',
      { name: 'accuracy', notWorseThanStable: true, tolerance: 0.05 },
      { accuracy: 0.85 },
      { accuracy: 0.9 },
      [
        {
          name: 'accuracy.notWorseThanStable',
          passed: true,
          message: "accuracy 0.85 is worse than the stable version's 0.9 by 0.05, within the tolerance 0.05",
        },
      ],
    ],
    [
      'worse by more than the tolerance',
      { name: 'accuracy', notWorseThanStable: true, tolerance: 0.05 },
      { accuracy: 0.8499 },
      { accuracy: 0.9 },
      [
        {
          name: 'accuracy.notWorseThanStable',
          passed: false,
          message: "accuracy 0.8499 is worse than the stable version's 0.9 by more than the tolerance 0.05",
        },
      ],
    ],
    // notWorseThanStable, lower is better
    [
      'rmse lower than stable',
      { name: 'rmse', notWorseThanStable: true, higherIsBetter: false },
      { rmse: 3.5 },
      { rmse: 3.9 },
      [
        {
          name: 'rmse.notWorseThanStable',
          passed: true,
          message: "rmse 3.5 is better than the stable version's 3.9",
        },
      ],
    ],
    [
      'rmse higher than stable by more than the tolerance',
      { name: 'rmse', notWorseThanStable: true, higherIsBetter: false, tolerance: 0.1 },
      { rmse: 4.2 },
      { rmse: 3.9 },
      [
        {
          name: 'rmse.notWorseThanStable',
          passed: false,
          message: "rmse 4.2 is worse than the stable version's 3.9 by more than the tolerance 0.1",
        },
      ],
    ],
    [
      'rmse higher by exactly the tolerance passes (3.9 + 0.1 in binary)',
      { name: 'rmse', notWorseThanStable: true, higherIsBetter: false, tolerance: 0.1 },
      { rmse: 4 },
      { rmse: 3.9 },
      [
        {
          name: 'rmse.notWorseThanStable',
          passed: true,
          message: "rmse 4 is worse than the stable version's 3.9 by 0.1, within the tolerance 0.1",
        },
      ],
    ],
    [
      'rmse higher, no tolerance',
      { name: 'rmse', notWorseThanStable: true, higherIsBetter: false },
      { rmse: 3.91 },
      { rmse: 3.9 },
      [
        {
          name: 'rmse.notWorseThanStable',
          passed: false,
          message: "rmse 3.91 is worse than the stable version's 3.9",
        },
      ],
    ],
    [
      'higherIsBetter true stated explicitly',
      { name: 'auc', notWorseThanStable: true, higherIsBetter: true },
      { auc: 0.7 },
      { auc: 0.8 },
      [
        {
          name: 'auc.notWorseThanStable',
          passed: false,
          message: "auc 0.7 is worse than the stable version's 0.8",
        },
      ],
    ],
    [
      'large values: the slack stays far below a real difference',
      { name: 'throughput', notWorseThanStable: true },
      { throughput: 999_999 },
      { throughput: 1_000_000 },
      [
        {
          name: 'throughput.notWorseThanStable',
          passed: false,
          message: "throughput 999999 is worse than the stable version's 1000000",
        },
      ],
    ],
    // Nothing to compare with
    [
      'no stable version with metrics',
      { name: 'accuracy', notWorseThanStable: true },
      { accuracy: 0.5 },
      undefined,
      [
        {
          name: 'accuracy.notWorseThanStable',
          passed: true,
          message: 'accuracy: no stable version with metrics to compare with',
        },
      ],
    ],
    [
      'the stable version lacks this metric',
      { name: 'f1', notWorseThanStable: true },
      { f1: 0.5 },
      { accuracy: 0.9 },
      [
        {
          name: 'f1.notWorseThanStable',
          passed: true,
          message: 'f1: the stable version reports no f1, nothing to compare with',
        },
      ],
    ],
    [
      "the stable version's value is NaN: nothing to compare with",
      { name: 'f1', notWorseThanStable: true },
      { f1: 0.5 },
      { f1: NaN },
      [
        {
          name: 'f1.notWorseThanStable',
          passed: true,
          message: 'f1: the stable version reports no f1, nothing to compare with',
        },
      ],
    ],
    [
      'no stable to compare with, but the minimum still applies',
      { name: 'accuracy', min: 0.9, notWorseThanStable: true },
      { accuracy: 0.5 },
      undefined,
      [
        { name: 'accuracy.min', passed: false, message: 'accuracy 0.5 is below the minimum 0.9' },
        {
          name: 'accuracy.notWorseThanStable',
          passed: true,
          message: 'accuracy: no stable version with metrics to compare with',
        },
      ],
    ],
    [
      'notWorseThanStable false: no comparison',
      { name: 'accuracy', min: 0.1, notWorseThanStable: false },
      { accuracy: 0.5 },
      { accuracy: 0.9 },
      [{ name: 'accuracy.min', passed: true, message: 'accuracy 0.5 is at least the minimum 0.1' }],
    ],
    // Missing or unusable candidate values
    [
      'missing from the candidate',
      { name: 'accuracy', min: 0.9, notWorseThanStable: true },
      { f1: 0.9, 'holdout.accuracy': 0.95 },
      { accuracy: 0.9 },
      [
        {
          name: 'accuracy',
          passed: false,
          message: "accuracy is missing from the candidate's metrics: it reports f1, holdout.accuracy",
        },
      ],
    ],
    [
      'the candidate has no metrics at all',
      { name: 'accuracy', min: 0.9 },
      {},
      undefined,
      [
        {
          name: 'accuracy',
          passed: false,
          message: "accuracy is missing from the candidate's metrics: it reports none",
        },
      ],
    ],
    [
      'a NaN candidate value counts as missing',
      { name: 'accuracy', max: 1 },
      { accuracy: NaN },
      undefined,
      [
        {
          name: 'accuracy',
          passed: false,
          message:
            "accuracy is missing from the candidate's metrics (its value NaN is not a finite number): it reports accuracy",
        },
      ],
    ],
    [
      'an Infinity candidate value counts as missing',
      { name: 'loss', max: 1 },
      { loss: Infinity },
      undefined,
      [
        {
          name: 'loss',
          passed: false,
          message:
            "loss is missing from the candidate's metrics (its value Infinity is not a finite number): it reports loss",
        },
      ],
    ],
    [
      'a metric named like an Object.prototype member is not found on the prototype',
      { name: 'constructor', min: 0 },
      {},
      undefined,
      [
        {
          name: 'constructor',
          passed: false,
          message: "constructor is missing from the candidate's metrics: it reports none",
        },
      ],
    ],
    [
      'a holdout metric from validation',
      { name: 'holdout.accuracy', min: 0.9 },
      { accuracy: 0.99, 'holdout.accuracy': 0.91 },
      undefined,
      [
        {
          name: 'holdout.accuracy.min',
          passed: true,
          message: 'holdout.accuracy 0.91 is at least the minimum 0.9',
        },
      ],
    ],
    // A rule with nothing but a name requires the metric
    [
      'a rule without limits requires the metric to be present',
      { name: 'auc' },
      { auc: 0.8 },
      undefined,
      [{ name: 'auc', passed: true, message: 'auc 0.8 is reported; the policy sets no limit on it' }],
    ],
    [
      'a rule without limits fails when the metric is absent',
      { name: 'auc' },
      { accuracy: 0.8 },
      undefined,
      [
        {
          name: 'auc',
          passed: false,
          message: "auc is missing from the candidate's metrics: it reports accuracy",
        },
      ],
    ],
    // Broken rules fail closed
    [
      'min above max',
      { name: 'accuracy', min: 0.9, max: 0.8 },
      { accuracy: 0.85 },
      undefined,
      [
        {
          name: 'accuracy',
          passed: false,
          message: "the policy's minimum 0.9 for accuracy is above its maximum 0.8: no value can pass",
        },
      ],
    ],
    [
      'negative tolerance',
      { name: 'accuracy', notWorseThanStable: true, tolerance: -0.1 },
      { accuracy: 0.85 },
      { accuracy: 0.8 },
      [
        {
          name: 'accuracy',
          passed: false,
          message: "the policy's tolerance for accuracy is -0.1; it must not be negative",
        },
      ],
    ],
    [
      'NaN minimum',
      { name: 'accuracy', min: NaN },
      { accuracy: 0.85 },
      undefined,
      [
        {
          name: 'accuracy',
          passed: false,
          message: "the policy's min for accuracy is NaN, not a finite number",
        },
      ],
    ],
    [
      'infinite maximum',
      { name: 'accuracy', max: Infinity },
      { accuracy: 0.85 },
      undefined,
      [
        {
          name: 'accuracy',
          passed: false,
          message: "the policy's max for accuracy is Infinity, not a finite number",
        },
      ],
    ],
  ];

  it.each(cases)('%s', (_name, rule, candidate, stable, expected) => {
    expect(metricChecks(rule, candidate, stable)).toEqual(expected);
  });
});

describe('shapesCompatible', () => {
  it.each([
    [[-1, 4], [-1, 4], true],
    [[1, 4], [-1, 4], true],
    [[-1, 4], [8, 4], true],
    [[-1, -1], [3, 7], true],
    [[], [], true],
    [[2, 4], [3, 4], false],
    [[-1, 4], [-1, 5], false],
    [[-1, 4], [-1, 4, 1], false],
    [[-1], [], false],
  ] as [number[], number[], boolean][])('%j with %j: %s', (a, b, expected) => {
    expect(shapesCompatible(a, b)).toBe(expected);
    expect(shapesCompatible(b, a)).toBe(expected);
  });
});

describe('signatureChecks', () => {
  const sig = (inputs: Signature['inputs'], outputs: Signature['outputs']): Signature => ({
    inputs,
    outputs,
  });

  it('passes the same signature, naming what matched', () => {
    expect(signatureChecks(iris, iris)).toEqual([
      { name: 'signature.inputs', passed: true, message: "inputs match the stable version's (features)" },
      {
        name: 'signature.outputs',
        passed: true,
        message: "outputs include the stable version's (probabilities, label)",
      },
    ]);
  });

  it('passes when there is no stable signature to compare with', () => {
    expect(signatureChecks(iris, undefined)).toEqual([
      { name: 'signature', passed: true, message: "no stable version's signature to compare with" },
    ]);
    expect(signatureChecks(undefined, undefined)[0]!.passed).toBe(true);
  });

  it("fails when the candidate's signature is unknown", () => {
    expect(signatureChecks(undefined, iris)).toEqual([
      {
        name: 'signature',
        passed: false,
        message:
          "the candidate's signature is unknown (validation did not report it): compatibility cannot be shown",
      },
    ]);
  });

  it('passes dynamic dimensions on either side and a fixed batch against a dynamic one', () => {
    const candidate = sig([t('features', 'FP32', [1, 4])], iris.outputs);
    expect(signatureChecks(candidate, iris).every((c) => c.passed)).toBe(true);
    const dynamic = sig([t('features', 'FP32', [-1, -1])], iris.outputs);
    expect(signatureChecks(dynamic, iris).every((c) => c.passed)).toBe(true);
  });

  it('passes extra outputs and a different order of inputs and outputs', () => {
    const two = sig([t('a', 'FP32', [-1]), t('b', 'INT64', [-1])], [t('y', 'FP32', [-1])]);
    const candidate = sig([two.inputs[1]!, two.inputs[0]!], [t('extra', 'FP32', [-1]), t('y', 'FP32', [-1])]);
    expect(signatureChecks(candidate, two).every((c) => c.passed)).toBe(true);
  });

  it('passes output shapes that changed: only names and datatypes of outputs are compared', () => {
    const candidate = sig(iris.inputs, [t('probabilities', 'FP32', [-1, 4]), t('label', 'INT64', [-1])]);
    expect(signatureChecks(candidate, iris).every((c) => c.passed)).toBe(true);
  });

  it('passes two models without inputs or outputs (degenerate but consistent)', () => {
    expect(signatureChecks(sig([], []), sig([], []))).toEqual([
      { name: 'signature.inputs', passed: true, message: "inputs match the stable version's (none)" },
      { name: 'signature.outputs', passed: true, message: "outputs include the stable version's (none)" },
    ]);
  });

  const failures: [string, Signature, string, string][] = [
    [
      'an input renamed',
      sig([t('x', 'FP32', [-1, 4])], iris.outputs),
      'signature.inputs',
      "inputs incompatible with the stable version's: input 'features' of the stable version is missing; input 'x' is new: the stable version's clients do not send it",
    ],
    [
      'an extra input',
      sig([...iris.inputs, t('mask', 'BOOL', [-1])], iris.outputs),
      'signature.inputs',
      "inputs incompatible with the stable version's: input 'mask' is new: the stable version's clients do not send it",
    ],
    [
      'an input with another datatype',
      sig([t('features', 'FP64', [-1, 4])], iris.outputs),
      'signature.inputs',
      "inputs incompatible with the stable version's: input 'features' is FP64, the stable version's is FP32",
    ],
    [
      'an input with another width',
      sig([t('features', 'FP32', [-1, 5])], iris.outputs),
      'signature.inputs',
      "inputs incompatible with the stable version's: input 'features' has shape [-1, 5], the stable version's is [-1, 4]",
    ],
    [
      'an input with another rank',
      sig([t('features', 'FP32', [-1])], iris.outputs),
      'signature.inputs',
      "inputs incompatible with the stable version's: input 'features' has shape [-1], the stable version's is [-1, 4]",
    ],
    [
      'an input with both datatype and shape changed: both named',
      sig([t('features', 'INT64', [4])], iris.outputs),
      'signature.inputs',
      "inputs incompatible with the stable version's: input 'features' is INT64, the stable version's is FP32; input 'features' has shape [4], the stable version's is [-1, 4]",
    ],
    [
      'an output missing',
      sig(iris.inputs, [t('label', 'INT64', [-1])]),
      'signature.outputs',
      "outputs incompatible with the stable version's: output 'probabilities' of the stable version is missing",
    ],
    [
      'an output with another datatype',
      sig(iris.inputs, [t('probabilities', 'FP32', [-1, 3]), t('label', 'STRING', [-1])]),
      'signature.outputs',
      "outputs incompatible with the stable version's: output 'label' is STRING, the stable version's is INT64",
    ],
    [
      'datatypes compare exactly (case matters, as the protocol spells them)',
      sig([t('features', 'fp32', [-1, 4])], iris.outputs),
      'signature.inputs',
      "inputs incompatible with the stable version's: input 'features' is fp32, the stable version's is FP32",
    ],
  ];

  it.each(failures)('fails %s', (_name, candidate, failing, message) => {
    const checks = signatureChecks(candidate, iris);
    expect(checks.map((c) => c.name)).toEqual(['signature.inputs', 'signature.outputs']);
    expect(checks.filter((c) => !c.passed)).toEqual([{ name: failing, passed: false, message }]);
  });

  it('fails inputs and outputs together, each with every problem', () => {
    const checks = signatureChecks(sig([], []), iris);
    expect(checks).toEqual([
      {
        name: 'signature.inputs',
        passed: false,
        message:
          "inputs incompatible with the stable version's: input 'features' of the stable version is missing",
      },
      {
        name: 'signature.outputs',
        passed: false,
        message:
          "outputs incompatible with the stable version's: output 'probabilities' of the stable version is missing; output 'label' of the stable version is missing",
      },
    ]);
  });
});

describe('evaluateGate', () => {
  const base: GateInput = {
    policy: policy([
      { name: 'accuracy', min: 0.9, notWorseThanStable: true, tolerance: 0.01 },
      { name: 'holdout.accuracy', min: 0.85 },
    ]),
    candidate: { accuracy: 0.95, f1: 0.94, 'holdout.accuracy': 0.93 },
    stable: { accuracy: 0.94 },
    candidateSignature: iris,
    stableSignature: iris,
  };

  it('passes a good candidate and lists every check, metrics first, then the signature', () => {
    const r = evaluateGate(base);
    expect(r.passed).toBe(true);
    expect(r.reasons).toEqual([]);
    expect(r.checks.map((c) => c.name)).toEqual([
      'accuracy.min',
      'accuracy.notWorseThanStable',
      'holdout.accuracy.min',
      'signature.inputs',
      'signature.outputs',
    ]);
    expect(r.checks.every((c) => c.passed)).toBe(true);
  });

  it('reports every failed check, not just the first', () => {
    const r = evaluateGate({
      ...base,
      candidate: { accuracy: 0.87, f1: 0.8 },
      candidateSignature: { inputs: [t('features', 'FP64', [-1, 4])], outputs: iris.outputs },
    });
    expect(r.passed).toBe(false);
    expect(r.reasons).toEqual([
      'accuracy 0.87 is below the minimum 0.9',
      "accuracy 0.87 is worse than the stable version's 0.94 by more than the tolerance 0.01",
      "holdout.accuracy is missing from the candidate's metrics: it reports accuracy, f1",
      "inputs incompatible with the stable version's: input 'features' is FP64, the stable version's is FP32",
    ]);
    expect(r.checks).toHaveLength(5);
    expect(r.checks.filter((c) => c.passed).map((c) => c.name)).toEqual(['signature.outputs']);
  });

  it('reasons are exactly the messages of the failed checks, in order', () => {
    const r = evaluateGate({ ...base, candidate: { accuracy: 0.5 } });
    expect(r.reasons).toEqual(r.checks.filter((c) => !c.passed).map((c) => c.message));
  });

  it('skips the signature when the policy does not require compatibility', () => {
    const r = evaluateGate({
      ...base,
      policy: { ...base.policy, requireCompatibleSignature: false },
      candidateSignature: { inputs: [], outputs: [] },
    });
    expect(r.passed).toBe(true);
    expect(r.checks.map((c) => c.name)).not.toContain('signature.inputs');
  });

  it('checks the signature by default and when required explicitly', () => {
    const bad = { ...base, candidateSignature: { inputs: [], outputs: iris.outputs } };
    expect(evaluateGate(bad).passed).toBe(false);
    expect(evaluateGate({ ...bad, policy: { ...bad.policy, requireCompatibleSignature: true } }).passed).toBe(
      false,
    );
  });

  it('passes the first version: no stable metrics, no stable signature', () => {
    const r = evaluateGate({ ...base, stable: undefined, stableSignature: undefined });
    expect(r.passed).toBe(true);
    expect(r.checks.map((c) => c.message)).toEqual([
      'accuracy 0.95 is at least the minimum 0.9',
      'accuracy: no stable version with metrics to compare with',
      'holdout.accuracy 0.93 is at least the minimum 0.85',
      "no stable version's signature to compare with",
    ]);
  });

  it('passes a policy with no metrics and no stable version: nothing to check', () => {
    expect(evaluateGate({ policy: policy([]), candidate: {} })).toEqual({
      passed: true,
      reasons: [],
      checks: [{ name: 'signature', passed: true, message: "no stable version's signature to compare with" }],
    });
  });

  it('the mode does not change the verdict', () => {
    const auto = evaluateGate({ ...base, policy: { ...base.policy, mode: 'Auto' } });
    expect(auto).toEqual(evaluateGate(base));
  });

  it('does not modify its inputs', () => {
    const input = structuredClone(base);
    evaluateGate(input);
    expect(input).toEqual(base);
  });
});

describe('fmt', () => {
  it.each([
    [0.1 + 0.2, '0.3'],
    [0.87, '0.87'],
    [4.2, '4.2'],
    [1_000_000, '1000000'],
    [-0.5, '-0.5'],
    [1e-7, '1e-7'],
    [0.8999999, '0.8999999'],
  ])('%p is %s', (n, s) => {
    expect(fmt(n)).toBe(s);
  });
});
