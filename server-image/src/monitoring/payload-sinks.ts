/**
 * Where payload records go (payload-log.ts): a line on stdout, or CloudEvents POSTed to a collector. A sink takes
 * records without ever blocking or throwing, and says what became of each through PayloadCounters.
 */

export type DropReason = 'queue_full' | 'rejected' | 'shutdown';

export interface PayloadCounters {
  sent(n: number): void;
  dropped(reason: DropReason, n: number): void;
}

/** What the sinks are given of one record: its JSON, and what the HTTP sink's CloudEvent envelope needs. */
export interface SerializedRecord {
  json: string;
  model: string;
  version: string;
  /** ms since the epoch. */
  time: number;
}

export interface PayloadSink {
  write(record: SerializedRecord): void;
  /** Records held, not yet delivered. */
  readonly queued: number;
  /** Delivers what it can within `ms`, then stops; what is left is counted as dropped (shutdown). */
  close(ms: number): Promise<void>;
}

/** One JSON line per record through `out` (the process's stdout line writer, shared with the logs so lines never interleave). */
export class StdoutPayloadSink implements PayloadSink {
  readonly queued = 0;

  constructor(
    private readonly out: { write(line: string): void; flush(): void },
    private readonly counters: PayloadCounters,
  ) {}

  write(record: SerializedRecord): void {
    this.out.write(`${record.json}\n`);
    this.counters.sent(1);
  }

  close(): Promise<void> {
    this.out.flush();
    return Promise.resolve();
  }
}
