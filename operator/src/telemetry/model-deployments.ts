/**
 * Per-ModelDeployment metrics of the operator, for alerts and dashboards: the phase each one is in, its canary's
 * weight and last judgement, and counters of the decisions a person should hear about (automatic rollbacks, failed
 * revisions). Fed by the reconciler with what it has just decided and written (the status and the Events), so the
 * series say what `kubectl get md` says; the decisions themselves stay in rollout/ and reconcile/.
 *
 * The ModelDeployment's namespace is the label `modeldeployment_namespace`, not `namespace`: Prometheus sets
 * `namespace` on every series of a pod it scrapes to the pod's own namespace (here the operator's), and a
 * `namespace` label of the operator's would be renamed `exported_namespace` by any scrape without honor_labels. A
 * name of its own survives every scrape configuration; the alert rules copy it into `namespace`.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { Phase, type ModelDeployment, type ModelDeploymentStatus } from '../api/v1alpha1/schema.js';
import type { EventRecord } from '../kube/events.js';

const phases = Phase.anyOf.map((p) => p.const);

const labels = ['modeldeployment_namespace', 'modeldeployment', 'model'] as const;
type Labels = Record<(typeof labels)[number], string>;

/** The Event reasons that are counted, each by a counter of its own. */
export const countedEvents = {
  /** The machine rolled a canary back by itself (failed analysis or a failed canary revision); not a user's abort. */
  RolledBack: 'rollbacks',
  /** A revision failed (crash loop, image pull, progress deadline), recorded when the failure is new or changes. */
  RevisionFailed: 'revisionFailures',
} as const;

function keyOf(l: Labels): string {
  return `${l.modeldeployment_namespace}/${l.modeldeployment}`;
}

export class ModelDeploymentMetrics {
  private readonly phase: Gauge<(typeof labels)[number] | 'phase'>;
  private readonly canaryWeight: Gauge<(typeof labels)[number]>;
  private readonly analysis: Gauge<(typeof labels)[number] | 'metric' | 'series'>;
  private readonly rollbacks: Counter<(typeof labels)[number]>;
  private readonly revisionFailures: Counter<(typeof labels)[number]>;
  private readonly drifted: Gauge<(typeof labels)[number]>;
  /** The label set each ModelDeployment's series were last written with, to remove them when it changes. */
  private readonly written = new Map<string, Labels>();
  /** Per ModelDeployment, the analysis series last written (they come and go with the canary's metrics). */
  private readonly analysisWritten = new Map<string, Record<string, string>[]>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.phase = new Gauge({
      name: 'modelship_operator_modeldeployment_phase',
      help: "1 for the phase a ModelDeployment's status shows (Pending, Progressing, Paused, Ready, RolledBack, Degraded, Failed), 0 for the others.",
      labelNames: [...labels, 'phase'],
      registers,
    });
    this.canaryWeight = new Gauge({
      name: 'modelship_operator_canary_weight_percent',
      help: "Percent of a ModelDeployment's traffic its canary gets (0 without a canary).",
      labelNames: labels,
      registers,
    });
    this.analysis = new Gauge({
      name: 'modelship_operator_canary_analysis_value',
      help: "The canary's last judgement per metric, in the status' units (errorRate: a fraction, latencyP99: milliseconds): series canary, stable (the same window on the stable revision), limit (the most allowed), samples (requests the canary served).",
      labelNames: [...labels, 'metric', 'series'],
      registers,
    });
    this.rollbacks = new Counter({
      name: 'modelship_operator_rollbacks_total',
      help: 'Canaries the operator rolled back by itself (failed analysis or a failed canary revision).',
      labelNames: labels,
      registers,
    });
    this.revisionFailures = new Counter({
      name: 'modelship_operator_revision_failures_total',
      help: 'Revisions found failed (crash loop, image pull error, progress deadline), counted when a failure appears or changes.',
      labelNames: labels,
      registers,
    });
    this.drifted = new Gauge({
      name: 'modelship_operator_input_drifted',
      help: "1 while a ModelDeployment's Drifted condition is True (a watched input feature's PSI above spec.monitoring.drift.threshold), else 0; only for ModelDeployments with drift monitoring.",
      labelNames: labels,
      registers,
    });
  }

  /** Records what one reconcile decided for `md`: the status it computed and the Events it recorded. */
  reconciled(md: ModelDeployment, status: ModelDeploymentStatus, events: readonly EventRecord[]): void {
    const l = this.labelsOf(md);
    for (const p of phases) this.phase.set({ ...l, phase: p }, p === status.phase ? 1 : 0);
    this.canaryWeight.set(l, status.canary?.weight ?? 0);
    // Only the current canary's judgement: a finished canary's values would read as if it were still judged.
    this.removeAnalysis(l);
    const analysis: Record<string, string>[] = [];
    for (const v of status.canary?.analysis.lastValues ?? []) {
      for (const [series, value] of [
        ['canary', v.canary],
        ['stable', v.stable],
        ['limit', v.limit],
        ['samples', v.samples],
      ] as const) {
        if (value === undefined) continue;
        const s = { ...l, metric: v.metric, series };
        this.analysis.set(s, value);
        analysis.push(s);
      }
    }
    this.analysisWritten.set(keyOf(l), analysis);
    // At zero from the first reconcile: Prometheus' increase() cannot see a first increment of a new series.
    this.rollbacks.inc(l, 0);
    this.revisionFailures.inc(l, 0);
    if (status.drift) this.drifted.set(l, status.drift.drifted ? 1 : 0);
    else this.drifted.remove(l);
    for (const e of events) {
      const counter = countedEvents[e.reason as keyof typeof countedEvents];
      if (counter) this[counter].inc(l);
    }
  }

  /** Removes every series of a ModelDeployment that no longer exists. */
  forget(namespace: string, name: string): void {
    const l = this.written.get(`${namespace}/${name}`);
    if (!l) return;
    this.written.delete(`${namespace}/${name}`);
    this.removeAll(l);
  }

  private labelsOf(md: ModelDeployment): Labels {
    const key = `${md.metadata.namespace}/${md.metadata.name}`;
    const l: Labels = {
      modeldeployment_namespace: md.metadata.namespace!,
      modeldeployment: md.metadata.name!,
      model: md.spec.model.name ?? md.metadata.name!,
    };
    const before = this.written.get(key);
    // A renamed model: the series under the old name would otherwise stay, frozen, beside the new ones.
    if (before && before.model !== l.model) this.removeAll(before);
    this.written.set(key, l);
    return l;
  }

  private removeAnalysis(l: Labels): void {
    for (const s of this.analysisWritten.get(keyOf(l)) ?? []) this.analysis.remove(s);
    this.analysisWritten.delete(keyOf(l));
  }

  private removeAll(l: Labels): void {
    for (const p of phases) this.phase.remove({ ...l, phase: p });
    this.canaryWeight.remove(l);
    this.removeAnalysis(l);
    this.rollbacks.remove(l);
    this.revisionFailures.remove(l);
    this.drifted.remove(l);
  }
}
