/**
 * The Prometheus metric source: each measurement is one PromQL instant query to the configured address, built
 * from a template with variables. The default templates read the same modelship_ series the built-in scraping
 * does, with the `namespace` label that Prometheus' Kubernetes service discovery usually attaches (relabelled
 * from __meta_kubernetes_namespace) and the `revision` label the series carry themselves.
 */
import type { MetricName } from '../rollout/judge.js';
import type { Measurements } from './measurements.js';
import { routerSeries, serverSeries } from './readings.js';

export interface QueryVariables {
  namespace: string;
  name: string;
  revision: string;
  /** A PromQL range, e.g. "30s". */
  window: string;
}

export type QueryTemplates = Record<'requests' | MetricName, string>;

const routerFilter = '{namespace="{{namespace}}",revision="{{revision}}"}';
const routerErrors = `{namespace="{{namespace}}",revision="{{revision}}",code=~"${routerSeries.errorCodes.join('|')}"}`;
const serverFilter = '{namespace="{{namespace}}",revision="{{revision}}"}';
const serverErrors = `{namespace="{{namespace}}",revision="{{revision}}",reason=~"${serverSeries.errorReasons.join('|')}"}`;

/** Through the router: the client's view of each revision. */
export const routerQueries: QueryTemplates = {
  requests: `sum(increase(${routerSeries.requests}${routerFilter}[{{window}}]))`,
  // A revision that never failed has no error series at all: 0 errors, not no data.
  errorRate: `(sum(increase(${routerSeries.requests}${routerErrors}[{{window}}])) or vector(0)) / sum(increase(${routerSeries.requests}${routerFilter}[{{window}}]))`,
  latencyP99: `histogram_quantile(0.99, sum by (le) (increase(${routerSeries.duration}${routerFilter}[{{window}}]))) * 1000`,
};

/** Without a router: each revision's pods report themselves. */
export const serverQueries: QueryTemplates = {
  requests: `sum(increase(${serverSeries.success}${serverFilter}[{{window}}])) + sum(increase(${serverSeries.failure}${serverFilter}[{{window}}]) or vector(0))`,
  errorRate: `(sum(increase(${serverSeries.failure}${serverErrors}[{{window}}])) or vector(0)) / (sum(increase(${serverSeries.success}${serverFilter}[{{window}}])) + (sum(increase(${serverSeries.failure}${serverFilter}[{{window}}])) or vector(0)))`,
  latencyP99: `histogram_quantile(0.99, sum by (le) (increase(${serverSeries.duration}${serverFilter}[{{window}}]))) * 1000`,
};

/** Fills a template's {{variables}}; values are escaped for a PromQL string literal. */
export function render(template: string, v: QueryVariables): string {
  return template.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => {
    const value = (v as unknown as Record<string, string>)[key];
    return value === undefined ? whole : value.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  });
}

/** One number from an instant query; undefined when the result is empty or not a number (no data). */
export async function queryScalar(
  address: string,
  query: string,
  timeoutMs = 5000,
): Promise<number | undefined> {
  const url = new URL('/api/v1/query', address);
  url.searchParams.set('query', query);
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const body = (await res.json().catch(() => undefined)) as
    { status?: string; error?: string; data?: { resultType?: string; result?: unknown } } | undefined;
  if (!res.ok || body?.status !== 'success')
    throw new Error(`Prometheus at ${address} refused the query: ${body?.error ?? `HTTP ${res.status}`}`);
  const result = body.data?.result;
  let text: string | undefined;
  if (body.data?.resultType === 'scalar') text = (result as [number, string])[1];
  else if (Array.isArray(result) && result.length > 0)
    text = (result[0] as { value: [number, string] }).value[1];
  const n = text === undefined ? NaN : Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** Each revision's measurements from Prometheus. */
export async function prometheusMeasurements(
  address: string,
  templates: QueryTemplates,
  base: Omit<QueryVariables, 'revision'>,
  revisions: string[],
): Promise<Record<string, Measurements>> {
  const out: Record<string, Measurements> = {};
  for (const revision of revisions) {
    const v = { ...base, revision };
    const [requests, errorRate, latencyP99] = await Promise.all(
      (['requests', 'errorRate', 'latencyP99'] as const).map((m) =>
        queryScalar(address, render(templates[m], v)),
      ),
    );
    const samples = Math.round(requests ?? 0);
    out[revision] = { errorRate: { samples, value: errorRate }, latencyP99: { samples, value: latencyP99 } };
  }
  return out;
}
