import { describe, expect, it } from '@jest/globals';
import { parseExposition } from '../metrics/exposition.js';
import { combine, decideDrift, podDrift, retrainStarted, type DriftInput } from './drift.js';

const now = new Date('2026-12-01T12:00:00Z');
const reading = (samples: number, psi: Record<string, number>) => ({
  samples,
  psi: new Map(Object.entries(psi)),
});
const input = (o: Partial<DriftInput> = {}): DriftInput => ({
  spec: { threshold: 0.2, minSamples: 100 },
  reading: reading(500, { a: 0.01, b: 0.6, c: 0.3 }),
  now,
  ...o,
});

describe('podDrift and combine', () => {
  it('reads the runtime series, and weights each pod by the rows in its window', () => {
    const pod = podDrift(
      parseExposition(
        [
          'modelship_drift_window_samples{model="m",version="1",revision="r"} 300',
          'modelship_drift_psi{model="m",version="1",revision="r",feature="x[0]"} 0.5',
          'modelship_drift_psi{model="m",version="1",revision="r",feature="x[1]"} 0.1',
          'modelship_inference_request_success_total{model="m",version="1",revision="r"} 7',
        ].join('\n'),
      ),
    );
    expect(pod).toEqual(reading(300, { 'x[0]': 0.5, 'x[1]': 0.1 }));
    const both = combine([pod, reading(100, { 'x[0]': 0.1 }), reading(0, { 'x[0]': 9 })]);
    expect(both.samples).toBe(400);
    expect(both.psi.get('x[0]')).toBeCloseTo((0.5 * 300 + 0.1 * 100) / 400, 12);
    expect(both.psi.get('x[1]')).toBeCloseTo(0.1, 12);
  });
});

describe('decideDrift', () => {
  it('names the features above the threshold, worst first, and records one Event when drift starts', () => {
    const d = decideDrift(input());
    expect(d.status).toMatchObject({
      drifted: true,
      samples: 500,
      features: [{ name: 'b' }, { name: 'c' }, { name: 'a' }],
    });
    expect(d.condition).toMatchObject({ type: 'Drifted', status: 'True', reason: 'InputDrift' });
    expect(d.condition.message).toBe('PSI above 0.2 over the last 500 rows: b 0.6, c 0.3');
    expect(d.events.map((e) => e.reason)).toEqual(['DriftDetected']);
    // Still drifted at the next reading: no second Event.
    expect(decideDrift(input({ previous: d.status })).events).toEqual([]);
  });

  it('watches only the listed features', () => {
    const d = decideDrift(input({ spec: { threshold: 0.2, minSamples: 100, features: ['a'] } }));
    expect(d.status.drifted).toBe(false);
    expect(d.condition.reason).toBe('NoDrift');
    expect(d.status.features).toEqual([{ name: 'a', psi: 0.01 }]);
  });

  it('says nothing about drift from too few rows', () => {
    const d = decideDrift(input({ reading: reading(50, { b: 5 }) }));
    expect(d.status.drifted).toBe(false);
    expect(d.condition).toMatchObject({ status: 'False', reason: 'InsufficientSamples' });
    expect(d.condition.message).toMatch(/50 of the 100 rows/);
  });

  it('records when drift is over', () => {
    const before = decideDrift(input()).status;
    const d = decideDrift(input({ previous: before, reading: reading(500, { b: 0.05 }) }));
    expect(d.events.map((e) => e.reason)).toEqual(['DriftResolved']);
  });

  it('starts retraining with onDrift, at most once per cooldown', () => {
    const onDrift = { enabled: true, cooldownMs: 3_600_000 };
    expect(decideDrift(input()).retrain).toBe(false);
    expect(decideDrift(input({ onDrift: { ...onDrift, enabled: false } })).retrain).toBe(false);
    const first = decideDrift(input({ onDrift }));
    expect(first.retrain).toBe(true);
    const started = retrainStarted(first, 'iris-retrain-drift-abc', now);
    expect(started.status).toMatchObject({
      lastRetrainAt: now.toISOString(),
      lastRetrainJob: 'iris-retrain-drift-abc',
    });
    expect(started.events.map((e) => e.reason)).toEqual(['DriftDetected', 'RetrainingStarted']);
    const later = (ms: number) =>
      decideDrift(input({ onDrift, previous: started.status, now: new Date(now.getTime() + ms) }));
    expect(later(3_599_999).retrain).toBe(false);
    expect(later(3_599_999).status.lastRetrainJob).toBe('iris-retrain-drift-abc');
    expect(later(3_600_000).retrain).toBe(true);
  });
});
