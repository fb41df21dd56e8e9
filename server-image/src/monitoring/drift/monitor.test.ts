import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { FakeClock } from '../../testing/fake-clock.js';
import type { InferenceRecord } from '../observer.js';
import { parseBaseline } from './baseline.js';
import { DriftMonitor } from './monitor.js';
import { MAX_CLASSES } from './predictions.js';

const labels = { model: 'm', version: '1' };
const baseline = parseBaseline({
  version: 1,
  features: [
    { input: 'x', column: 0, kind: 'numeric', edges: [0], frequencies: [0.5, 0.5] },
    { input: 'x', column: 1, kind: 'numeric', edges: [0], frequencies: [0.5, 0.5] },
  ],
});

function record(rows: number[][], label: bigint[] = rows.map(() => 0n)): InferenceRecord {
  return {
    requestId: 'r',
    model: 'm',
    version: '1',
    time: 0,
    latencyMs: 1,
    status: 200,
    inputs: [{ name: 'x', datatype: 'FP32', shape: [rows.length, 2], data: Float32Array.from(rows.flat()) }],
    outputs: [
      { name: 'label', datatype: 'INT64', shape: [label.length], data: BigInt64Array.from(label) },
      { name: 'p', datatype: 'FP32', shape: [rows.length], data: Float32Array.from(rows.map(() => 0.5)) },
    ],
  };
}

async function scrape(registry: Registry): Promise<Map<string, number>> {
  const text = await registry.metrics();
  return new Map(
    text
      .split('\n')
      .filter((l) => l.startsWith('modelship_'))
      .map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]),
  );
}

describe('DriftMonitor', () => {
  it('counts off the call: observe() returns before anything is counted', async () => {
    const registry = new Registry();
    const clock = new FakeClock(0);
    const m = new DriftMonitor({ labels, windowMs: 60_000, clock, registry });
    m.setBaseline(baseline);
    m.observe(
      record([
        [-1, -1],
        [1, -1],
      ]),
    );
    expect(m.snapshot()!.samples).toBe(0);
    await m.drained();
    const s = m.snapshot()!;
    expect(s.samples).toBe(2);
    expect(s.features[0]!.psi).toBe(0);
    const metrics = await scrape(registry);
    expect(metrics.get('modelship_drift_window_samples{model="m",version="1"}')).toBe(2);
    expect(metrics.get('modelship_drift_psi{model="m",version="1",feature="x[0]"}')).toBe(0);
    expect(metrics.get('modelship_drift_psi{model="m",version="1",feature="x[1]"}')).toBeCloseTo(
      (1 - 0.5) * Math.log(1 / 0.5) + (1e-4 - 0.5) * Math.log(1e-4 / 0.5),
      12,
    );
    expect(metrics.get('modelship_drift_baseline_loaded{model="m",version="1"}')).toBe(1);
    expect(
      metrics.get('modelship_prediction_class_total{model="m",version="1",output="label",class="0"}'),
    ).toBe(2);
    expect(metrics.get('modelship_prediction_value_count{model="m",version="1",output="p"}')).toBe(2);
    // An hour later the window is empty: no PSI series at all, 0 samples.
    await clock.advance(60_000);
    const later = await scrape(registry);
    expect(later.get('modelship_drift_window_samples{model="m",version="1"}')).toBe(0);
    expect([...later.keys()].some((k) => k.startsWith('modelship_drift_psi'))).toBe(false);
  });

  it('counts predictions but no drift before a baseline, and ignores failed requests', async () => {
    const registry = new Registry();
    const m = new DriftMonitor({ labels, windowMs: 60_000, clock: new FakeClock(), registry });
    m.observe(record([[1, 1]], [3n]));
    m.observe({ ...record([[1, 1]], [4n]), status: 400 });
    await m.drained();
    expect(m.snapshot()).toBeUndefined();
    const metrics = await scrape(registry);
    expect(metrics.get('modelship_drift_baseline_loaded{model="m",version="1"}')).toBe(0);
    expect(metrics.get('modelship_drift_window_samples{model="m",version="1"}')).toBe(0);
    expect(
      metrics.get('modelship_prediction_class_total{model="m",version="1",output="label",class="3"}'),
    ).toBe(1);
    expect(
      metrics.has('modelship_prediction_class_total{model="m",version="1",output="label",class="4"}'),
    ).toBe(false);
  });

  it('drops what does not fit in its queue, and counts it', async () => {
    const registry = new Registry();
    const m = new DriftMonitor({
      labels,
      windowMs: 60_000,
      clock: new FakeClock(),
      registry,
      maxQueuedRecords: 3,
    });
    m.setBaseline(baseline);
    for (let i = 0; i < 5; i++) m.observe(record([[1, 1]]));
    await m.drained();
    expect(m.snapshot()!.samples).toBe(3);
    expect((await scrape(registry)).get('modelship_drift_dropped_total{model="m",version="1"}')).toBe(2);
    // The queue's element bound too: one record of 10 rows (20 + 20 values) does not fit in 30.
    const small = new DriftMonitor({
      labels,
      windowMs: 60_000,
      clock: new FakeClock(),
      registry: new Registry(),
      maxQueuedValues: 30,
    });
    small.setBaseline(baseline);
    small.observe(record(Array.from({ length: 10 }, () => [1, 1])));
    small.observe(record([[1, 1]]));
    await small.drained();
    expect(small.snapshot()!.samples).toBe(1);
  });

  it(`keeps at most ${MAX_CLASSES} classes per output, the rest in "other"`, async () => {
    const registry = new Registry();
    const m = new DriftMonitor({ labels, windowMs: 60_000, clock: new FakeClock(), registry, batchSize: 7 });
    const labelsSeen = Array.from({ length: MAX_CLASSES + 10 }, (_, i) => BigInt(i));
    m.observe(
      record(
        labelsSeen.map(() => [0, 0]),
        labelsSeen,
      ),
    );
    m.observe(record([[0, 0]], [BigInt(MAX_CLASSES + 5)]));
    await m.drained();
    const metrics = await scrape(registry);
    const classes = [...metrics.keys()].filter((k) => k.startsWith('modelship_prediction_class_total{'));
    expect(classes).toHaveLength(MAX_CLASSES + 1);
    expect(
      metrics.get('modelship_prediction_class_total{model="m",version="1",output="label",class="other"}'),
    ).toBe(11);
    expect(
      metrics.get('modelship_prediction_class_total{model="m",version="1",output="label",class="0"}'),
    ).toBe(1);
  });
});
