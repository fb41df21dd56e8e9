/**
 * Judging a canary: where its traffic is measured (the router's pods, or the revisions' own pods, scraped by the
 * operator; or a Prometheus), and the verdict of each metric check. The measurement is I/O; the verdicts are
 * judge.ts'.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { formatDuration } from '../api/v1alpha1/duration.js';
import { labelKeys } from '../desired/names.js';
import { ports } from '../desired/pod.js';
import type { Measurements } from '../metrics/measurements.js';
import { prometheusMeasurements, routerQueries, serverQueries } from '../metrics/prometheus.js';
import { routerReadings, serverReadings } from '../metrics/readings.js';
import type { Scraper, ScrapeTarget } from '../metrics/scraper.js';
import { judge, type Verdict } from '../rollout/judge.js';
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

/** Where the traffic of a ModelDeployment's revisions is counted: its router, or each revision's own pods. */
export function scrapeTargets(i: AnalysisInput): { targets: ScrapeTarget[]; router: boolean } {
  const router = i.provider === 'Router';
  const wanted = (p: V1Pod) =>
    router
      ? p.metadata?.labels?.[labelKeys.component] === routerComponent
      : [i.stable.revision, i.canary.revision].includes(p.metadata?.labels?.[labelKeys.revision] ?? '');
  const targets = i.pods
    .filter((p) => wanted(p) && p.status?.podIP && !p.metadata?.deletionTimestamp)
    .map((p) => ({ id: p.metadata!.name!, url: `http://${p.status!.podIP}:${ports.metrics}/metrics` }));
  return { targets, router };
}

export class CanaryAnalysis {
  constructor(private readonly scraper: Scraper) {}

  /**
   * Adds a scrape to the window history (called on every reconcile while a canary exists, so that a judgement has
   * a baseline; scrapes closer than a second apart are merged). Nothing to do with a Prometheus source.
   */
  async observe(i: AnalysisInput): Promise<void> {
    if (i.plan.analysis.prometheus) return;
    const { targets, router } = scrapeTargets(i);
    await this.scraper.observe(
      i.key,
      targets,
      router ? routerReadings : serverReadings,
      i.plan.analysis.windowMs + i.plan.analysis.intervalMs,
    );
  }

  /** Every metric check of the plan, for the canary against stable over the window. */
  async judge(i: AnalysisInput): Promise<Verdict[]> {
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
        );
      } catch (err) {
        // An unreachable Prometheus is no data, not a verdict: the noData policy decides.
        return a.checks.map((c) => ({
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
    return a.checks.map((c) => judge(c, canary[c.metric], stable[c.metric]));
  }

  forget(key: string): void {
    this.scraper.forget(key);
  }
}
