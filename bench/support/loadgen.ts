/**
 * What the benchmarks share: CPU pinning (servers on CPU 0, the load generator on CPU 1, when taskset and a second
 * CPU exist) and the Go load generator of bench/server/loadgen, built once per run and driven for a fixed time.
 */
import { execFile, execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const LOADGEN_SOURCES = fileURLToPath(new URL('../server/loadgen', import.meta.url));
const run = promisify(execFile);

/** True when processes can be pinned to CPUs 0 and 1. */
export const pinned: boolean = (() => {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return cpus().length >= 2;
  } catch {
    return false;
  }
})();

/** `cmd args` pinned to `cpu` when pinning is possible. */
export function onCpu(cpu: number, cmd: string, args: string[]): [string, string[]] {
  return pinned ? ['taskset', ['-c', String(cpu), cmd, ...args]] : [cmd, args];
}

/** Builds the load generator into `dir`; returns its path. */
export function buildLoadgen(dir: string): string {
  const out = join(dir, 'loadgen');
  execFileSync('go', ['build', '-o', out, '.'], {
    cwd: LOADGEN_SOURCES,
    stdio: 'inherit',
    env: { ...process.env, CGO_ENABLED: '0' },
  });
  return out;
}

/** What the load generator prints (its JSON). */
export interface LoadgenResult {
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** CPU time of the process `pid` over the measured seconds (0 without a pid). */
  serverCpuSeconds: number;
  loadgenCpuSeconds: number;
}

/** Drives `url` with `body` from `connections` keep-alive connections for `seconds` (after 1 s of warm-up), on CPU 1. */
export async function runLoadgen(o: {
  loadgen: string;
  url: string;
  body: string;
  connections: number;
  seconds: number;
  /** The process whose CPU time is measured. */
  pid?: number;
  /** Request headers, "Name: value". */
  headers?: string[];
}): Promise<LoadgenResult> {
  const [cmd, args] = onCpu(1, o.loadgen, [
    '-url',
    o.url,
    '-body',
    o.body,
    '-c',
    String(o.connections),
    '-d',
    `${o.seconds}s`,
    '-warmup',
    '1s',
    '-pid',
    String(o.pid ?? 0),
    ...(o.headers ?? []).flatMap((h) => ['-H', h]),
  ]);
  const { stdout } = await run(cmd, args, { encoding: 'utf8', env: { ...process.env, GOMAXPROCS: '1' } });
  return JSON.parse(stdout) as LoadgenResult;
}
