/**
 * Builds test/gitops (Argo CD's Lua health engine and kstatus in one Go program) once per content of its sources,
 * cached under <cache>/gitops-check/<hash of go.mod, go.sum and *.go>/bin/gitops-check, and runs it.
 * argo-cd v3.6.1 needs Go 1.27: GOTOOLCHAIN fetches it through the Go module proxy when the local Go is older.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../../cluster/src/versions.js';
import { cachedTool } from '../../cluster/src/tool-cache.js';

const run = promisify(execFile);
export const moduleDir = join(repoRoot, 'test/gitops');
const toolchain = 'go1.27.3';

/** The cache key: everything that decides the binary. */
function sourceHash(): string {
  const h = createHash('sha256');
  const files = [
    'go.mod',
    'go.sum',
    ...readdirSync(moduleDir)
      .filter((f) => f.endsWith('.go'))
      .sort(),
  ];
  for (const f of files)
    h.update(`${f}\0`)
      .update(readFileSync(join(moduleDir, f)))
      .update('\0');
  return h.digest('hex').slice(0, 16);
}

export async function gitopsCheckBinary(): Promise<string> {
  return cachedTool(
    'gitops-check',
    sourceHash(),
    'gitops-check',
    'about 470 CPU-s, 1.4 GB of Go build cache; Go 1.27 and the modules come from the Go module proxy',
    async (dir, log) => {
      const t0 = Date.now();
      await run('go', ['build', '-o', join(dir, 'bin', 'gitops-check'), '.'], {
        cwd: moduleDir,
        env: {
          ...process.env,
          // A local Go older than go.mod's `go 1.27.0` refuses to build; this fetches the one it names.
          GOTOOLCHAIN: toolchain,
          // The committed go.sum pins everything; a caller's GOFLAGS (-p=1 on a busy machine) come after ours.
          GOFLAGS: `-mod=readonly -trimpath ${process.env.GOFLAGS ?? ''}`.trim(),
          GOWORK: 'off',
        },
        maxBuffer: 64 << 20,
      });
      log(`built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    },
  );
}

export interface CheckRun {
  ok: boolean;
  /** The table the program prints: one row per object and tool. */
  output: string;
}

/** Runs every object of `testdata` through Argo CD's health check in `argocdCm` and through kstatus. */
export async function runGitopsCheck(binary: string, argocdCm: string, testdata: string): Promise<CheckRun> {
  try {
    const { stdout, stderr } = await run(binary, ['-argocd-cm', argocdCm, '-testdata', testdata]);
    return { ok: true, output: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: (e.stdout ?? '') + (e.stderr ?? e.message) };
  }
}
