/**
 * Reading what the serving pods watch (spec.monitoring): the stable revision's pods are scraped (never more often
 * than the interval per ModelDeployment) and monitoring/drift.ts and monitoring/feedback.ts decide what their
 * drift and ground-truth series mean. The reading goes straight to the pods, also when the canary analysis reads a
 * Prometheus: each pod's windows are complete in themselves, so there is nothing to aggregate over time.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { labelKeys } from '../desired/names.js';
import { podMetricsUrl } from '../desired/pod.js';
import type { Clock } from '../kube/clock.js';
import { parseExposition, type Sample } from '../metrics/exposition.js';
import { fetchText, type FetchText } from '../metrics/scraper.js';

const scrapeTimeoutMs = 2000;

export class ModelWatch {
  private readonly lastRead = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly fetch: FetchText = fetchText,
  ) {}

  /**
   * The samples of each of `revision`'s ready pods that answered, or undefined when they were read less than
   * `intervalMs` ago (the status keeps the last reading) or no pod answered.
   */
  async read(
    key: string,
    pods: V1Pod[],
    revision: string,
    intervalMs: number,
  ): Promise<Sample[][] | undefined> {
    const now = this.clock.now();
    const last = this.lastRead.get(key);
    if (last !== undefined && now - last < intervalMs) return undefined;
    this.lastRead.set(key, now);
    const targets = pods.filter(
      (p) =>
        p.metadata?.labels?.[labelKeys.revision] === revision &&
        p.status?.podIP &&
        !p.metadata?.deletionTimestamp &&
        p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    const readings = await Promise.all(
      targets.map(async (p) => {
        try {
          const { url, tls } = podMetricsUrl(p);
          const text = await this.fetch(url, scrapeTimeoutMs, tls);
          return parseExposition(text);
        } catch {
          return undefined;
        }
      }),
    );
    const answered = readings.filter((r): r is Sample[] => r !== undefined);
    return answered.length ? answered : undefined;
  }

  /** When the next reading is due, ms from now. */
  dueInMs(key: string, intervalMs: number): number {
    const last = this.lastRead.get(key);
    return last === undefined ? 0 : Math.max(0, last + intervalMs - this.clock.now());
  }

  forget(key: string): void {
    this.lastRead.delete(key);
  }
}
