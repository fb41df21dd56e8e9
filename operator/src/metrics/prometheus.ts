/**
 * The Prometheus metric source: each measurement is one PromQL instant query to the configured address, built
 * from a template with variables. The default templates read the same modelship_ series the built-in scraping
 * does, with the `namespace` label that Prometheus' Kubernetes service discovery usually attaches (relabelled
 * from __meta_kubernetes_namespace) and the `revision` label the series carry themselves.
 */
import type { MetricName } from '../rollout/judge.js';
import { noMeasurements, type Measurements } from './measurements.js';
import { routerSeries, serverSeries } from './readings.js';

export interface QueryVariables {
  namespace: string;
  name: string;
  revision: string;
  /** A PromQL range, e.g. "30s". */
  window: string;
}

/** The samples behind each kind of metric: requests, ground-truth rows, compared mirrored requests. */
export type QueryTemplates = Record<'requests' | 'feedbackRows' | 'shadowCompared' | MetricName, string>;

const routerFilter = '{namespace="{{namespace}}",revision="{{revision}}"}';
const routerErrors = `{namespace="{{namespace}}",revision="{{revision}}",code=~"${routerSeries.errorCodes.join('|')}"}`;
const serverFilter = '{namespace="{{namespace}}",revision="{{revision}}"}';
const serverErrors = `{namespace="{{namespace}}",revision="{{revision}}",reason=~"${serverSeries.errorReasons.join('|')}"}`;

const shadowFilter = (result: string) =>
  `{namespace="{{namespace}}",revision="{{revision}}",result=~"${result}"}`;
const shadowCompared = `sum(increase(${routerSeries.shadow}${shadowFilter('agree|disagree')}[{{window}}]))`;

/** Ground truth joined by the serving pods and mirrored requests compared by the router: the same either way. */
const judgedQueries = {
  feedbackRows: `sum(increase(modelship_feedback_rows_total${serverFilter}[{{window}}]))`,
  accuracy: `sum(increase(modelship_feedback_correct_total${serverFilter}[{{window}}])) / sum(increase(modelship_feedback_rows_total${serverFilter}[{{window}}]))`,
  meanAbsoluteError: `sum(increase(modelship_feedback_absolute_error_sum${serverFilter}[{{window}}])) / sum(increase(modelship_feedback_rows_total${serverFilter}[{{window}}]))`,
  shadowCompared,
  agreement: `(sum(increase(${routerSeries.shadow}${shadowFilter('agree')}[{{window}}])) or vector(0)) / ${shadowCompared}`,
};

/** Which samples count for a metric. */
const samplesQuery: Record<MetricName, 'requests' | 'feedbackRows' | 'shadowCompared'> = {
  errorRate: 'requests',
  latencyP99: 'requests',
  accuracy: 'feedbackRows',
  meanAbsoluteError: 'feedbackRows',
  agreement: 'shadowCompared',
};

/** Through the router: the client's view of each revision. */
export const routerQueries: QueryTemplates = {
  ...judgedQueries,
  requests: `sum(increase(${routerSeries.requests}${routerFilter}[{{window}}]))`,
  // A revision that never failed has no error series at all: 0 errors, not no data.
  errorRate: `(sum(increase(${routerSeries.requests}${routerErrors}[{{window}}])) or vector(0)) / sum(increase(${routerSeries.requests}${routerFilter}[{{window}}]))`,
  latencyP99: `histogram_quantile(0.99, sum by (le) (increase(${routerSeries.duration}${routerFilter}[{{window}}]))) * 1000`,
};

/** Without a router: each revision's pods report themselves. */
export const serverQueries: QueryTemplates = {
  ...judgedQueries,
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

/** Each revision's measurements of `metrics` from Prometheus (the others: no data). */
export async function prometheusMeasurements(
  address: string,
  templates: QueryTemplates,
  base: Omit<QueryVariables, 'revision'>,
  revisions: string[],
  metrics: readonly MetricName[],
): Promise<Record<string, Measurements>> {
  const out: Record<string, Measurements> = {};
  const wanted = [...new Set(metrics.flatMap((m) => [m, samplesQuery[m]]))];
  for (const revision of revisions) {
    const v = { ...base, revision };
    const values = await Promise.all(wanted.map((q) => queryScalar(address, render(templates[q], v))));
    const value = new Map(wanted.map((q, i) => [q, values[i]]));
    const m: Measurements = { ...noMeasurements };
    for (const metric of metrics)
      m[metric] = { samples: Math.round(value.get(samplesQuery[metric]) ?? 0), value: value.get(metric) };
    out[revision] = m;
  }
  return out;
}
