/**
 * The monitors' defaults, in one place for the flags (config.ts), the monitors and the docs. No imports: config.ts
 * reads it without loading the monitors.
 */

export const FEEDBACK_DEFAULTS = {
  /** Predictions kept for their feedback; 0 turns feedback off. */
  storeSize: 10_000,
  /** Oldest prediction kept, ms. */
  maxAgeMs: 3_600_000,
  /** The sliding window of the accuracy/MAE/RMSE gauges, ms. */
  windowMs: 3_600_000,
} as const;

export const PAYLOAD_LOG_MODES = ['none', 'stdout', 'http'] as const;
export type PayloadLogMode = (typeof PAYLOAD_LOG_MODES)[number];

export const PAYLOAD_LOG_DEFAULTS = {
  mode: 'none' as PayloadLogMode,
  /** Fraction of requests logged. */
  sample: 1,
  /** Longest record; a longer one keeps its metadata and drops the tensors' data. */
  maxBytes: 65_536,
  /** Records waiting for the collector; beyond it the newest are dropped. */
  queueSize: 1000,
  /** Most records per POST to the collector. */
  batchSize: 100,
  /** Longest a record waits for a fuller batch, ms. */
  flushMs: 1000,
  /** On shutdown, longest spent delivering what is queued, ms. */
  closeMs: 2000,
} as const;
