/**
 * Writes the GitOps health test data into a folder: one ModelDeployment per scenario (scenarios.ts) and one
 * ModelVersion per phase (version-scenarios.ts), Argo CD's
 * health_test.yaml (the format of argo-cd's resource_customizations/<group>/<kind>/health_test.yaml, run there by
 * TestLuaHealthScript) and kstatus_test.yaml (the status kstatus.Compute must give each object). test/gitops/main.go
 * reads that folder.
 *
 *   tsx test/gitops/testdata.ts <dir>
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import type { ModelDeployment } from '../../operator/src/api/v1alpha1/schema.js';
import { buildScenarios, type Scenario } from './scenarios.js';
import { buildVersionScenarios } from './version-scenarios.js';

export interface Expectation {
  inputPath: string;
  argo: { status: string; message: string };
  kstatus: string;
}

function argoMessage(s: Scenario, md: ModelDeployment): string {
  const from = s.argoMessage;
  if ('text' in from) return from.text(md);
  const c = md.status?.conditions?.find((x) => x.type === from.condition);
  if (!c)
    throw new Error(`scenario ${s.name}: no ${from.condition} condition to take Argo CD's message from`);
  return c.message;
}

const dump = (o: unknown) => yaml.dump(o, { lineWidth: -1, noRefs: true, sortKeys: false });

/** Writes the folder; returns what each object must be judged, for the caller's own report. */
export async function writeTestdata(dir: string): Promise<Expectation[]> {
  mkdirSync(dir, { recursive: true });
  const expectations: Expectation[] = [];
  for (const { scenario, md } of await buildScenarios()) {
    const inputPath = `${scenario.name}.yaml`;
    writeFileSync(join(dir, inputPath), dump(md));
    expectations.push({
      inputPath,
      argo: { status: scenario.argo, message: argoMessage(scenario, md) },
      kstatus: scenario.kstatus,
    });
  }
  for (const v of buildVersionScenarios()) {
    const inputPath = `${v.name}.yaml`;
    writeFileSync(
      join(dir, inputPath),
      dump({ ...v.version, apiVersion: 'modelship.dev/v1alpha1', kind: 'ModelVersion' }),
    );
    const accepted = v.version.status?.conditions?.find((c) => c.type === 'Accepted');
    expectations.push({
      inputPath,
      argo: { status: v.argo, message: accepted?.message ?? '' },
      kstatus: v.kstatus,
    });
  }
  writeFileSync(
    join(dir, 'health_test.yaml'),
    dump({ tests: expectations.map((e) => ({ healthStatus: e.argo, inputPath: e.inputPath })) }),
  );
  writeFileSync(
    join(dir, 'kstatus_test.yaml'),
    dump({ tests: expectations.map((e) => ({ status: e.kstatus, inputPath: e.inputPath })) }),
  );
  return expectations;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: tsx test/gitops/testdata.ts <dir>');
    process.exit(2);
  }
  const written = await writeTestdata(dir);
  console.log(`wrote ${written.length} objects, health_test.yaml and kstatus_test.yaml to ${dir}`);
}
