/**
 * The built-in metric source: the operator scrapes the router's pods (or, without a router, the revisions' own pods)
 * over HTTP and keeps per-revision totals in memory, so no Prometheus is needed and a verdict is possible one
 * interval after a canary starts taking traffic. I/O at the edge; the arithmetic is traffic.ts'.
 */
import { request } from 'node:https';
import type { MetricsTls } from '../desired/security.js';
import type { Clock } from '../kube/clock.js';
import type { CaSource } from '../kube/secret-ca.js';
import { parseExposition, type Sample } from './exposition.js';
import { measurementsOf, type Measurements } from './measurements.js';
import { TrafficTotals, type RevisionCounters } from './traffic.js';

export type ReadingsOf = (samples: Sample[]) => Map<string, RevisionCounters>;

export interface ScrapeTarget {
  /** Stable id of the target (the pod's name): its counters are tracked across scrapes. */
  id: string;
  url: string;
  /** For an https:// url: the Secret whose ca.crt verifies the pod, and the name its certificate carries. */
  tls?: MetricsTls;
  /** Which of its series count, and for what (a router's requests, a serving pod's ground truth, ...). */
  readings: ReadingsOf;
}

/** Fetches a target's exposition text; rejects when it cannot (or, with `tls`, when the pod does not verify). */
export type FetchText = (url: string, timeoutMs: number, tls?: MetricsTls) => Promise<string>;

/** Plain http only: refuses a TLS target rather than reading it unverified. */
export const fetchText: FetchText = async (url, timeoutMs, tls) => {
  if (tls) throw new Error(`${url}: no CA source to verify the pod's metrics with`);
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.text();
};

/** Largest exposition read over TLS: a pod's metrics are a few hundred kB at most. */
const maxExpositionBytes = 16 * 1024 * 1024;

/**
 * http as fetchText; https verified against the CA of the target's Secret and its certificate's name (the pod is
 * addressed by IP, the certificate names the Service): never `rejectUnauthorized: false`.
 */
export function verifiedFetchText(caOf: CaSource): FetchText {
  return async (url, timeoutMs, tls) => {
    if (!tls) return fetchText(url, timeoutMs);
    const ca = await caOf(tls.namespace, tls.secretName);
    return new Promise<string>((resolve, reject) => {
      const req = request(url, { ca, servername: tls.serverName, timeout: timeoutMs }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`${url}: HTTP ${res.statusCode}`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxExpositionBytes)
            req.destroy(new Error(`${url}: more than ${maxExpositionBytes} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${url}: no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    });
  };
}

/** Scrapes closer together than this are skipped: many reconciles in a burst make one scrape. */
const minScrapeGapMs = 1000;
const scrapeTimeoutMs = 2000;

export class Scraper {
  private readonly byKey = new Map<string, { totals: TrafficTotals; lastAt: number; keepMs: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly fetch: FetchText = fetchText,
  ) {}

  /**
   * Scrapes every target of `key` (a ModelDeployment) and adds what they report to its totals. A target that does
   * not answer is left out of this scrape (a crashed pod): its counters start from a new baseline when it is back.
   */
  async observe(key: string, targets: ScrapeTarget[], keepMs: number): Promise<void> {
    const now = this.clock.now();
    let entry = this.byKey.get(key);
    if (entry && now - entry.lastAt < minScrapeGapMs) return;
    if (!entry || entry.keepMs < keepMs) {
      entry = { totals: entry?.totals ?? new TrafficTotals(keepMs), lastAt: -Infinity, keepMs };
      this.byKey.set(key, entry);
    }
    entry.lastAt = now;
    const answers = await Promise.all(
      targets.map(async (t) => {
        try {
          return [
            t.id,
            t.readings(parseExposition(await this.fetch(t.url, scrapeTimeoutMs, t.tls))),
          ] as const;
        } catch {
          return undefined;
        }
      }),
    );
    entry.totals.record(now, new Map(answers.filter((a) => a !== undefined)));
  }

  /** Each revision's measurements over the last `windowMs` (no data until two scrapes). */
  measure(key: string, revisions: string[], windowMs: number): Record<string, Measurements> {
    const entry = this.byKey.get(key);
    const now = this.clock.now();
    return Object.fromEntries(
      revisions.map((r) => [r, measurementsOf(entry?.totals.window(r, windowMs, now))]),
    );
  }

  /** Drops what is kept for a ModelDeployment (deleted, or no canary any more). */
  forget(key: string): void {
    this.byKey.delete(key);
  }

  /** ModelDeployments with scrape history (for tests and memory checks). */
  size(): number {
    return this.byKey.size;
  }
}
