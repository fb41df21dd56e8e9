/**
 * The alert rules and the Grafana dashboard the chart ships (charts/modelship/files/), read as the tests need them:
 * the alerts with their labels and annotations, and every dashboard query with Grafana's variables replaced by
 * concrete values, so that promtool and a real Prometheus can judge them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { repoRoot } from '../../cluster/src/versions.js';

export const rulesFile = join(repoRoot, 'charts/modelship/files/prometheus-rules.yaml');
export const dashboardFile = join(repoRoot, 'charts/modelship/files/grafana-dashboard.json');
export const rulesTestFile = join(repoRoot, 'test/monitoring/prometheus-rules.test.yaml');

export interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function ruleGroups(): { name: string; rules: Rule[] }[] {
  return (yaml.load(readFileSync(rulesFile, 'utf8')) as { groups: { name: string; rules: Rule[] }[] }).groups;
}

export function alertRules(): (Rule & { alert: string })[] {
  return ruleGroups().flatMap((g) => g.rules.filter((r): r is Rule & { alert: string } => !!r.alert));
}

interface Panel {
  id: number;
  title: string;
  type: string;
  targets?: { refId: string; expr: string }[];
  panels?: Panel[];
}

export interface Dashboard {
  title: string;
  schemaVersion: number;
  templating: { list: { name: string; type: string; query?: unknown; definition?: string }[] };
  panels: Panel[];
}

export function dashboard(): Dashboard {
  return JSON.parse(readFileSync(dashboardFile, 'utf8')) as Dashboard;
}

export interface DashboardQuery {
  /** Names the query in failure messages: the panel's title and the target's refId. */
  where: string;
  expr: string;
}

/**
 * Every panel target's expression with the dashboard's variables and Grafana's built-in ones replaced: `vars`
 * for the dashboard's own (namespace, model), a range interval for `$__rate_interval` and `$__interval`, and a
 * range for `$__range`. A variable left unreplaced is an error that names the panel.
 */
export function dashboardQueries(
  vars: Record<string, string>,
  intervals: { rate: string; range: string } = { rate: '1m', range: '1h' },
): DashboardQuery[] {
  const values: Record<string, string> = {
    ...vars,
    __rate_interval: intervals.rate,
    __interval: intervals.rate,
    __range: intervals.range,
  };
  const panels = (list: Panel[]): Panel[] => list.flatMap((p) => [p, ...panels(p.panels ?? [])]);
  return panels(dashboard().panels).flatMap((p) =>
    (p.targets ?? []).map((t) => {
      const where = `panel "${p.title}" (id ${p.id}), target ${t.refId}`;
      const expr = t.expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (all, braced?: string, bare?: string) => {
        const value = values[(braced ?? bare)!];
        if (value === undefined) throw new Error(`${where}: no value for the variable ${all} in ${t.expr}`);
        return value;
      });
      return { where, expr };
    }),
  );
}

/** The metric names an expression mentions: every `modelship_…` identifier (no other metrics are used). */
export function metricNames(expr: string): string[] {
  return [...new Set(expr.match(/\bmodelship_[a-z0-9_]+/g) ?? [])];
}
