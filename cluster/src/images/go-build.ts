import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
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
