/**
 * The API keys of a mounted Secret directory, kept current without a restart. The kubelet updates a Secret volume
 * by writing the new files into a fresh hidden directory and renaming the `..data` symlink onto it (the visible
 * names are symlinks through `..data`), so a change is one atomic rename in the directory: watched with fs.watch,
 * and re-read periodically too (inotify is not always available, and a missed event must not leave a revoked key
 * valid for long). Each reload reads every key, then swaps the whole set in one assignment: a request sees the old
 * set or the new one, never a mix. A reload that fails, or finds no key, keeps the last good set (a Secret being
 * rewritten must not lock every caller out) and says so in a warning that never holds key material.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'winston';
import type { Clock, TimerHandle } from '../clock.js';
import { ApiKeySet, parseKeyFile, type ApiKey } from './api-keys.js';

/** Re-read period when no change event came. */
export const DEFAULT_KEY_RELOAD_MS = 10_000;
/** A key file larger than this is no key (and is not read). */
const MAX_KEY_FILE_BYTES = 64 * 1024;

export interface KeyDirectoryOptions {
  dir: string;
  logger: Logger;
  clock: Clock;
  reloadMs?: number;
}

/** Every key of `dir`: regular files (symlinks followed) whose names do not start with '.'. */
export async function readKeyDirectory(
  dir: string,
): Promise<{ keys: ApiKey[]; skipped: { file: string; why: string }[] }> {
  const keys: ApiKey[] = [];
  const skipped: { file: string; why: string }[] = [];
  for (const file of (await readdir(dir)).sort()) {
    if (file.startsWith('.')) continue;
    const path = join(dir, file);
    let content: string;
    try {
      const s = await stat(path);
      if (!s.isFile()) continue;
      if (s.size > MAX_KEY_FILE_BYTES) {
        skipped.push({ file, why: `larger than ${MAX_KEY_FILE_BYTES} bytes` });
        continue;
      }
      content = await readFile(path, 'utf8');
    } catch (err) {
      // A name whose target went away with the previous `..data` between readdir and here: no longer a key.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const key = parseKeyFile(file, content);
    if ('skipped' in key) skipped.push({ file, why: key.skipped });
    else keys.push(key);
  }
  return { keys, skipped };
}

export class ApiKeyDirectory {
  private keys = new ApiKeySet([]);
  private fingerprint = '';
  private watcher?: FSWatcher;
  private timer?: TimerHandle;
  private running?: Promise<void>;
  private again = false;
  private closed = false;

  private constructor(private readonly opts: KeyDirectoryOptions) {}

  /** Reads the keys once (an empty or unreadable directory is a warning: every request is refused), then watches. */
  static async open(opts: KeyDirectoryOptions): Promise<ApiKeyDirectory> {
    const d = new ApiKeyDirectory(opts);
    await d.reload();
    d.watch();
    d.schedule();
    return d;
  }

  current(): ApiKeySet {
    return this.keys;
  }

  /** Re-reads the directory; concurrent calls coalesce into one more read after the running one. */
  reload(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.readOnce().finally(() => {
      this.running = undefined;
      if (this.again && !this.closed) {
        this.again = false;
        void this.reload();
      }
    });
    return this.running;
  }

  close(): void {
    this.closed = true;
    this.watcher?.close();
    if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer);
  }

  private async readOnce(): Promise<void> {
    const { dir, logger } = this.opts;
    let found: Awaited<ReturnType<typeof readKeyDirectory>>;
    try {
      found = await readKeyDirectory(dir);
    } catch (err) {
      logger.warn('could not read the API keys directory; keeping the keys loaded before', {
        dir,
        keys: this.keys.size,
        error: (err as NodeJS.ErrnoException).code ?? (err as Error).message,
      });
      return;
    }
    for (const s of found.skipped) logger.warn('an API key file is not a key; skipped', { dir, ...s });
    if (found.keys.length === 0) {
      logger.warn('the API keys directory holds no key; keeping the keys loaded before', {
        dir,
        keys: this.keys.size,
      });
      return;
    }
    // Names and hashes (never keys): a reload that changes nothing logs nothing.
    const fingerprint = found.keys.map((k) => `${k.name}:${k.hash.toString('hex')}`).join(',');
    if (fingerprint === this.fingerprint) return;
    this.fingerprint = fingerprint;
    this.keys = new ApiKeySet(found.keys);
    logger.info('API keys loaded', { dir, keys: found.keys.length, names: found.keys.map((k) => k.name) });
  }

  private watch(): void {
    try {
      this.watcher = watch(this.opts.dir, { persistent: false }, () => void this.reload());
      this.watcher.on('error', (err) => {
        this.opts.logger.warn('stopped watching the API keys directory; re-reading it periodically', {
          dir: this.opts.dir,
          error: err.message,
        });
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (err) {
      this.opts.logger.warn('cannot watch the API keys directory; re-reading it periodically', {
        dir: this.opts.dir,
        error: (err as NodeJS.ErrnoException).code ?? (err as Error).message,
      });
    }
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = this.opts.clock.setTimeout(() => {
      void this.reload().finally(() => this.schedule());
    }, this.opts.reloadMs ?? DEFAULT_KEY_RELOAD_MS);
  }
}
