/**
 * Runs `modelship-server serve` as a real child process (node --import tsx src/cli.ts), the way the image runs it:
 * configured by environment variables, JSON logs on stdout, signals, exit codes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

export interface ServerProcess {
  proc: ChildProcess;
  logs: Record<string, unknown>[];
  stderr: string[];
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
  /** Resolves with the ports once the server logs 'listening'. */
  listening: Promise<{ port: number; metricsPort: number }>;
  /** Resolves with the first log entry matching, or rejects if the process exits first. */
  waitForLog(
    match: (l: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): void;
}

export function spawnServer(env: Record<string, string>, args: string[] = []): ServerProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', ...args], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      MODELSHIP_HOST: '127.0.0.1',
      MODELSHIP_PORT: '0',
      MODELSHIP_METRICS_PORT: '0',
      MODELSHIP_INTRA_OP_THREADS: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  const watchers = new Set<() => void>();
  let buffered = '';
  proc.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        logs.push(JSON.parse(line));
      } catch {
        logs.push({ unparsed: line });
      }
    }
    for (const w of watchers) w();
  });
  proc.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
  const exited = new Promise<number | string>((resolve) =>
    proc.on('exit', (code, signal) => {
      for (const w of watchers) w();
      resolve(code ?? signal ?? -1);
    }),
  );
  let done = false;
  void exited.then(() => (done = true));

  const waitForLog: ServerProcess['waitForLog'] = (match, timeoutMs = 30_000) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = logs.find(match);
        if (found) {
          cleanup();
          resolve(found);
        } else if (done || proc.exitCode !== null) {
          cleanup();
          reject(
            new Error(
              `server exited before the expected log line; stderr: ${stderr.join('')}; logs: ${JSON.stringify(logs)}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `timed out waiting for a log line; stderr: ${stderr.join('')}; logs: ${JSON.stringify(logs)}`,
          ),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        watchers.delete(check);
      };
      watchers.add(check);
      check();
    });

  const listening = waitForLog((l) => l.message === 'listening').then((l) => ({
    port: l.port as number,
    metricsPort: l.metricsPort as number,
  }));
  listening.catch(() => undefined);
  return {
    proc,
    logs,
    stderr,
    exited,
    listening,
    waitForLog,
    kill: (signal = 'SIGTERM') => {
      if (proc.exitCode === null) proc.kill(signal);
    },
  };
}
