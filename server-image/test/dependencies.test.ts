/**
 * The serving runtime has its own production dependency set (server-image/package.json, an npm workspace) so its
 * image installs only what the server imports. Versions written in more than one manifest (the root's and each
 * workspace's) must agree, and the lockfile must hold what the manifests say: otherwise the image would run other
 * versions than the tests.
 */
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));

interface Manifest {
  name?: string;
  workspaces?: string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const read = (path: string): Manifest => JSON.parse(readFileSync(join(repo, path), 'utf8'));
const root = read('package.json');
const workspaces = root.workspaces ?? [];
const manifests: [string, Manifest][] = [
  ['package.json', root],
  ...workspaces.map((w): [string, Manifest] => [`${w}/package.json`, read(`${w}/package.json`)]),
];
const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, Manifest & { version?: string }>;
};

/** Every `from '…'` of a package (not a relative path, not node:) in the compiled sources of `dir`. */
function importedPackages(dir: string): Set<string> {
  const found = new Set<string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) {
        if (name !== 'testing') walk(path);
      } else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) {
        for (const m of readFileSync(path, 'utf8').matchAll(
          /^import (?!type )[^;]*?from '([^.'][^']*)'/gms,
        )) {
          const spec = m[1]!;
          if (spec.startsWith('node:')) continue;
          found.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
        }
      }
    }
  };
  walk(join(repo, dir));
  return found;
}

describe('dependency manifests', () => {
  it('the server is a workspace with its own production dependencies', () => {
    expect(workspaces).toContain('server-image');
    expect(Object.keys(read('server-image/package.json').dependencies ?? {}).length).toBeGreaterThan(0);
  });

  it('a package written in more than one manifest has the same exact version in each', () => {
    const seen = new Map<string, { version: string; where: string }>();
    const disagreements: string[] = [];
    for (const [file, m] of manifests) {
      for (const field of ['dependencies', 'devDependencies'] as const) {
        for (const [name, version] of Object.entries(m[field] ?? {})) {
          // Exact pins only: a range in one manifest and a pin in another could resolve apart.
          if (!/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(version))
            disagreements.push(`${file} ${field}: ${name} ${version} is not an exact version`);
          const first = seen.get(name);
          if (!first) seen.set(name, { version, where: `${file} ${field}` });
          else if (first.version !== version)
            disagreements.push(`${name}: ${first.version} in ${first.where}, ${version} in ${file} ${field}`);
        }
      }
    }
    expect(disagreements).toEqual([]);
  });

  it('the lockfile holds every manifest as written, at the versions written', () => {
    for (const [file, m] of manifests) {
      const dir = relative(repo, join(repo, file, '..'));
      const locked = lock.packages[dir];
      expect({ file, dependencies: locked?.dependencies, devDependencies: locked?.devDependencies }).toEqual({
        file,
        dependencies: m.dependencies,
        devDependencies: m.devDependencies,
      });
      for (const [name, version] of Object.entries(m.dependencies ?? {}))
        expect(`${name}@${lock.packages[`node_modules/${name}`]?.version}`).toBe(`${name}@${version}`);
    }
  });

  it('the server imports only packages of its own production set', () => {
    const own = Object.keys(read('server-image/package.json').dependencies ?? {});
    const imported = [...importedPackages('server-image/src')].sort();
    expect(imported.filter((p) => !own.includes(p))).toEqual([]);
    // And nothing is installed in the image that the server does not import.
    expect(own.filter((p) => !imported.includes(p))).toEqual([]);
  });

  it('the operator imports only packages of its own production set, which its image installs', () => {
    expect(workspaces).toContain('operator');
    const own = Object.keys(read('operator/package.json').dependencies ?? {});
    // server-image/src/env.ts and router/routes.ts, which the operator compiles in, import no package.
    const imported = [...importedPackages('operator/src')].sort();
    expect(imported.filter((p) => !own.includes(p))).toEqual([]);
    expect(own.filter((p) => !imported.includes(p))).toEqual([]);
  });
});
