/**
 * ModelDeployment health as the GitOps tools judge it, with their own code: every state the operator's reconciler
 * produces (test/gitops/scenarios.ts) goes through Argo CD's Lua engine with the committed argocd-cm.yaml, read by
 * Argo CD's settings manager, and through kstatus.Compute (test/gitops/main.go). Needs no cluster, but Go and the
 * Go module proxy; the program is built once per content of its sources (cold: see check.ts).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { repoRoot } from '../../cluster/src/versions.js';
import { argocdCmFile } from '../../scripts/argocd-cm.js';
import { gitopsCheckBinary, runGitopsCheck } from '../gitops/check.js';
import { writeTestdata } from '../gitops/testdata.js';

const dir = mkdtempSync(join(tmpdir(), 'modelship-gitops-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('GitOps health of ModelDeployments', () => {
  it(
    'is what Argo CD (the committed health check) and kstatus say for every state the operator writes',
    async () => {
      const expectations = await writeTestdata(dir);
      const binary = await gitopsCheckBinary();
      const result = await runGitopsCheck(binary, join(repoRoot, argocdCmFile), dir);
      process.stdout.write(`${result.output}\n`);
      expect(result.output).not.toContain('FAIL');
      expect(result.ok).toBe(true);
      // Every object was judged by both tools: no expectation was skipped.
      const rows = result.output.split('\n').filter((l) => /^ok\s/.test(l));
      expect(rows).toHaveLength(expectations.length * 2);
    },
    30 * 60_000,
  );

  it(
    'fails, naming the object, when a judgement differs from the expectation',
    async () => {
      // The check is worth something only if it can fail: the same objects, with one expectation changed.
      const wrong = mkdtempSync(join(tmpdir(), 'modelship-gitops-wrong-'));
      try {
        cpSync(dir, wrong, { recursive: true });
        const tests = join(wrong, 'health_test.yaml');
        writeFileSync(tests, readFileSync(tests, 'utf8').replace('status: Healthy', 'status: Suspended'));
        const result = await runGitopsCheck(await gitopsCheckBinary(), join(repoRoot, argocdCmFile), wrong);
        expect(result.ok).toBe(false);
        expect(result.output).toMatch(/FAIL\s+argocd\s+ready\.yaml\s+Healthy/);
      } finally {
        rmSync(wrong, { recursive: true, force: true });
      }
    },
    30 * 60_000,
  );
});
