/**
 * The quality gate: may a retrained version replace the stable one? Metric thresholds (`min`, `max`, inclusive),
 * "not worse than the stable version" within an absolute tolerance, and signature compatibility (the stable
 * version's clients keep working: same inputs, outputs a superset). Every check is evaluated and reported, not
 * only the first failure: a Rejected version's status lists everything that is wrong with it at once.
 *
 * Rules that are easy to get wrong:
 * - A metric the policy names but the candidate does not report fails: a gate must not pass by omission.
 * - "Not worse" with no stable value to compare with passes, saying so: the first version, or a stable model that
 *   came from the spec without metrics, must be able to pass (its min/max still apply).
 * - A NaN or infinite value counts as missing: it compares false with everything and would slip through.
 * Pure; table-tested.
 */

export interface MetricRule {
  name: string;
  /** Inclusive lower bound. */
  min?: number;
  /** Inclusive upper bound. */
  max?: number;
  notWorseThanStable?: boolean;
  /** How much worse than the stable version is still acceptable, in the metric's unit (absolute). Default 0. */
  tolerance?: number;
  /** Default true (accuracy); false for errors and losses (rmse). */
  higherIsBetter?: boolean;
}

export interface PromotionPolicy {
  mode: 'Manual' | 'Auto';
  metrics: MetricRule[];
  /** Default true. */
  requireCompatibleSignature?: boolean;
}

/** One input or output of a model, as the serving runtime reports it; -1 marks a dynamic dimension. */
export interface TensorSpec {
  name: string;
  datatype: string;
  shape: number[];
}

export interface Signature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

export interface GateInput {
  policy: PromotionPolicy;
  /** The summary's metrics plus validation's holdout metrics as `holdout.<name>`. */
  candidate: Record<string, number>;
  /** undefined when no stable ModelVersion has metrics (none yet, or the stable model came from the spec). */
  stable?: Record<string, number>;
  /** undefined when validation did not report one (which fails the signature check). */
  candidateSignature?: Signature;
  /** undefined when the stable version's signature is not known (nothing to compare with). */
  stableSignature?: Signature;
}

export interface GateCheck {
  /** `<metric>.min`, `<metric>.max`, `<metric>.notWorseThanStable`, `<metric>`, `signature.inputs`, `signature.outputs`. */
  name: string;
  passed: boolean;
  /** A sentence with the numbers. */
  message: string;
}

export interface GateResult {
  passed: boolean;
  /** The message of every failed check, in check order. */
  reasons: string[];
  /** Every check, passed or not, for the ModelVersion's status. */
  checks: GateCheck[];
}

export function evaluateGate(input: GateInput): GateResult {
  const checks = [
    ...input.policy.metrics.flatMap((rule) => metricChecks(rule, input.candidate, input.stable)),
    ...((input.policy.requireCompatibleSignature ?? true)
      ? signatureChecks(input.candidateSignature, input.stableSignature)
      : []),
  ];
  const reasons = checks.filter((c) => !c.passed).map((c) => c.message);
  return { passed: reasons.length === 0, reasons, checks };
}

/** The checks one rule asks for; a single failing check when the candidate lacks the metric or the rule is broken. */
export function metricChecks(
  rule: MetricRule,
  candidate: Record<string, number>,
  stable: Record<string, number> | undefined,
): GateCheck[] {
  const { name } = rule;
  const problem = ruleProblem(rule);
  if (problem) return [{ name, passed: false, message: problem }];
  const value = valueOf(candidate, name);
  if (value === undefined) {
    const has = Object.keys(candidate).sort();
    const listed = has.length === 0 ? 'it reports none' : `it reports ${has.join(', ')}`;
    const bad = Object.hasOwn(candidate, name)
      ? ` (its value ${candidate[name]} is not a finite number)`
      : '';
    return [
      { name, passed: false, message: `${name} is missing from the candidate's metrics${bad}: ${listed}` },
    ];
  }
  const checks: GateCheck[] = [];
  if (rule.min !== undefined) {
    const passed = value >= rule.min;
    const message = `${name} ${fmt(value)} is ${passed ? 'at least' : 'below'} the minimum ${fmt(rule.min)}`;
    checks.push({ name: `${name}.min`, passed, message });
  }
  if (rule.max !== undefined) {
    const passed = value <= rule.max;
    const message = `${name} ${fmt(value)} is ${passed ? 'at most' : 'above'} the maximum ${fmt(rule.max)}`;
    checks.push({ name: `${name}.max`, passed, message });
  }
  if (rule.notWorseThanStable) checks.push(notWorse(rule, value, stable));
  if (checks.length === 0)
    checks.push({
      name,
      passed: true,
      message: `${name} ${fmt(value)} is reported; the policy sets no limit on it`,
    });
  return checks;
}

function notWorse(rule: MetricRule, value: number, stable: Record<string, number> | undefined): GateCheck {
  const { name } = rule;
  const checkName = `${name}.notWorseThanStable`;
  if (stable === undefined)
    return {
      name: checkName,
      passed: true,
      message: `${name}: no stable version with metrics to compare with`,
    };
  const base = valueOf(stable, name);
  if (base === undefined)
    return {
      name: checkName,
      passed: true,
      message: `${name}: the stable version reports no ${name}, nothing to compare with`,
    };
  const tolerance = rule.tolerance ?? 0;
  const higher = rule.higherIsBetter ?? true;
  // How much worse than stable the candidate is (negative: better).
  const worseBy = higher ? base - value : value - base;
  // Metrics are decimals written by people and trainers: 0.9 - 0.05 is 0.8500000000000001 in binary, and a
  // candidate at exactly 0.85 must pass. A relative slack far below any meaningful difference absorbs that.
  const slack = 1e-9 * Math.max(1, Math.abs(base), Math.abs(tolerance));
  const passed = worseBy <= tolerance + slack;
  const stableValue = `the stable version's ${fmt(base)}`;
  let message: string;
  if (!passed)
    message =
      tolerance === 0
        ? `${name} ${fmt(value)} is worse than ${stableValue}`
        : `${name} ${fmt(value)} is worse than ${stableValue} by more than the tolerance ${fmt(tolerance)}`;
  else if (worseBy > 0)
    message = `${name} ${fmt(value)} is worse than ${stableValue} by ${fmt(worseBy)}, within the tolerance ${fmt(tolerance)}`;
  else message = `${name} ${fmt(value)} is ${worseBy < 0 ? 'better than' : 'equal to'} ${stableValue}`;
  return { name: checkName, passed, message };
}

/** Contradictions the CRD's validation should already refuse; checked again because a gate must fail closed. */
function ruleProblem(rule: MetricRule): string | undefined {
  const { name } = rule;
  for (const key of ['min', 'max', 'tolerance'] as const) {
    const v = rule[key];
    if (v !== undefined && !Number.isFinite(v))
      return `the policy's ${key} for ${name} is ${v}, not a finite number`;
  }
  if (rule.tolerance !== undefined && rule.tolerance < 0)
    return `the policy's tolerance for ${name} is ${fmt(rule.tolerance)}; it must not be negative`;
  if (rule.min !== undefined && rule.max !== undefined && rule.min > rule.max)
    return `the policy's minimum ${fmt(rule.min)} for ${name} is above its maximum ${fmt(rule.max)}: no value can pass`;
  return undefined;
}

/** An own, finite number: `constructor` must not resolve to Object's, and NaN must not pass comparisons. */
function valueOf(metrics: Record<string, number>, name: string): number | undefined {
  if (!Object.hasOwn(metrics, name)) return undefined;
  const v = metrics[name];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Signature compatibility with the stable version, as two checks: inputs and outputs. */
export function signatureChecks(
  candidate: Signature | undefined,
  stable: Signature | undefined,
): GateCheck[] {
  if (stable === undefined)
    return [{ name: 'signature', passed: true, message: "no stable version's signature to compare with" }];
  if (candidate === undefined)
    return [
      {
        name: 'signature',
        passed: false,
        message:
          "the candidate's signature is unknown (validation did not report it): compatibility cannot be shown",
      },
    ];
  return [
    result('signature.inputs', inputProblems(candidate.inputs, stable.inputs), 'inputs', stable.inputs),
    result('signature.outputs', outputProblems(candidate.outputs, stable.outputs), 'outputs', stable.outputs),
  ];
}

function result(name: string, problems: string[], what: string, stable: TensorSpec[]): GateCheck {
  if (problems.length > 0)
    return {
      name,
      passed: false,
      message: `${what} incompatible with the stable version's: ${problems.join('; ')}`,
    };
  const names = stable.map((t) => t.name).join(', ');
  const message =
    what === 'inputs'
      ? `inputs match the stable version's (${names || 'none'})`
      : `outputs include the stable version's (${names || 'none'})`;
  return { name, passed: true, message };
}

/** Clients send exactly the stable version's inputs: the candidate must take the same, no more, no fewer. */
function inputProblems(candidate: TensorSpec[], stable: TensorSpec[]): string[] {
  const problems: string[] = [];
  const mine = byName(candidate);
  for (const s of stable) {
    const c = mine.get(s.name);
    if (c === undefined) problems.push(`input '${s.name}' of the stable version is missing`);
    else {
      if (c.datatype !== s.datatype)
        problems.push(`input '${s.name}' is ${c.datatype}, the stable version's is ${s.datatype}`);
      if (!shapesCompatible(c.shape, s.shape))
        problems.push(
          `input '${s.name}' has shape ${shape(c.shape)}, the stable version's is ${shape(s.shape)}`,
        );
    }
  }
  const theirs = byName(stable);
  for (const c of candidate)
    if (!theirs.has(c.name))
      problems.push(`input '${c.name}' is new: the stable version's clients do not send it`);
  return problems;
}

/** Clients read the stable version's outputs: the candidate must still produce them; extra outputs are harmless. */
function outputProblems(candidate: TensorSpec[], stable: TensorSpec[]): string[] {
  const problems: string[] = [];
  const mine = byName(candidate);
  for (const s of stable) {
    const c = mine.get(s.name);
    if (c === undefined) problems.push(`output '${s.name}' of the stable version is missing`);
    else if (c.datatype !== s.datatype)
      problems.push(`output '${s.name}' is ${c.datatype}, the stable version's is ${s.datatype}`);
  }
  return problems;
}

/** Same rank, and every dimension equal or dynamic (-1) on either side. */
export function shapesCompatible(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === -1 || b[i] === -1 || d === b[i]);
}

const byName = (ts: TensorSpec[]) => new Map(ts.map((t) => [t.name, t]));
const shape = (s: number[]) => `[${s.join(', ')}]`;

/** A number for a message: 12 significant digits hide binary noise (0.30000000000000004) but no real difference. */
export function fmt(n: number): string {
  return String(Number(n.toPrecision(12)));
}
