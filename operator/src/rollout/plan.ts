/**
 * The rollout as the machine reads it: the spec's strategy, steps and analysis settings with every default
 * applied and every duration in milliseconds. Pure.
 */
import { parseDuration } from '../api/v1alpha1/duration.js';
import {
  analysisWithDefaults,
  defaultCanarySteps,
  rolloutWithDefaults,
  type AnalysisSpec,
  type ModelDeploymentSpec,
  type RolloutStep,
} from '../api/v1alpha1/schema.js';
import { Value } from '@sinclair/typebox/value';
import { ShadowSpec } from '../api/v1alpha1/monitoring.js';
import type { MetricCheck } from './judge.js';

export type Step =
  | { kind: 'setWeight'; weight: number }
  | { kind: 'pause'; ms?: number }
  | { kind: 'analysis'; ms: number }
  /** Mirrored traffic at weight 0, judged on agreement alone (spec.rollout.shadow): always the first step. */
  | { kind: 'shadow'; ms: number; check: MetricCheck; tolerance: { absolute: number; relative: number } };

export interface AnalysisPlan {
  intervalMs: number;
  windowMs: number;
  checks: MetricCheck[];
  failureLimit: number;
  noData: { policy: 'Wait' | 'Fail' | 'Pass'; timeoutMs: number };
  prometheus?: { address: string; queries?: { requests?: string; errorRate?: string; latencyP99?: string } };
}

export interface RolloutPlan {
  strategy: 'BlueGreen' | 'Canary';
  steps: Step[];
  analysis: AnalysisPlan;
  revisionHistoryLimit: number;
  warmReplicas: number;
}

export function stepOf(s: RolloutStep): Step {
  if (s.setWeight !== undefined) return { kind: 'setWeight', weight: s.setWeight };
  if (s.pause)
    return {
      kind: 'pause',
      ms: s.pause.duration === undefined ? undefined : parseDuration(s.pause.duration),
    };
  return { kind: 'analysis', ms: parseDuration(s.analysis!.duration) };
}

export function analysisPlan(spec: AnalysisSpec | undefined): AnalysisPlan {
  const a = analysisWithDefaults(spec);
  return {
    intervalMs: parseDuration(a.interval),
    windowMs: parseDuration(a.window),
    checks: a.metrics.map((m) => ({
      metric: m.name,
      mode: m.relativeToStable === undefined ? 'absolute' : 'relativeToStable',
      threshold: m.max ?? m.min ?? m.relativeToStable ?? 0,
      minSamples: m.minSamples ?? a.minSamples,
    })),
    failureLimit: a.failureLimit,
    noData: { policy: a.noData.policy, timeoutMs: parseDuration(a.noData.timeout) },
    prometheus: a.prometheus,
  };
}

/** The shadow step of spec.rollout.shadow, with its defaults. */
export function shadowStep(shadow: ShadowSpec): Step {
  const s = Value.Default(ShadowSpec, structuredClone(shadow)) as Required<ShadowSpec>;
  const tolerance = Value.Default(ShadowSpec.properties.tolerance, structuredClone(s.tolerance ?? {})) as {
    absolute: number;
    relative: number;
  };
  return {
    kind: 'shadow',
    ms: parseDuration(s.duration),
    check: { metric: 'agreement', mode: 'absolute', threshold: s.agreement, minSamples: s.minSamples },
    tolerance,
  };
}

export function rolloutPlan(spec: ModelDeploymentSpec): RolloutPlan {
  const r = rolloutWithDefaults(spec.rollout);
  const steps = (r.steps ?? defaultCanarySteps).map(stepOf);
  return {
    strategy: r.strategy,
    steps: r.strategy === 'Canary' ? (r.shadow ? [shadowStep(r.shadow), ...steps] : steps) : [],
    analysis: analysisPlan(spec.analysis),
    revisionHistoryLimit: r.revisionHistoryLimit,
    warmReplicas: r.warmReplicas,
  };
}

/** The weight a canary has after the steps before `index` (the last setWeight among them). */
export function weightBefore(steps: Step[], index: number): number {
  let weight = 0;
  for (const s of steps.slice(0, index)) if (s.kind === 'setWeight') weight = s.weight;
  return weight;
}
