/**
 * The chart's alerts and dashboard judged by Prometheus' own tools: `promtool check rules` and `promtool test
 * rules` (the unit tests of every alert) on the rules file, and every dashboard query parsed by promtool as a
 * recording rule. Also that both use only metrics the operator, the serving runtime and the router really export
 * (their own registries, built here). Needs no cluster; promtool is built once from the Go module proxy (see
 * test/support/promtool.ts for the cost). The end-to-end tier (test/e2e/dashboard.test.ts) then has a real
 * Prometheus answer every query with data.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import yaml from 'js-yaml';
import { Registry } from 'prom-client';
import { WorkQueue } from '../../operator/src/kube/workqueue.js';
import { silentLogger } from '../../operator/src/telemetry/logger.js';
import { createOperatorMetrics } from '../../operator/src/telemetry/metrics.js';
import { ServingMetrics } from '../../server-image/src/metrics.js';
import { RouterMetrics } from '../../server-image/src/router/metrics.js';
import {
  alertRules,
  dashboard,
  dashboardQueries,
  metricNames,
  rulesFile,
  rulesTestFile,
} from '../support/monitoring.js';
import { ensurePromtool, promtool } from '../support/promtool.js';

const dir = mkdtempSync(join(tmpdir(), 'modelship-monitoring-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  // The first run builds promtool.
  await ensurePromtool();
}, 30 * 60_000);

/** A rules file with each expression as a recording rule, for promtool to parse. */
function asRecordingRules(exprs: string[]): string {
  const rules = exprs.map((expr, i) => ({ record: `modelship_dashboard:query_${i}`, expr }));
  return yaml.dump({ groups: [{ name: 'dashboard', rules }] });
}

/** promtool check rules on `exprs` as recording rules. */
async function checkExprs(exprs: string[]) {
  const file = join(mkdtempSync(join(dir, 'check-')), 'rules.yaml');
  writeFileSync(file, asRecordingRules(exprs));
  return promtool(['check', 'rules', file]);
}

/** Every metric name the operator, the serving runtime and the router export, with a histogram's series. */
async function exportedNames(): Promise<Set<string>> {
  const operator = createOperatorMetrics(new Registry());
  // The work queue registers its metrics on the operator's registry when it is made.
  new WorkQueue({ name: 'modeldeployments', logger: silentLogger(), registry: operator.registry });
  const registries = [operator.registry, new ServingMetrics('r').registry, new RouterMetrics().registry];
  const names = new Set<string>();
  for (const r of registries)
    for (const m of await r.getMetricsAsJSON()) {
      names.add(m.name);
      if (String(m.type) === 'histogram')
        for (const s of ['_bucket', '_count', '_sum']) names.add(m.name + s);
    }
  return names;
}

describe('alert rules', () => {
  it('are accepted by promtool check rules', async () => {
    const result = await promtool(['check', 'rules', rulesFile]);
    expect({ code: result.code, output: result.output }).toEqual({
      code: 0,
      output: expect.stringContaining(`SUCCESS: ${alertRules().length} rules found`),
    });
  });

  it('pass their unit tests under promtool test rules', async () => {
    const result = await promtool(['test', 'rules', rulesTestFile], dirname(rulesTestFile));
    process.stdout.write(`${result.output}\n`);
    expect({ code: result.code, output: result.output }).toEqual({
      code: 0,
      output: expect.stringContaining('SUCCESS'),
    });
  });

  it('each have a severity, a summary and a description, and a unit test that fires them and one that does not', () => {
    const tests = (
      yaml.load(readFileSync(rulesTestFile, 'utf8')) as {
        tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
      }
    ).tests.flatMap((t) => t.alert_rule_test ?? []);
    const missing: string[] = [];
    for (const a of alertRules()) {
      const own = tests.filter((t) => t.alertname === a.alert);
      if (!own.some((t) => (t.exp_alerts ?? []).length > 0))
        missing.push(`${a.alert}: no alert_rule_test in which it fires`);
      if (!own.some((t) => (t.exp_alerts ?? []).length === 0))
        missing.push(`${a.alert}: no alert_rule_test in which it stays silent`);
      if (!['critical', 'warning', 'info'].includes(a.labels?.severity ?? ''))
        missing.push(`${a.alert}: no severity label`);
      if (!a.annotations?.summary || !a.annotations.description)
        missing.push(`${a.alert}: no summary or description annotation`);
    }
    expect(missing).toEqual([]);
  });

  it('use only metrics that Modelship exports', async () => {
    const names = await exportedNames();
    const unknown = alertRules().flatMap((a) =>
      metricNames(a.expr)
        .filter((n) => !names.has(n))
        .map((n) => `${a.alert}: ${n}`),
    );
    expect(unknown).toEqual([]);
  });
});

describe('the Grafana dashboard', () => {
  const vars = { namespace: 'ml', model: 'iris' };

  it('declares the datasource, namespace and model variables', () => {
    const d = dashboard();
    expect(d.schemaVersion).toBeGreaterThanOrEqual(39);
    expect(d.templating.list.map((v) => [v.name, v.type])).toEqual([
      ['datasource', 'datasource'],
      ['namespace', 'query'],
      ['model', 'query'],
    ]);
  });

  it('has only queries that promtool parses as valid PromQL, each named on failure', async () => {
    const queries = dashboardQueries(vars);
    expect(queries.length).toBeGreaterThan(20);
    const all = await checkExprs(queries.map((q) => q.expr));
    if (all.code !== 0) {
      // One by one, to name the panels at fault.
      const failures: string[] = [];
      for (const q of queries) {
        const one = await checkExprs([q.expr]);
        if (one.code !== 0) failures.push(`${q.where}: ${q.expr}\n${one.output}`);
      }
      expect(failures).toEqual([]);
    }
    expect(all.code).toBe(0);
    // The variable queries too (label_values(metric{…}, label) is Grafana's: its selector must parse).
    const selectors = dashboard()
      .templating.list.flatMap((v) => (v.definition ? [v.definition] : []))
      .map((d) => /^label_values\((.+), \w+\)$/.exec(d)![1]!.replace('$namespace', vars.namespace));
    expect((await checkExprs(selectors)).code).toBe(0);
  });

  it('is checked by a promtool that does refuse invalid PromQL', async () => {
    const result = await checkExprs(['sum by (le (rate(modelship_model_ready[1m]))']);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/parse/i);
  });

  it('uses only metrics that Modelship exports', async () => {
    const names = await exportedNames();
    const queries = [
      ...dashboardQueries(vars),
      ...dashboard().templating.list.flatMap((v) =>
        v.definition ? [{ where: `variable ${v.name}`, expr: v.definition }] : [],
      ),
    ];
    const unknown = queries.flatMap((q) =>
      metricNames(q.expr)
        .filter((n) => !names.has(n))
        .map((n) => `${q.where}: ${n}`),
    );
    expect(unknown).toEqual([]);
  });
});
