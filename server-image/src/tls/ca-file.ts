/**
 * A PEM CA bundle that a client verifies its servers against (the router's MODELSHIP_ROUTER_BACKEND_CA_FILE: the
 * TLS Secret's ca.crt), re-read when it changes, as the serving certificate is (file-watch.ts). A bundle that holds
 * no certificate is refused with a warning and the previous one stays.
 */
import { basename, dirname } from 'node:path';
import type { Logger } from 'winston';
import type { Clock } from '../clock.js';
import { readConsistently, watchFiles, type FileWatch } from './file-watch.js';
import { TLS_RECHECK_MS } from './identity.js';
import { checkCaBundle } from './pair.js';

export interface CaFileOptions {
  path: string;
  logger: Logger;
  clock: Clock;
  /** Called after the bundle changed (pem is the new one). */
  changed(pem: Buffer): void;
  intervalMs?: number;
  watch?: boolean;
}

export interface CaFile {
  /** The bundle in force. */
  readonly pem: Buffer;
  stop(): void;
}

/** Reads and checks the bundle; throws, naming the file and what is wrong, when it is not usable. */
export async function loadCaFile(o: CaFileOptions): Promise<CaFile> {
  const dir = dirname(o.path);
  const name = basename(o.path);
  let pem: Buffer;
  try {
    [pem] = await readConsistently(dir, [name]);
  } catch (err) {
    throw new Error(`cannot read the CA bundle ${o.path}: ${(err as Error).message}`);
  }
  const count = checkCaBundle(pem, o.path);
  o.logger.info('CA bundle loaded', { path: o.path, certificates: count });
  let watch: FileWatch | undefined = undefined;
  const file = {
    pem,
    stop: () => watch?.stop(),
  };
  watch = watchFiles(
    {
      dir,
      names: [name],
      clock: o.clock,
      intervalMs: o.intervalMs ?? TLS_RECHECK_MS,
      watch: o.watch,
      changed: ([next]) => {
        try {
          const certificates = checkCaBundle(next, o.path);
          file.pem = next;
          o.logger.info('CA bundle reloaded', { path: o.path, certificates });
          o.changed(next);
        } catch (err) {
          o.logger.warn('CA bundle change refused; the previous bundle stays', {
            reason: (err as Error).message,
          });
        }
      },
      unreadable: (reason) => o.logger.warn('CA bundle unreadable; the previous bundle stays', { reason }),
    },
    [pem],
  );
  return file;
}
