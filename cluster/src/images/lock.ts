import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/** After this long without the lock, say who we are waiting for. */
const WAIT_NOTICE_MS = 1_000;

/**
 * Runs `fn` while holding an exclusive flock(2) on `lockFile`, so two processes never build the same image at once.
 *
 * Node has no flock, so a small `flock` child holds it: it takes the lock, says "locked", then waits on its stdin.
 * Closing stdin releases the lock; so does this process dying in any way (the pipe closes, and pdeathsig kills the
 * child too), which is why a killed build never leaves a stale lock behind, unlike a lock file or folder would.
 */
export async function withLock<T>(lockFile: string, onWait: () => void, fn: () => Promise<T>): Promise<T> {
  await mkdir(dirname(lockFile), { recursive: true });
  const holder = spawn(
    'setpriv',
    ['--pdeathsig', 'KILL', '--', 'flock', '--exclusive', lockFile, '-c', 'echo locked; exec cat >/dev/null'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => holder.once('close', () => resolve()));
  let stderr = '';
  holder.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  await new Promise<void>((resolve, reject) => {
    const notice = setTimeout(onWait, WAIT_NOTICE_MS);
    let out = '';
    holder.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (out.includes('locked')) {
        clearTimeout(notice);
        resolve();
      }
    });
    holder.once('error', (err) => {
      clearTimeout(notice);
      reject(new Error(`cannot lock ${lockFile}: ${err.message}`));
    });
    holder.once('close', (code) => {
      clearTimeout(notice);
      reject(new Error(`cannot lock ${lockFile}: flock exited with ${code}: ${stderr.trim()}`));
    });
  });
  try {
    return await fn();
  } finally {
    holder.stdin.end();
    await exited;
  }
}
