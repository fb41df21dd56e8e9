/**
 * promtool, Prometheus' own checker of rule files and runner of rule unit tests, at the same version as the
 * Prometheus of the end-to-end tier (PROMETHEUS_VERSION in cluster/versions.env), so that the alerts and the
 * dashboard's queries are judged by the PromQL parser and rule engine that evaluate them there.
 *
 * Built from its Go module as prometheus.ts builds Prometheus (same tags, flags and version stamp), under its own
 * tool name so that the two binaries never share a cache folder. promtool imports Kubernetes discovery itself
 * (`check service-discovery`), so `enable_kubernetes_sd` changes nothing but keeps the build's packages identical
 * to Prometheus' and the Go build cache shared with it. Cold cost, measured on this 2-core machine (2026-12-02,
 * beside other jobs, load 3 to 9) with an empty Go build cache and the module cache Prometheus' build had left:
 * 286 CPU-s (236 user, 50 system) and 5.8 minutes, one module downloaded (the rest were Prometheus'), a 54 MB
 * binary, 0.95 GB peak RSS. After a Prometheus build (same build cache) it takes seconds.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { runTool } from '../../cluster/src/images/tools.js';
import { cachedTool } from '../../cluster/src/tool-cache.js';
import { readVersions } from '../../cluster/src/versions.js';

const COLD = 'about 290 CPU-s, 5 to 6 min on 2 cores; seconds after a Prometheus build';

/** The promtool binary at PROMETHEUS_VERSION, built once. */
export function ensurePromtool(): Promise<string> {
  const version = readVersions().PROMETHEUS_VERSION!;
  return cachedTool('promtool', version, 'promtool', COLD, async (dir, log) => {
    const pkg = 'github.com/prometheus/prometheus/cmd/promtool';
    // Module v0.316.0 is Prometheus 3.16.0: the version `promtool --version` reports.
    const m = /^v0\.(\d)(\d+)\.(\d+)$/.exec(version);
    const release = m ? `${m[1]}.${Number(m[2])}.${m[3]}` : version;
    const ldflags = `-s -w -X github.com/prometheus/common/version.Version=${release}`;
    try {
      await runTool(
        'go',
        ['install', '-tags=remove_all_sd,enable_kubernetes_sd', `-ldflags=${ldflags}`, `${pkg}@${version}`],
        {
          cwd: dir,
          env: {
            ...process.env,
            GOBIN: join(dir, 'bin'),
            CGO_ENABLED: '0',
            GOFLAGS: '-trimpath',
            GOWORK: 'off',
          },
          log,
        },
      );
    } catch (err) {
      throw new Error(
        `building ${pkg}@${version} with Go failed (it needs Go >= 1.24 on PATH and the Go module proxy): ${(err as Error).message}`,
      );
    }
  });
}

/** promtool's exit status and its output (stdout and stderr together: it reports failures on either). */
export interface PromtoolResult {
  code: number;
  output: string;
}

/** Runs promtool with `args`; a failed check is a result to show, not an exception. */
export async function promtool(args: string[], cwd?: string): Promise<PromtoolResult> {
  const binary = await ensurePromtool();
  return new Promise((resolve, reject) => {
    execFile(binary, args, { cwd, timeout: 120_000 }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (!err) return resolve({ code: 0, output });
      const code = (err as NodeJS.ErrnoException & { code?: unknown }).code;
      // A numeric code is promtool's exit status; anything else (not found, killed) is no answer at all.
      if (typeof code === 'number') return resolve({ code, output });
      reject(new Error(`promtool ${args.join(' ')}: ${err.message}\n${output}`));
    });
  });
}
