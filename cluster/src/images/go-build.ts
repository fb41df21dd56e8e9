import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../exec.js';
import { runTool, type Log } from './tools.js';

/**
 * Builds a static binary of a module's main package through the Go module proxy:
 * `CGO_ENABLED=0 go install <pkg>@<version>` into `binDir`. `go install pkg@version` ignores any go.mod around it
 * and refuses modules with replace directives, so what is built is exactly the published module. Go's own caches
 * (GOMODCACHE, GOCACHE) are shared with the rest of the machine; only the binary lands in the image cache.
 */
export async function goInstall(pkg: string, version: string, binDir: string, log: Log): Promise<string> {
  await mkdir(binDir, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GOBIN: binDir,
    CGO_ENABLED: '0',
    // The user's GOFLAGS (e.g. -mod=mod for the Kubernetes build) do not apply to `go install pkg@version`.
    GOFLAGS: '-trimpath',
    GOWORK: 'off',
  };
  try {
    await runTool('go', ['install', '-ldflags=-s -w', `${pkg}@${version}`], { cwd: binDir, env, log });
  } catch (err) {
    throw new Error(
      `building ${pkg}@${version} with Go failed (it needs Go >= 1.24 on PATH and the Go module proxy): ${(err as Error).message}`,
    );
  }
  return join(binDir, pkg.split('/').pop()!);
}

/**
 * Builds the main package of a module folder of this repository (its own go.mod and go.sum pin every dependency)
 * into a static binary: `CGO_ENABLED=0 go build -mod=readonly`. -mod=readonly makes a go.mod or go.sum that would
 * need changes an error instead of a silent update, so the build reads exactly the committed pins (and, through the
 * module proxy and the checksum database, exactly those modules' bytes).
 */
export async function goBuild(srcDir: string, output: string, log: Log): Promise<string> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CGO_ENABLED: '0',
    // The user's GOFLAGS (e.g. -mod=mod for the Kubernetes build) must not loosen the pins.
    GOFLAGS: '-mod=readonly -trimpath',
    GOWORK: 'off',
  };
  try {
    await runTool('go', ['build', '-ldflags=-s -w', '-o', output, '.'], { cwd: srcDir, env, log });
  } catch (err) {
    throw new Error(
      `building ${srcDir} with Go failed (it needs Go >= 1.24 on PATH, which fetches the toolchain its go.mod ` +
        `asks for, and the Go module proxy): ${(err as Error).message}`,
    );
  }
  return output;
}

/** The version of the Go toolchain that builds in `dir` (its go.mod may select a newer one than `go` on PATH). */
export async function goVersion(dir: string): Promise<string> {
  try {
    return (await run('go', ['env', 'GOVERSION'], { cwd: dir })).trim();
  } catch (err) {
    throw new Error(
      `cannot tell which Go builds ${dir} (Go >= 1.24 must be on PATH): ${(err as Error).message}`,
    );
  }
}

/** The folder of a module in the Go module cache, downloading it through the proxy first if needed. */
export async function goModuleDir(module: string, version: string): Promise<string> {
  const out = await runTool('go', ['mod', 'download', '-json', `${module}@${version}`], {
    env: { ...process.env, GOFLAGS: '', GOWORK: 'off' },
  });
  const info = JSON.parse(out) as { Dir?: string; Error?: string };
  if (!info.Dir)
    throw new Error(`go mod download ${module}@${version}: ${info.Error ?? 'no Dir in its output'}`);
  return info.Dir;
}
