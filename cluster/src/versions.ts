import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { homedir } from 'node:os';

/** The repository's `cluster/` folder (this file lives in cluster/src/, or dist/cluster/src/ once compiled). */
export const clusterDir = findClusterDir(dirname(fileURLToPath(import.meta.url)));
export const repoRoot = dirname(clusterDir);

function findClusterDir(start: string): string {
  // Walk up until a folder holds versions.env: works from sources and from dist/.
  for (let dir = start; dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, 'cluster');
    try {
      readFileSync(join(candidate, 'versions.env'));
      return candidate;
    } catch {
      // keep walking
    }
  }
  throw new Error(`cannot find cluster/versions.env above ${start}`);
}

/** Pinned versions from cluster/versions.env: the one place they are written down. */
export function readVersions(): Record<string, string> {
  const text = readFileSync(join(clusterDir, 'versions.env'), 'utf8');
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** Where built binaries are cached, outside the repository, keyed by version. */
export function cacheDir(): string {
  return process.env.MODELSHIP_CACHE ?? join(homedir(), '.cache', 'modelship');
}
