/**
 * values.yaml is the chart's documentation: every value carries a comment (on the line above it, above the run of
 * values it starts without a blank line between, or on the block it belongs to) and is described by
 * values.schema.json, so that Helm checks it. A value added without either fails here.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { repoRoot } from '../cluster/src/versions.js';

const chart = join(repoRoot, 'charts/modelship');
const valuesText = readFileSync(join(chart, 'values.yaml'), 'utf8');

type Schema = { properties?: Record<string, Schema> };

/** Every key path of values.yaml with whether it, or a block above it, has a comment. */
function documentedKeys(text: string): { path: string; documented: boolean }[] {
  const stack: { indent: number; key: string; documented: boolean }[] = [];
  const out: { path: string; documented: boolean }[] = [];
  // A comment documents the keys that follow it at its level until a blank line.
  let commentAbove: number | undefined;
  for (const line of text.split('\n')) {
    const comment = /^(\s*)#/.exec(line);
    if (comment) {
      commentAbove = comment[1]!.length;
      continue;
    }
    const m = /^(\s*)([A-Za-z0-9_]+):/.exec(line);
    if (!m) {
      if (line.trim() === '') commentAbove = undefined;
      continue;
    }
    const indent = m[1]!.length;
    while (stack.length && stack[stack.length - 1]!.indent >= indent) stack.pop();
    const documented = commentAbove === indent || stack.some((s) => s.documented);
    stack.push({ indent, key: m[2]!, documented });
    out.push({ path: stack.map((s) => s.key).join('.'), documented });
    if (commentAbove !== undefined && indent < commentAbove) commentAbove = undefined;
  }
  return out;
}

describe('the chart values', () => {
  it('documents every value in values.yaml', () => {
    const undocumented = documentedKeys(valuesText)
      .filter((k) => !k.documented)
      .map((k) => k.path);
    expect(undocumented).toEqual([]);
  });

  it('describes every value of values.yaml in values.schema.json', () => {
    const schema = JSON.parse(readFileSync(join(chart, 'values.schema.json'), 'utf8')) as Schema;
    const missing: string[] = [];
    const walk = (values: unknown, s: Schema | undefined, path: string) => {
      if (!values || typeof values !== 'object' || Array.isArray(values)) return;
      for (const [k, v] of Object.entries(values)) {
        const sub = s?.properties?.[k];
        // Free-form maps (labels, resources) have no properties: their keys are the user's.
        if (s?.properties && !sub) missing.push(`${path}${k}`);
        walk(v, sub, `${path}${k}.`);
      }
    };
    walk(yaml.load(valuesText), schema, '');
    expect(missing).toEqual([]);
  });
});
