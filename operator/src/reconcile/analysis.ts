/**
 * Judging a canary: where its traffic is measured (the router's pods, or the revisions' own pods, scraped by the
 * operator; or a Prometheus), and the verdict of each metric check. The measurement is I/O; the verdicts are
 * judge.ts'.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { formatDuration } from '../api/v1alpha1/duration.js';
import { labelKeys } from '../desired/names.js';
import { podMetricsUrl } from '../desired/pod.js';
import type { Measurements } from '../metrics/measurements.js';
import { prometheusMeasurements, routerQueries, serverQueries } from '../metrics/prometheus.js';
import { feedbackReadings, routerReadings, serverReadings } from '../metrics/readings.js';
import type { Scraper, ScrapeTarget } from '../metrics/scraper.js';
import { judge, type MetricCheck, type Verdict } from '../rollout/judge.js';
import type { RevisionRef } from '../rollout/machine.js';
import type { RolloutPlan } from '../rollout/plan.js';
import { routerComponent } from '../traffic/router.js';
import type { Provider } from './objects.js';

export interface AnalysisInput {
  /** "namespace/name" of the ModelDeployment. */
  key: string;
  namespace: string;
  name: string;
  plan: RolloutPlan;
  provider: Provider;
  stable: RevisionRef;
  canary: RevisionRef;
  /** The ModelDeployment's pods (router and revisions), as the cache shows them. */
  pods: V1Pod[];
}

const groundTruthMetrics: ReadonlySet<string> = new Set(['accuracy', 'meanAbsoluteError']);

/**
 * Where the traffic of a ModelDeployment's revisions is counted: its router (requests, and the comparisons of
 * mirrored ones), or each revision's own pods. Ground truth is joined by the serving pods, so with a router they
 * are scraped too when a check judges on it, for that alone.
 */
export function scrapeTargets(i: AnalysisInput): ScrapeTarget[] {
  const router = i.provider === 'Router';
  const groundTruth = i.plan.analysis.checks.some((c) => groundTruthMetrics.has(c.metric));
  const targets: ScrapeTarget[] = [];
  for (const p of i.pods) {
    if (!p.status?.podIP || p.metadata?.deletionTimestamp) continue;
    const id = p.metadata!.name!;
    if (p.metadata?.labels?.[labelKeys.component] === routerComponent) {
      if (router) targets.push({ id, ...podMetricsUrl(p), readings: routerReadings });
    } else if (
      [i.stable.revision, i.canary.revision].includes(p.metadata?.labels?.[labelKeys.revision] ?? '')
    ) {
      if (!router) targets.push({ id, ...podMetricsUrl(p), readings: serverReadings });
      else if (groundTruth) targets.push({ id, ...podMetricsUrl(p), readings: feedbackReadings });
    }
  }
  return targets;
}

export class CanaryAnalysis {
  constructor(private readonly scraper: Scraper) {}

  /**
   * Adds a scrape to the window history (called on every reconcile while a canary exists, so that a judgement has
   * a baseline; scrapes closer than a second apart are merged). Nothing to do with a Prometheus source.
   */
  async observe(i: AnalysisInput): Promise<void> {
    if (i.plan.analysis.prometheus) return;
    await this.scraper.observe(
      i.key,
      scrapeTargets(i),
      i.plan.analysis.windowMs + i.plan.analysis.intervalMs,
    );
  }

  /**
   * `checks` (the plan's, or the shadow step's agreement check: see checksDue) for the canary against stable over
   * the window.
   */
  async judge(i: AnalysisInput, checks: MetricCheck[]): Promise<Verdict[]> {
    const revisions = [i.stable.revision, i.canary.revision];
    const a = i.plan.analysis;
    let measured: Record<string, Measurements>;
    if (a.prometheus) {
      try {
        measured = await prometheusMeasurements(
          a.prometheus.address,
          { ...(i.provider === 'Router' ? routerQueries : serverQueries), ...a.prometheus.queries },
          { namespace: i.namespace, name: i.name, window: formatDuration(a.windowMs) },
          revisions,
          checks.map((c) => c.metric),
        );
      } catch (err) {
        // An unreachable Prometheus is no data, not a verdict: the noData policy decides.
        return checks.map((c) => ({
          metric: c.metric,
          verdict: 'NoData' as const,
          samples: 0,
          reason: `${c.metric}: ${(err as Error).message}`,
        }));
      }
    } else {
      measured = this.scraper.measure(i.key, revisions, a.windowMs);
    }
    const canary = measured[i.canary.revision]!;
    const stable = measured[i.stable.revision]!;
    return checks.map((c) => judge(c, canary[c.metric], stable[c.metric]));
  }

  forget(key: string): void {
    this.scraper.forget(key);
  }
}
