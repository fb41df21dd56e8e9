/**
 * The predictions the server keeps until their ground truth arrives (feedback.ts): request id -> what was
 * predicted. Bounded twice: at most `maxEntries` predictions (the oldest goes first) and none older than `maxAgeMs`
 * (on the injected clock); every prediction that leaves without its feedback is reported to `onEvict` with why.
 * A prediction is found by the request's x-request-id and by the protocol `id` it had, if any; both keys lead to
 * the same entry, which counts once. Pure apart from the clock; age is checked on every call, no timers.
 */
import type { Clock } from '../clock.js';
import type { Prediction } from './prediction.js';

export type EvictionReason = 'size' | 'age' | 'replaced';

export interface StoredPrediction {
  readonly prediction: Prediction;
  readonly version: string;
  /** Clock time it was stored. */
  readonly storedAt: number;
  readonly keys: readonly string[];
}

export interface PredictionStoreOptions {
  maxEntries: number;
  maxAgeMs: number;
  clock: Clock;
  onEvict?: (entry: StoredPrediction, reason: EvictionReason) => void;
}

export class PredictionStore {
  private readonly byKey = new Map<string, StoredPrediction>();
  /** Every entry once, oldest first (a Set keeps insertion order and deletes in O(1)). */
  private readonly entries = new Set<StoredPrediction>();

  constructor(private readonly opts: PredictionStoreOptions) {}

  get size(): number {
    this.expire();
    return this.entries.size;
  }

  /**
   * Keeps a prediction under its keys (empty and repeated keys ignored). A key already in use (a client reusing
   * a request id) drops the prediction it led to: feedback for that id can only mean the newer one.
   */
  put(keys: readonly (string | undefined)[], prediction: Prediction, version: string): void {
    this.expire();
    const unique = [...new Set(keys.filter((k): k is string => k !== undefined && k !== ''))];
    if (unique.length === 0 || this.opts.maxEntries <= 0) return;
    for (const key of unique) {
      const old = this.byKey.get(key);
      if (old) this.evict(old, 'replaced');
    }
    while (this.entries.size >= this.opts.maxEntries) this.evict(this.oldest()!, 'size');
    const entry: StoredPrediction = { prediction, version, storedAt: this.opts.clock.now(), keys: unique };
    this.entries.add(entry);
    for (const key of unique) this.byKey.set(key, entry);
  }

  /** The prediction stored under `key`, if it is there and not too old; it stays until `remove`. */
  get(key: string): StoredPrediction | undefined {
    this.expire();
    return this.byKey.get(key);
  }

  /** Forgets an entry (its feedback was joined), under all its keys. Not an eviction. */
  remove(entry: StoredPrediction): void {
    this.forget(entry);
  }

  /** Evicts what has reached its maximum age. The oldest entry is first, so this stops at the first young one. */
  expire(): void {
    const limit = this.opts.clock.now() - this.opts.maxAgeMs;
    for (const entry of this.entries) {
      if (entry.storedAt > limit) break;
      this.evict(entry, 'age');
    }
  }

  private oldest(): StoredPrediction | undefined {
    for (const entry of this.entries) return entry;
    return undefined;
  }

  private evict(entry: StoredPrediction, reason: EvictionReason): void {
    this.forget(entry);
    this.opts.onEvict?.(entry, reason);
  }

  private forget(entry: StoredPrediction): void {
    if (!this.entries.delete(entry)) return;
    for (const key of entry.keys) if (this.byKey.get(key) === entry) this.byKey.delete(key);
  }
}
