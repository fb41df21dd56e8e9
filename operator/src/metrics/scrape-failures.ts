/**
 * Makes failed scrapes of pods visible. The scraper leaves a pod that does not answer out of a scrape (a crashed pod
 * is normal during a rollout), so a scrape that can never work (a metrics Secret without ca.crt, a certificate that
 * does not verify, a port that refuses) would otherwise only show as "not enough samples". Every failure is counted
 * by a bounded reason, and logged once per pod and cause (again only after the pod answered or the cause changed).
 */
import type { Counter } from 'prom-client';
import type { FetchText } from './scraper.js';

export const scrapeFailureReasons = ['ca', 'tls', 'timeout', 'connect', 'http', 'other'] as const;
export type ScrapeFailureReason = (typeof scrapeFailureReasons)[number];

const tlsCodes =
  /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)/;
const connectCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EPIPE',
]);

/** Why a scrape failed, as a label of few values. Reads the error's code (or its cause's: fetch wraps). Pure. */
export function scrapeFailureReason(err: unknown): ScrapeFailureReason {
  const e = err as { code?: string; name?: string; message?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code ?? '';
  const message = e.message ?? '';
  if (/has no ca\.crt|no CA source/.test(message)) return 'ca';
  if (tlsCodes.test(code)) return 'tls';
  if (connectCodes.has(code)) return 'connect';
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || /no answer within|timeout/i.test(message))
    return 'timeout';
  if (/: HTTP \d{3}$/.test(message)) return 'http';
  return 'other';
}

/** Pods whose last failure is remembered to log it once; beyond this the oldest are forgotten (logged again). */
const maxRemembered = 1000;

/** Where a failure is logged (the operator's winston logger). */
export interface WarningLog {
  warn(message: string, meta: Record<string, unknown>): unknown;
}

/** A FetchText that reports what fails (and forgets a pod's failure once it answers) and rethrows. */
export function reportingFetch(fetch: FetchText, logger: WarningLog, failures: Counter<'reason'>): FetchText {
  const lastLogged = new Map<string, string>();
  return async (url, timeoutMs, tls) => {
    try {
      const text = await fetch(url, timeoutMs, tls);
      lastLogged.delete(url);
      return text;
    } catch (err) {
      const reason = scrapeFailureReason(err);
      failures.inc({ reason });
      const message = (err as Error).message;
      if (lastLogged.get(url) !== message) {
        lastLogged.delete(url);
        lastLogged.set(url, message);
        if (lastLogged.size > maxRemembered) lastLogged.delete(lastLogged.keys().next().value!);
        logger.warn('scrape of a pod failed; it is left out of the measurements until it answers', {
          url,
          reason,
          error: message,
          ...(tls ? { tlsSecret: `${tls.namespace}/${tls.secretName}`, serverName: tls.serverName } : {}),
        });
      }
      throw err;
    }
  };
}
