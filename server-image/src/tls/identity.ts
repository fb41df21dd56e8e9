/**
 * The certificate a process serves (MODELSHIP_TLS_DIR: tls.crt and tls.key, as a kubernetes.io/tls Secret is
 * mounted), kept current without a restart: when the files change (cert-manager renewed them, the kubelet swapped
 * them in), the new pair is checked and handed to every server that serves it with setSecureContext. New
 * handshakes get the new certificate; open connections keep the session they have, so none is dropped. A pair
 * that does not check out is refused with a warning and the previous one stays.
 */
import type { Server as TlsServer } from 'node:tls';
import type { Logger } from 'winston';
import type { Clock } from '../clock.js';
import { readConsistently, watchFiles, type FileWatch } from './file-watch.js';
import type { TlsMetrics } from './metrics.js';
import { CERT_FILE, KEY_FILE, checkPair, type CheckedPair } from './pair.js';

/** How often the files are re-read besides the directory watch (the kubelet's own sync period is about a minute). */
export const TLS_RECHECK_MS = 30_000;

export interface TlsIdentityOptions {
  dir: string;
  metrics: TlsMetrics;
  logger: Logger;
  clock: Clock;
  /** Re-read the files this often (default TLS_RECHECK_MS). */
  intervalMs?: number;
  /** Watch the directory for changes (default true); without, only the periodic re-read sees them. */
  watch?: boolean;
}

export class TlsIdentity {
  private readonly servers = new Set<TlsServer>();
  private watcher?: FileWatch;

  private constructor(
    private current: CheckedPair,
    private readonly o: TlsIdentityOptions,
  ) {}

  /** Reads and checks the pair; throws (naming the directory and what is wrong) when there is none to serve. */
  static async load(o: TlsIdentityOptions): Promise<TlsIdentity> {
    let cert: Buffer, key: Buffer;
    try {
      [cert, key] = await readConsistently(o.dir, [CERT_FILE, KEY_FILE]);
    } catch (err) {
      throw new Error(`TLS: cannot read ${CERT_FILE} and ${KEY_FILE} in ${o.dir}: ${(err as Error).message}`);
    }
    let pair: CheckedPair;
    try {
      pair = checkPair(cert, key);
    } catch (err) {
      throw new Error(`TLS: ${o.dir}: ${(err as Error).message}`);
    }
    const identity = new TlsIdentity(pair, o);
    o.metrics.served(pair.notAfter);
    o.logger.info('TLS certificate loaded', { dir: o.dir, ...describe(pair) });
    identity.watcher = watchFiles(
      {
        dir: o.dir,
        names: [CERT_FILE, KEY_FILE],
        clock: o.clock,
        intervalMs: o.intervalMs ?? TLS_RECHECK_MS,
        watch: o.watch,
        changed: ([c, k]) => identity.offer(c, k),
        unreadable: (reason) =>
          o.logger.warn('TLS certificate files unreadable; the current certificate stays', { reason }),
      },
      [cert, key],
    );
    return identity;
  }

  /** Options for tls/https createServer: the pair in force now. */
  secureOptions(): { cert: Buffer; key: Buffer } {
    return { cert: this.current.cert, key: this.current.key };
  }

  /** The certificate served now (PEM). */
  get certificate(): Buffer {
    return this.current.cert;
  }

  /** `server` (created with secureOptions()) gets every later certificate too. */
  attach(server: TlsServer): void {
    this.servers.add(server);
    server.once('close', () => this.servers.delete(server));
  }

  /** Re-reads the files now (what a change event does). */
  check(): Promise<void> {
    return this.watcher?.check() ?? Promise.resolve();
  }

  stop(): void {
    this.watcher?.stop();
    this.servers.clear();
  }

  private offer(cert: Buffer, key: Buffer): void {
    let pair: CheckedPair;
    try {
      pair = checkPair(cert, key);
      for (const s of this.servers) s.setSecureContext({ cert, key });
    } catch (err) {
      this.o.metrics.reloaded('error');
      this.o.logger.warn('TLS certificate change refused; the previous certificate stays', {
        dir: this.o.dir,
        reason: (err as Error).message,
        served: describe(this.current),
      });
      return;
    }
    this.current = pair;
    this.o.metrics.served(pair.notAfter);
    this.o.metrics.reloaded('ok');
    this.o.logger.info('TLS certificate reloaded', { dir: this.o.dir, ...describe(pair) });
  }
}

/** What the logs say about a certificate: public facts only. */
function describe(pair: CheckedPair): Record<string, string> {
  return { subject: pair.subject, serial: pair.serial, notAfter: pair.notAfter.toISOString() };
}
