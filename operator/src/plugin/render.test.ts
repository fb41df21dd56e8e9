import type { ModelDeploymentStatus } from '../api/v1alpha1/schema.js';
import { md } from '../testing/fixtures.js';
import { renderStatus } from './render.js';

const at = '2026-01-02T03:04:05.000Z';

/** A canary at `step` of a Canary rollout with a 30 s shadow step before setWeight 20 and a 1 m pause. */
function shadowed(step: number, extra: Partial<ModelDeploymentStatus> = {}) {
  const d = md({
    rollout: {
      strategy: 'Canary',
      shadow: { duration: '30s', agreement: 0.9, minSamples: 40 },
      steps: [{ setWeight: 20 }, { pause: { duration: '1m' } }],
    },
    traffic: { provider: 'Router' },
  });
  d.status = {
    phase: 'Progressing',
    stable: { revision: 'aaa111', version: '1.0.0', weight: 100, readyReplicas: 2 },
    canary: {
      revision: 'bbb222',
      version: '1.1.0',
      weight: 0,
      readyReplicas: 1,
      step,
      steps: 3,
      startedAt: at,
      analysis: {
        verdict: 'Pass',
        failures: 0,
        evaluatedAt: at,
        lastValues: [{ metric: 'agreement', verdict: 'Pass', canary: 0.975, limit: 0.9, samples: 80 }],
      },
    },
    ...extra,
  };
  return d;
}

describe('renderStatus', () => {
  it('renders the shadow step first, and says the canary gets mirrored traffic while it is on it', () => {
    expect(renderStatus(shadowed(0)).split('\n')).toEqual([
      'Name:         ml/churn',
      'Strategy:     Canary',
      'Phase:        Progressing',
      'Stable:       revision aaa111 (version 1.0.0), 100% of traffic, 2 ready',
      'Canary:       revision bbb222 (version 1.1.0), 0% of traffic, 1 ready',
      "Shadow:       the canary gets a mirror of live traffic; its answers are compared with the stable's, never sent to clients (agreement at least 90% over 40 requests or more)",
      'Steps:',
      '  ▶  1. shadow 30s (mirrored traffic, agreement at least 90%)',
      '     2. setWeight 20',
      '     3. pause 60s',
      '     —. promote',
      `Analysis:     Pass, 0 failed judgements, last at ${at}`,
      '  METRIC     CANARY  STABLE  LIMIT   REQUESTS  VERDICT',
      '  agreement  97.50%  -       90.00%  80        Pass',
    ]);
  });

  it('has no shadow line once the canary is past the shadow step', () => {
    const lines = renderStatus(shadowed(1)).split('\n');
    expect(lines.filter((l) => l.startsWith('Shadow:'))).toEqual([]);
    expect(lines).toContain('  ✔  1. shadow 30s (mirrored traffic, agreement at least 90%)');
    expect(lines).toContain('  ▶  2. setWeight 20');
  });

  it('renders drift with its worst features and the retraining it started, and live accuracy', () => {
    const d = md({
      monitoring: { drift: { threshold: 0.25 }, feedback: {} },
    });
    d.status = {
      phase: 'Ready',
      stable: { revision: 'aaa111', version: '1.0.0', weight: 100, readyReplicas: 2 },
      drift: {
        drifted: true,
        samples: 1200,
        features: [
          { name: 'petal_length', psi: 0.41234 },
          { name: 'sepal_width', psi: 0.25 },
          { name: 'x', psi: 0.0312 },
        ],
        evaluatedAt: at,
        lastRetrainAt: '2026-01-02T03:00:00.000Z',
        lastRetrainJob: 'churn-retrain-drift-7f3a',
      },
      feedback: { rows: 812, accuracy: 0.934, evaluatedAt: at },
      conditions: [
        {
          type: 'Drifted',
          status: 'True',
          reason: 'InputDrift',
          message: 'PSI above 0.25 over the last 1200 rows: petal_length 0.412',
          lastTransitionTime: at,
        },
      ],
    };
    expect(renderStatus(d).split('\n')).toEqual([
      'Name:         ml/churn',
      'Strategy:     BlueGreen',
      'Phase:        Ready',
      'Stable:       revision aaa111 (version 1.0.0), 100% of traffic, 2 ready',
      `Input drift:  DRIFTED, 1200 rows in the window, PSI threshold 0.25, read at ${at}`,
      '  FEATURE       PSI',
      '  petal_length  0.412  above 0.25',
      '  sepal_width   0.250',
      '  x             0.031',
      '  last retraining started by drift: job churn-retrain-drift-7f3a at 2026-01-02T03:00:00.000Z',
      `Accuracy:     accuracy 93.4% over 812 ground-truth rows in the window, read at ${at}`,
      'Drifted:      True (InputDrift) PSI above 0.25 over the last 1200 rows: petal_length 0.412',
    ]);
  });

  it('says when the drift window holds too few rows to judge, and renders regression errors', () => {
    const d = md({ monitoring: { drift: {}, feedback: {} } });
    d.status = {
      drift: { drifted: false, samples: 1 },
      feedback: { rows: 30, meanAbsoluteError: 0.123456, rootMeanSquaredError: 0.2, evaluatedAt: at },
    };
    expect(renderStatus(d).split('\n').slice(3)).toEqual([
      'Input drift:  not judged (the window needs 200 rows), 1 row in the window, PSI threshold 0.2',
      `Accuracy:     MAE 0.1235, RMSE 0.2 over 30 ground-truth rows in the window, read at ${at}`,
    ]);
  });

  it('says when ground truth has not come yet', () => {
    const d = md({ monitoring: { feedback: {} } });
    d.status = { feedback: { rows: 0, evaluatedAt: at } };
    expect(renderStatus(d).split('\n').slice(3)).toEqual([
      `Accuracy:     no value yet (0 ground-truth rows in the window), read at ${at}`,
    ]);
  });

  it('prints nothing about monitoring when the status has none', () => {
    const d = md();
    d.status = { phase: 'Ready' };
    expect(renderStatus(d).split('\n')).toEqual([
      'Name:         ml/churn',
      'Strategy:     BlueGreen',
      'Phase:        Ready',
    ]);
  });
});
