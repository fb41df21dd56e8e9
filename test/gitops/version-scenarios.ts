/**
 * ModelVersions in each phase a GitOps tool must judge, made by the operator's own decision code: registered from a
 * run by planRegistry, judged by planRegistry from a validation result, and moved along by phasesAfterTick, as the
 * reconciler does. Nothing here writes a ModelVersion status by hand.
 */
import type { V1Job } from '@kubernetes/client-node';
import type { ModelVersion } from '../../operator/src/api/v1alpha1/model-version.js';
import type { ModelDeployment } from '../../operator/src/api/v1alpha1/schema.js';
import { planRegistry, applyEvent } from '../../operator/src/retraining/registry.js';
import { chooseModel, phasesAfterTick } from '../../operator/src/retraining/serving.js';
import { md as fixture } from '../../operator/src/testing/fixtures.js';
import type { ArgoHealth, KstatusStatus } from './scenarios.js';

export interface VersionScenario {
  name: string;
  version: ModelVersion;
  argo: ArgoHealth;
  kstatus: KstatusStatus;
}

const now = new Date('2026-12-02T04:00:00Z');
const sha = 'd'.repeat(64);
const signature = {
  inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }],
  outputs: [{ name: 'label', datatype: 'INT64', shape: [-1] }],
};

function deployment(mode: 'Auto' | 'Manual'): ModelDeployment {
  return fixture({
    retraining: {
      schedule: '@daily',
      output: 'pvc://models/runs',
      template: { image: 'trainer' },
      promotion: { mode, metrics: [{ name: 'accuracy', min: 0.9 }] },
    } as never,
  });
}

const job = (name: string, type: 'Complete' | 'Failed'): V1Job => ({
  metadata: { name },
  status: {
    startTime: now,
    conditions: [{ type, status: 'True', message: type === 'Failed' ? 'BackoffLimitExceeded' : '' }],
  },
});

/** A run registered by planRegistry: the ModelVersion as the operator creates it. */
function registered(
  md: ModelDeployment,
  name: string,
  message: string,
  type: 'Complete' | 'Failed' = 'Complete',
): ModelVersion {
  const plan = planRegistry({
    md,
    runs: [{ job: job(name, type), message }],
    versions: [],
    validations: new Map(),
    now,
  });
  const { version, status } = plan.create.find((c) => c.version.metadata.name === name)!;
  return {
    ...version,
    metadata: { ...version.metadata, creationTimestamp: now, uid: `uid-${name}` },
    status,
  };
}

/** Validation with `result` as the inspect output, judged by planRegistry. */
function validated(md: ModelDeployment, v: ModelVersion, result: object): ModelVersion {
  const validating = {
    ...v,
    status: applyEvent(v.status!, { type: 'validationStarted', job: `${v.metadata.name}-validate` }, now),
  };
  const plan = planRegistry({
    md,
    runs: [],
    versions: [validating],
    validations: new Map([
      [
        v.metadata.name!,
        { job: job(`${v.metadata.name}-validate`, 'Complete'), message: JSON.stringify(result) },
      ],
    ]),
    now,
  });
  return { ...validating, status: plan.statuses.get(v.metadata.name!)! };
}

const summary = (accuracy: number) =>
  JSON.stringify({ model: 'model.onnx', sha256: sha, metrics: { accuracy } });
const state = (stable: string, canary?: string) => ({
  history: [],
  stable: { revision: stable, version: stable },
  ...(canary
    ? {
        canary: {
          revision: canary,
          version: canary,
          weight: 20,
          step: 1,
          steps: 2,
          readyReplicas: 1,
          startedAt: 'x',
        } as never,
      }
    : {}),
});

/** The version after a tick of the rollout with it as the chosen model (status.model names it, as once promoted). */
function rolled(md: ModelDeployment, v: ModelVersion, s: ReturnType<typeof state>): ModelVersion {
  const promoted = chooseModel(md, [{ ...v, status: { ...v.status, phase: 'Approved' } }], now);
  const choice = chooseModel({ ...md, status: { model: promoted.served } }, [v], now);
  const out = phasesAfterTick([v], choice, 'target', s, now);
  return { ...v, status: out.get(v.metadata.name!) ?? v.status };
}

export function buildVersionScenarios(): VersionScenario[] {
  const auto = deployment('Auto');
  const manual = deployment('Manual');
  const candidate = registered(auto, 'churn-retrain-1', summary(0.95));
  const approvedAuto = validated(auto, candidate, { ok: true, signature, sha256: sha, loadMs: 10 });
  const approvedManual = validated(manual, registered(manual, 'churn-retrain-2', summary(0.95)), {
    ok: true,
    signature,
  });
  const canary = rolled(auto, approvedAuto, state('old', 'target'));
  const stable = rolled(auto, canary, state('target'));
  const scenarios: VersionScenario[] = [
    { name: 'version-candidate', version: candidate, argo: 'Progressing', kstatus: 'InProgress' },
    {
      name: 'version-validating',
      version: {
        ...candidate,
        status: applyEvent(candidate.status!, { type: 'validationStarted', job: 'v' }, now),
      },
      argo: 'Progressing',
      kstatus: 'InProgress',
    },
    {
      name: 'version-approved-waiting-for-promote',
      version: approvedManual,
      argo: 'Suspended',
      kstatus: 'Current',
    },
    { name: 'version-canary', version: canary, argo: 'Progressing', kstatus: 'InProgress' },
    { name: 'version-stable', version: stable, argo: 'Healthy', kstatus: 'Current' },
    {
      name: 'version-retired',
      version: { ...stable, status: applyEvent(stable.status!, { type: 'superseded', by: '2' }, now) },
      argo: 'Healthy',
      kstatus: 'Current',
    },
    {
      name: 'version-rejected-failed-run',
      version: registered(auto, 'churn-retrain-3', 'Traceback: boom', 'Failed'),
      argo: 'Degraded',
      kstatus: 'Failed',
    },
    {
      name: 'version-rejected-by-gate',
      version: validated(auto, registered(auto, 'churn-retrain-4', summary(0.5)), { ok: true, signature }),
      argo: 'Degraded',
      kstatus: 'Failed',
    },
    {
      name: 'version-rejected-by-validation',
      version: validated(auto, registered(auto, 'churn-retrain-5', summary(0.95)), {
        ok: false,
        reason: 'model is not ONNX',
      }),
      argo: 'Degraded',
      kstatus: 'Failed',
    },
  ];
  const expected: Record<string, string> = {
    'version-candidate': 'Candidate',
    'version-validating': 'Validating',
    'version-approved-waiting-for-promote': 'Approved',
    'version-canary': 'Canary',
    'version-stable': 'Stable',
    'version-retired': 'Retired',
  };
  for (const s of scenarios) {
    const want = expected[s.name] ?? 'Rejected';
    if (s.version.status?.phase !== want)
      throw new Error(
        `scenario ${s.name}: the operator's code made phase ${s.version.status?.phase}, not ${want}`,
      );
  }
  return scenarios;
}
