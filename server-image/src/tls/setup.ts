/** The one call main.ts and the router make: the certificate of MODELSHIP_TLS_DIR, or none (plain HTTP). */
import type { Registry } from 'prom-client';
import type { Logger } from 'winston';
import type { Clock } from '../clock.js';
import { TlsIdentity } from './identity.js';
import { TlsMetrics } from './metrics.js';

export interface TlsDeps {
  registry: Registry;
  logger: Logger;
  clock: Clock;
  /** How the files are watched (tests shorten the re-read, or turn the directory watch off). */
  watch?: { intervalMs?: number; watch?: boolean };
}

/** Throws, naming what is wrong, when `dir` is set and holds no usable pair: a TLS port never falls back to HTTP. */
export async function loadTls(dir: string | undefined, deps: TlsDeps): Promise<TlsIdentity | undefined> {
  if (!dir) return undefined;
  return TlsIdentity.load({
    dir,
    metrics: new TlsMetrics(deps.registry),
    logger: deps.logger,
    clock: deps.clock,
    ...deps.watch,
  });
}
