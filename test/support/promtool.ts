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
import { ensurePrometheusCommand } from './prometheus.js';

const COLD = 'about 290 CPU-s, 5 to 6 min on 2 cores; seconds after a Prometheus build';

/** The promtool binary at PROMETHEUS_VERSION, built once. */
export function ensurePromtool(): Promise<string> {
  return ensurePrometheusCommand('promtool', COLD);
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
