/**
 * Files in a mounted Secret or ConfigMap, re-read when they may have changed. The kubelet updates such a volume by
 * swapping a `..data` symlink in the directory (atomically), so the directory is watched, not the files (a watch
 * on a file would follow the old inode and miss the swap); and since inotify is not on every volume type and a
 * watch can fail, the files are also re-read every `intervalMs`. Contents are compared with the last ones read:
 * only a real change is reported, however many events a swap makes.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock, TimerHandle } from '../clock.js';

/** One Buffer per file name, in the same order. */
export type Contents<Names extends readonly string[]> = { -readonly [K in keyof Names]: Buffer };

export interface FileWatchOptions<Names extends readonly string[]> {
  dir: string;
  /** File names in `dir`, read together. */
  names: Names;
  clock: Clock;
  /** Re-read this often whatever the watch says. */
  intervalMs: number;
  /** Watch the directory for changes too (default true). */
  watch?: boolean;
  /** New contents (not the ones last reported), in the order of `names`. */
  changed(contents: Contents<Names>): void;
  /** The files could not be read (a different reason than last time); the last contents stay. */
  unreadable(reason: string): void;
}

export interface FileWatch {
  /** Reads now (as an event would); resolves once this read is done. */
  check(): Promise<void>;
  stop(): void;
}

/** Changes within this long of each other are read once: a swap is several directory events. */
const SETTLE_MS = 50;

/** Starts watching from `initial`, the contents already in use (read at start by the caller). */
export function watchFiles<const Names extends readonly string[]>(
  o: FileWatchOptions<Names>,
  initial: Contents<Names>,
): FileWatch {
  let last: readonly Buffer[] = initial;
  let lastFailure = '';
  let stopped = false;
  let running: Promise<void> | undefined;
  let again = false;
  let settle: TimerHandle | undefined;
  let poll: TimerHandle | undefined;

  const readOnce = async (): Promise<void> => {
    let contents: Contents<Names>;
    try {
      contents = await readConsistently(o.dir, o.names);
    } catch (err) {
      const reason = (err as Error).message;
      if (reason !== lastFailure) {
        lastFailure = reason;
        o.unreadable(reason);
      }
      return;
    }
    lastFailure = '';
    if (stopped || contents.every((c: Buffer, i: number) => last[i]?.equals(c))) return;
    last = contents;
    o.changed(contents);
  };
  /** One read at a time; a request during a read makes one more read after it. */
  const check = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await readOnce();
      } while (again && !stopped);
      running = undefined;
    })();
    return running;
  };
  const schedulePoll = () => {
    poll = o.clock.setTimeout(() => {
      void check().then(() => {
        if (!stopped) schedulePoll();
      });
    }, o.intervalMs);
  };
  schedulePoll();

  let watcher: FSWatcher | undefined;
  if (o.watch !== false) {
    try {
      watcher = watch(o.dir, { persistent: false }, () => {
        if (stopped) return;
        o.clock.clearTimeout(settle);
        settle = o.clock.setTimeout(() => void check(), SETTLE_MS);
      });
      // A watch that breaks (the directory went away) leaves the polling.
      watcher.on('error', (err) => {
        o.unreadable(`watching ${o.dir} failed (${err.message}); polling every ${o.intervalMs} ms`);
        watcher?.close();
      });
    } catch (err) {
      o.unreadable(`cannot watch ${o.dir} (${(err as Error).message}); polling every ${o.intervalMs} ms`);
    }
  }

  return {
    check,
    stop() {
      stopped = true;
      o.clock.clearTimeout(settle);
      o.clock.clearTimeout(poll);
      watcher?.close();
    },
  };
}

/**
 * Reads every file; if the first one changed while the others were read (a swap in the middle), reads them all
 * again, so that a certificate is never paired with the key of another one.
 */
export async function readConsistently<const Names extends readonly string[]>(
  dir: string,
  names: Names,
): Promise<Contents<Names>> {
  for (let attempt = 0; ; attempt++) {
    // In order, so that a swap after the first read shows as a change of the first file read again below.
    const contents: Buffer[] = [];
    for (const n of names) contents.push(await readFile(join(dir, n)));
    const [name, content] = [names[0], contents[0]];
    if (name === undefined || content === undefined || names.length < 2 || attempt === 3)
      return contents as Contents<Names>;
    if ((await readFile(join(dir, name))).equals(content)) return contents as Contents<Names>;
  }
}
