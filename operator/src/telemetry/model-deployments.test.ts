import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import type { ModelDeployment, ModelDeploymentStatus } from '../api/v1alpha1/schema.js';
import { ModelDeploymentMetrics } from './model-deployments.js';

const md = (modelName?: string): ModelDeployment =>
  ({
    apiVersion: 'modelship.dev/v1alpha1',
    kind: 'ModelDeployment',
    metadata: { namespace: 'ml', name: 'iris' },
    spec: {
      model: { version: '2', storageUri: 'file:///m.onnx', ...(modelName ? { name: modelName } : {}) },
    },
  }) as ModelDeployment;

const judged: ModelDeploymentStatus = {
  phase: 'Progressing',
  canary: {
    revision: 'r2',
    version: '2',
    weight: 50,
    readyReplicas: 1,
    step: 3,
    steps: 4,
    startedAt: '2026-11-01T10:00:00Z',
    analysis: {
      verdict: 'Pass',
      failures: 0,
      lastValues: [
        { metric: 'errorRate', verdict: 'Pass', canary: 0.01, stable: 0, limit: 0.05, samples: 40 },
      ],
    },
  },
};

/** Every series of the registry as `name{labels} value` lines, sorted. */
async function series(registry: Registry): Promise<string[]> {
  const lines: string[] = [];
  for (const m of await registry.getMetricsAsJSON())
    for (const v of m.values) {
      const labels = Object.entries(v.labels)
        .map(([k, x]) => `${k}="${x}"`)
        .join(',');
      lines.push(`${m.name}{${labels}} ${v.value}`);
    }
  return lines.sort();
}

describe('ModelDeploymentMetrics', () => {
  it("shows the canary's last judgement per metric, and none once the canary is gone", async () => {
    const registry = new Registry();
    const metrics = new ModelDeploymentMetrics(registry);
    metrics.reconciled(md(), judged, []);
    const l = 'modeldeployment_namespace="ml",modeldeployment="iris",model="iris"';
    const analysis = (await series(registry)).filter((s) =>
      s.startsWith('modelship_operator_canary_analysis'),
    );
    expect(analysis).toEqual([
      `modelship_operator_canary_analysis_value{${l},metric="errorRate",series="canary"} 0.01`,
      `modelship_operator_canary_analysis_value{${l},metric="errorRate",series="limit"} 0.05`,
      `modelship_operator_canary_analysis_value{${l},metric="errorRate",series="samples"} 40`,
      `modelship_operator_canary_analysis_value{${l},metric="errorRate",series="stable"} 0`,
    ]);
    expect(await series(registry)).toContain(`modelship_operator_canary_weight_percent{${l}} 50`);
    metrics.reconciled(md(), { phase: 'Ready' }, [
      { type: 'Normal', reason: 'CanaryPromoted', message: 'promoted' },
    ]);
    const after = await series(registry);
    expect(after.filter((s) => s.startsWith('modelship_operator_canary_analysis'))).toEqual([]);
    expect(after).toContain(`modelship_operator_canary_weight_percent{${l}} 0`);
    expect(after).toContain(`modelship_operator_modeldeployment_phase{${l},phase="Ready"} 1`);
    expect(after).toContain(`modelship_operator_rollbacks_total{${l}} 0`);
  });

  it('moves the series to the new model name when the served name changes', async () => {
    const registry = new Registry();
    const metrics = new ModelDeploymentMetrics(registry);
    metrics.reconciled(md(), { phase: 'Ready' }, []);
    metrics.reconciled(md('flowers'), { phase: 'Ready' }, [
      { type: 'Warning', reason: 'RevisionFailed', message: 'failed' },
    ]);
    const all = await series(registry);
    expect(all.filter((s) => s.includes('model="iris"'))).toEqual([]);
    expect(all).toContain(
      'modelship_operator_revision_failures_total{modeldeployment_namespace="ml",modeldeployment="iris",model="flowers"} 1',
    );
  });
});
