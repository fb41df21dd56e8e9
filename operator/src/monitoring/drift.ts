/**
 * Input drift of a ModelDeployment, decided: what the serving pods report (per-feature PSI over their sliding
 * windows, and how many rows the windows hold), combined over the pods, against spec.monitoring.drift; the Drifted
 * condition, its Events, and whether drift starts a retraining run now (spec.retraining.onDrift, at most once per
 * cooldown). Pure: the pods' samples and the time go in, the status, condition and actions come out.
 */
import type { Sample } from '../metrics/exposition.js';
import type { DriftSpec, DriftStatus } from '../api/v1alpha1/monitoring.js';
import type { ConditionInput } from '../api/v1alpha1/conditions.js';
import type { EventRecord } from '../kube/events.js';

/** The serving runtime's drift series (server-image/src/monitoring/drift). */
export const driftSeries = {
  psi: 'modelship_drift_psi',
  samples: 'modelship_drift_window_samples',
} as const;

/** One pod's drift: rows in its window and the PSI of each feature that has one. */
export interface PodDrift {
  samples: number;
  psi: Map<string, number>;
}

export function podDrift(samples: Sample[]): PodDrift {
  const out: PodDrift = { samples: 0, psi: new Map() };
  for (const s of samples) {
    if (s.labels.model === '_unknown') continue;
    if (s.name === driftSeries.samples) out.samples += s.value;
    else if (s.name === driftSeries.psi && s.labels.feature && Number.isFinite(s.value))
      out.psi.set(s.labels.feature, s.value);
  }
  return out;
}

/**
 * The pods as one: each feature's PSI averaged with the pods' window rows as weights (the pods see samples of one
 * traffic, so the average is the better estimate), rows summed.
 */
export function combine(pods: PodDrift[]): PodDrift {
  const sums = new Map<string, { weighted: number; weight: number }>();
  let samples = 0;
  for (const p of pods) {
    samples += p.samples;
    if (p.samples <= 0) continue;
    for (const [feature, psi] of p.psi) {
      const s = sums.get(feature) ?? { weighted: 0, weight: 0 };
      s.weighted += psi * p.samples;
      s.weight += p.samples;
      sums.set(feature, s);
    }
  }
  return { samples, psi: new Map([...sums].map(([f, s]) => [f, s.weighted / s.weight])) };
}

export interface DriftDecision {
  status: DriftStatus;
  condition: ConditionInput;
  events: EventRecord[];
  /** Start a retraining run now (drift, onDrift, the cooldown has passed). */
  retrain: boolean;
}

export interface DriftInput {
  /** spec.monitoring.drift with its defaults. */
  spec: Required<Pick<DriftSpec, 'threshold' | 'minSamples'>> & Pick<DriftSpec, 'features'>;
  reading: PodDrift;
  previous?: DriftStatus;
  now: Date;
  /** spec.retraining.onDrift and its cooldown; undefined without retraining. */
  onDrift?: { enabled: boolean; cooldownMs: number };
}

const shown = 10;
const psiText = (v: number) => (Math.round(v * 1000) / 1000).toString();

export function decideDrift(i: DriftInput): DriftDecision {
  const { spec, reading, previous, now } = i;
  const watched = [...reading.psi]
    .filter(([f]) => !spec.features?.length || spec.features.includes(f))
    .sort((a, b) => b[1] - a[1]);
  const enough = reading.samples >= spec.minSamples;
  const over = enough ? watched.filter(([, psi]) => psi > spec.threshold) : [];
  const drifted = over.length > 0;
  const list = (pairs: [string, number][]) => pairs.map(([f, psi]) => `${f} ${psiText(psi)}`).join(', ');
  let condition: ConditionInput;
  if (drifted)
    condition = {
      type: 'Drifted',
      status: 'True',
      reason: 'InputDrift',
      message: `PSI above ${spec.threshold} over the last ${reading.samples} rows: ${list(over.slice(0, shown))}`,
    };
  else if (!enough)
    condition = {
      type: 'Drifted',
      status: 'False',
      reason: 'InsufficientSamples',
      message: `the serving pods' windows hold ${reading.samples} of the ${spec.minSamples} rows needed to judge drift`,
    };
  else
    condition = {
      type: 'Drifted',
      status: 'False',
      reason: 'NoDrift',
      message: watched.length
        ? `every watched feature within PSI ${spec.threshold} over the last ${reading.samples} rows (worst: ${list(watched.slice(0, 3))})`
        : `no watched feature has a PSI (is the baseline loaded? modelship_drift_baseline_loaded)`,
    };

  const events: EventRecord[] = [];
  if (drifted && !previous?.drifted)
    events.push({ type: 'Warning', reason: 'DriftDetected', message: condition.message });
  if (!drifted && previous?.drifted && enough)
    events.push({ type: 'Normal', reason: 'DriftResolved', message: condition.message });

  const status: DriftStatus = {
    drifted,
    samples: Math.round(reading.samples),
    features: watched.slice(0, shown).map(([name, psi]) => ({ name, psi })),
    evaluatedAt: now.toISOString(),
    ...(previous?.lastRetrainAt ? { lastRetrainAt: previous.lastRetrainAt } : {}),
    ...(previous?.lastRetrainJob ? { lastRetrainJob: previous.lastRetrainJob } : {}),
  };
  if (!status.features?.length) delete status.features;

  const last = previous?.lastRetrainAt ? Date.parse(previous.lastRetrainAt) : undefined;
  const cooled = last === undefined || now.getTime() - last >= (i.onDrift?.cooldownMs ?? Infinity);
  const retrain = drifted && i.onDrift?.enabled === true && cooled;
  return { status, condition, events, retrain };
}

/** The status after drift started the run `job`. */
export function retrainStarted(d: DriftDecision, job: string, now: Date): DriftDecision {
  return {
    ...d,
    status: { ...d.status, lastRetrainAt: now.toISOString(), lastRetrainJob: job },
    events: [
      ...d.events,
      {
        type: 'Normal',
        reason: 'RetrainingStarted',
        message: `input drift started training run ${job}: ${d.condition.message}`,
      },
    ],
  };
}
