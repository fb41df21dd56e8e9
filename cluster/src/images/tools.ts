import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { resolve } from 'node:path';

export type Log = (line: string) => void;

export interface ToolOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Receives every output line (stdout and stderr) as it comes, for progress. */
  log?: Log;
  /** Kill the tool after this long; builds have no timeout by default. */
  timeoutMs?: number;
}

/** Output lines kept for the error message of a failed tool. */
const TAIL_LINES = 25;

/**
 * Runs a build tool to completion and resolves with its stdout.
 *
 * Every tool runs in its own PID and mount namespace (`unshare --pid --mount --fork --kill-child`) under
 * `setpriv --pdeathsig KILL`: if this process dies, however abruptly, the kernel kills the tool and everything it
 * started (npm inside a buildah RUN step, dpkg inside debootstrap), and the mounts they made (debootstrap's /proc,
 * buildah's overlay layers) vanish with the namespace. That is what lets a killed build leave nothing behind.
 */
export function runTool(cmd: string, args: readonly string[], opts: ToolOptions = {}): Promise<string> {
  const wrapped = [
    '--pdeathsig',
    'KILL',
    '--',
    'unshare',
    '--pid',
    '--mount',
    '--propagation',
    'private',
    '--fork',
    '--kill-child',
    '--',
    cmd,
    ...args,
  ];
  return new Promise((resolvePromise, reject) => {
    const child = spawn('setpriv', wrapped, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const tail: string[] = [];
    const lineSplitter = () => {
      let partial = '';
      return (chunk: Buffer, end = false) => {
        const text = partial + chunk.toString('utf8');
        const lines = text.split('\n');
        partial = end ? '' : (lines.pop() ?? '');
        for (const line of lines) {
          if (!line.trim()) continue;
          tail.push(line);
          if (tail.length > TAIL_LINES) tail.shift();
          opts.log?.(line);
        }
      };
    };
    const outLines = lineSplitter();
    const errLines = lineSplitter();
    child.stdout.on('data', (chunk: Buffer) => {
      stdout.push(chunk);
      outLines(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => errLines(chunk));
    const timer =
      opts.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} could not be started: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      outLines(Buffer.alloc(0), true);
      errLines(Buffer.alloc(0), true);
      if (code === 0) {
        resolvePromise(Buffer.concat(stdout).toString('utf8'));
        return;
      }
      const why = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      reject(new Error(`${cmd} ${args.join(' ')} ${why}:\n${tail.join('\n')}`));
    });
  });
}

/** Unescapes a mountinfo path field (spaces, tabs, newlines and backslashes are octal escapes there). */
function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Mount points at or below `dir` in a /proc/<pid>/mountinfo text, deepest first (the order to unmount them). */
export function mountsUnder(mountinfo: string, dir: string): string[] {
  const base = resolve(dir);
  const found: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const field = line.split(' ')[4];
    if (!field) continue;
    const point = unescapeMountPath(field);
    if (point === base || point.startsWith(`${base}/`)) found.push(point);
  }
  return found.sort((a, b) => b.length - a.length);
}

/**
 * Deletes a folder tree, unmounting anything still mounted inside it first. A recursive delete that ran into a
 * leftover bind mount of /dev or /proc would delete the host's files; this never follows one.
 */
export async function removeTree(dir: string): Promise<void> {
  const mounts = mountsUnder(await readFile('/proc/self/mountinfo', 'utf8'), dir);
  for (const point of mounts) {
    await new Promise<void>((res, rej) => {
      const child = spawn('umount', ['--lazy', point], { stdio: 'ignore' });
      child.on('error', rej);
      child.on('exit', (code) =>
        code === 0 ? res() : rej(new Error(`cannot unmount ${point}; not deleting ${dir}`)),
      );
    });
  }
  await rm(dir, { recursive: true, force: true });
}
