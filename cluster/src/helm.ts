/**
 * The Helm CLI at HELM_VERSION (cluster/versions.env), built once from the Go module proxy (no release downloads
 * reach this machine) and cached under ~/.cache/modelship/helm/<version>. The tests check the chart with it, and
 * `MODELSHIP_OPERATOR=chart make cluster-up` installs the chart with it, as a platform team would.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { cachedTool, goInstall } from './tool-cache.js';
import { cacheDir, readVersions } from './versions.js';

const COLD = 'about 150 CPU-s, 2 to 4 min on 2 cores';

export function ensureHelm(): Promise<string> {
  const version = readVersions().HELM_VERSION!;
  // Without the version flag `helm version` says v3.22 only (the module's default); charts' kubeVersion checks read it.
  return cachedTool('helm', version, 'helm', COLD, (dir, log) =>
    goInstall({
      pkg: 'helm.sh/helm/v3/cmd/helm',
      version,
      dir,
      log,
      ldflags: `-s -w -X helm.sh/helm/v3/internal/version.version=${version}`,
    }),
  );
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `helm` (built on first use) against the cluster of `kubeconfig`; resolves with its exit code and output. */
export async function helm(args: string[], opts: { kubeconfig?: string } = {}): Promise<HelmResult> {
  const binary = await ensureHelm();
  // Helm's caches and repository config stay out of the user's home: nothing here uses a chart repository.
  const env = {
    ...process.env,
    ...(opts.kubeconfig ? { KUBECONFIG: opts.kubeconfig } : {}),
    HELM_CACHE_HOME: join(cacheDir(), 'helm-home', 'cache'),
    HELM_CONFIG_HOME: join(cacheDir(), 'helm-home', 'config'),
    HELM_DATA_HOME: join(cacheDir(), 'helm-home', 'data'),
  };
  return new Promise((resolve, reject) => {
    execFile(binary, args, { env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

/** `helm` that must succeed; returns stdout. */
export async function helmOk(args: string[], opts: { kubeconfig?: string } = {}): Promise<string> {
  const r = await helm(args, opts);
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}
