/**
 * What `kubectl modelship status` and `history` print, from a ModelDeployment as the API server returns it. Pure.
 */
import type { ModelVersion } from '../api/v1alpha1/model-version.js';
import { DriftSpec, type DriftStatus, type FeedbackStatus } from '../api/v1alpha1/monitoring.js';
import { withDefaults, type ModelDeployment } from '../api/v1alpha1/schema.js';
import { rolloutPlan, type Step } from '../rollout/plan.js';
import { cardSummary } from './card.js';

const pad = (rows: string[][]): string => {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
};

/** A fraction as a percentage: 0.95 → "95%", 0.0123 → "1.23%". */
const percent = (v: number): string => `${(v * 100).toFixed(2).replace(/\.?0+$/, '')}%`;
/** An error (MAE, RMSE) to 4 decimals, trailing zeros left out. */
const error4 = (v: number): string => String(Math.round(v * 1e4) / 1e4);

function stepText(s: Step): string {
  if (s.kind === 'setWeight') return `setWeight ${s.weight}`;
  if (s.kind === 'pause') return s.ms === undefined ? 'pause (until promoted)' : `pause ${s.ms / 1000}s`;
  if (s.kind === 'shadow')
    return `shadow ${s.ms / 1000}s (mirrored traffic, agreement at least ${percent(s.check.threshold)})`;
  return `analysis ${s.ms / 1000}s`;
}

/** A judged metric's value in its unit: fractions as percentages, latency in ms, errors as plain numbers. */
function value(metric: string, v: number | undefined): string {
  if (v === undefined) return '-';
  if (metric === 'latencyP99') return `${v.toFixed(1)}ms`;
  if (metric === 'meanAbsoluteError') return error4(v);
  return `${(v * 100).toFixed(2)}%`;
}

const psiText = (v: number): string => v.toFixed(3);

/** "Label:" padded so values line up, the longest label ("Last request:", a condition type) included. */
const field = (label: string, text: string): string => `${`${label}:`.padEnd(14)}${text}`;

export function renderStatus(md: ModelDeployment): string {
  const st = md.status ?? {};
  const lines: string[] = [];
  const plan = rolloutPlan(withDefaults(md.spec));
  lines.push(field('Name', `${md.metadata.namespace}/${md.metadata.name}`));
  lines.push(field('Strategy', plan.strategy));
  lines.push(field('Phase', st.phase ?? 'unknown'));
  if (st.stable)
    lines.push(
      field(
        'Stable',
        `revision ${st.stable.revision} (version ${st.stable.version}), ${st.stable.weight}% of traffic, ${st.stable.readyReplicas} ready`,
      ),
    );
  const c = st.canary;
  if (c) {
    lines.push(
      field(
        'Canary',
        `revision ${c.revision} (version ${c.version}), ${c.weight}% of traffic, ${c.readyReplicas} ready${c.pausedAt ? `, PAUSED (${c.pausedBy})` : ''}`,
      ),
    );
    const step = plan.steps[c.step];
    // At weight 0 the canary still works: the router copies live requests to it and compares its answers.
    if (step?.kind === 'shadow')
      lines.push(
        field(
          'Shadow',
          `the canary gets a mirror of live traffic; its answers are compared with the stable's, never sent to clients (agreement at least ${percent(step.check.threshold)} over ${step.check.minSamples} requests or more)`,
        ),
      );
    lines.push('Steps:');
    plan.steps.forEach((s, i) => {
      const mark = i < c.step ? '✔' : i === c.step ? '▶' : ' ';
      lines.push(`  ${mark} ${String(i + 1).padStart(2)}. ${stepText(s)}`);
    });
    lines.push(`  ${c.step >= plan.steps.length ? '▶' : ' '}  —. promote`);
    const a = c.analysis;
    lines.push(
      field(
        'Analysis',
        `${a.verdict}, ${a.failures} failed judgement${a.failures === 1 ? '' : 's'}${a.evaluatedAt ? `, last at ${a.evaluatedAt}` : ''}`,
      ),
    );
    if (a.lastValues?.length)
      lines.push(
        pad([
          ['  METRIC', 'CANARY', 'STABLE', 'LIMIT', 'REQUESTS', 'VERDICT'],
          ...a.lastValues.map((v) => [
            `  ${v.metric}`,
            value(v.metric, v.canary),
            value(v.metric, v.stable),
            value(v.metric, v.limit),
            String(v.samples),
            v.verdict,
          ]),
        ]),
      );
  }
  if (st.rejected)
    lines.push(
      field(
        'Rolled back',
        `revision ${st.rejected.revision} (version ${st.rejected.version}): ${st.rejected.reason}`,
      ),
    );
  if (st.drift) lines.push(...driftLines(st.drift, md));
  if (st.feedback) lines.push(feedbackLine(st.feedback));
  const card = cardSummary(md);
  if (card) lines.push(field('Model card', card));
  for (const cond of st.conditions ?? [])
    lines.push(field(cond.type, `${cond.status} (${cond.reason}) ${cond.message}`));
  if (st.lastRequest) lines.push(field('Last request', `${st.lastRequest.action}: ${st.lastRequest.result}`));
  if (st.history?.length) lines.push('History:', renderHistory(md, '  '));
  return lines.join('\n');
}

/** status.drift: the verdict, the rows it rests on, the worst features' PSI, the last retraining drift started. */
function driftLines(d: DriftStatus, md: ModelDeployment): string[] {
  const spec = md.spec.monitoring?.drift;
  const threshold = spec?.threshold ?? (DriftSpec.properties.threshold.default as number);
  const minSamples = spec?.minSamples ?? (DriftSpec.properties.minSamples.default as number);
  const verdict = d.drifted
    ? 'DRIFTED'
    : d.samples < minSamples
      ? `not judged (the window needs ${minSamples} rows)`
      : 'not drifted';
  const lines = [
    field(
      'Input drift',
      `${verdict}, ${d.samples} row${d.samples === 1 ? '' : 's'} in the window, PSI threshold ${threshold}${d.evaluatedAt ? `, read at ${d.evaluatedAt}` : ''}`,
    ),
  ];
  if (d.features?.length)
    lines.push(
      pad([
        ['  FEATURE', 'PSI', ''],
        ...d.features.map((f) => [
          `  ${f.name}`,
          psiText(f.psi),
          f.psi > threshold ? `above ${threshold}` : '',
        ]),
      ]),
    );
  if (d.lastRetrainJob || d.lastRetrainAt)
    lines.push(
      `  last retraining started by drift: ${d.lastRetrainJob ? `job ${d.lastRetrainJob}` : 'a job'}${d.lastRetrainAt ? ` at ${d.lastRetrainAt}` : ''}`,
    );
  return lines;
}

/** status.feedback: live accuracy (classification) or errors (regression) from the ground truth posted back. */
function feedbackLine(f: FeedbackStatus): string {
  const measures = [
    ...(f.accuracy !== undefined ? [`accuracy ${percent(f.accuracy)}`] : []),
    ...(f.meanAbsoluteError !== undefined ? [`MAE ${error4(f.meanAbsoluteError)}`] : []),
    ...(f.rootMeanSquaredError !== undefined ? [`RMSE ${error4(f.rootMeanSquaredError)}`] : []),
  ];
  const rows = `${f.rows} ground-truth row${f.rows === 1 ? '' : 's'} in the window`;
  return field(
    'Accuracy',
    `${measures.length ? `${measures.join(', ')} over ${rows}` : `no value yet (${rows})`}, read at ${f.evaluatedAt}`,
  );
}

export function renderHistory(md: ModelDeployment, indent = ''): string {
  const h = md.status?.history ?? [];
  if (h.length === 0) return `${indent}(no rollouts yet)`;
  return pad([
    [`${indent}REVISION`, 'VERSION', 'OUTCOME', 'FINISHED', 'REASON'],
    ...h.map((r) => [`${indent}${r.revision}`, r.version, r.outcome, r.finishedAt, r.reason]),
  ]);
}

/** The ModelDeployment's ModelVersions with their lineage, oldest first (`kubectl modelship history`). */
export function renderVersions(md: ModelDeployment, versions: ModelVersion[], indent = ''): string {
  if (versions.length === 0) return `${indent}(no ModelVersions: spec.retraining has produced none yet)`;
  const served = md.status?.model?.modelVersion;
  const created = (v: ModelVersion) => new Date(v.metadata.creationTimestamp ?? 0).toISOString();
  const sorted = [...versions].sort((a, b) => created(a).localeCompare(created(b)));
  return pad([
    [`${indent}VERSION`, 'PHASE', 'METRIC', 'SOURCE', 'PARENT', 'DATA', 'CREATED', 'WHY'],
    ...sorted.map((v) => [
      `${indent}${v.spec.model.version}${v.metadata.name === served ? ' *' : ''}`,
      v.status?.phase ?? 'Candidate',
      v.status?.keyMetric ?? '-',
      v.spec.source.name ?? v.spec.source.kind,
      v.spec.source.parentVersion ?? '-',
      v.spec.data
        ? `${v.spec.data.ref ?? '?'}${v.spec.data.rows !== undefined ? ` (${v.spec.data.rows} rows)` : ''}`
        : '-',
      created(v),
      v.status?.conditions?.at(-1)?.message ?? '',
    ]),
  ]);
}
