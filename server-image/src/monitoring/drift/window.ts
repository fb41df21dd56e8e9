/**
 * Counts over a sliding time window: a ring of `slots` sub-windows of windowMs / slots each, and running totals.
 * Adding goes to the current sub-window; a sub-window that falls out of the window is subtracted from the totals
 * and reused. So the totals always cover the last `slots` sub-windows: between windowMs − windowMs / slots and
 * windowMs of history, at the cost of `slots` arrays of counters and no per-sample timestamps.
 * Pure: time is whatever the caller passes (a Clock's now()); counts are integers held in doubles (exact).
 */

export const DEFAULT_SLOTS = 60;

export class SlidingCounts {
  private readonly width: number;
  private readonly slots: Float64Array[];
  /** The sub-window index (floor(now / width)) each slot holds, or -Infinity when empty. */
  private readonly epochs: number[];
  private readonly sums: Float64Array;
  private current: Float64Array;

  constructor(
    /** Number of counters (all features' bins, flattened, and whatever else the caller counts). */
    readonly size: number,
    readonly windowMs: number,
    slotCount = DEFAULT_SLOTS,
  ) {
    if (!(windowMs > 0) || !Number.isSafeInteger(slotCount) || slotCount < 1)
      throw new RangeError(`SlidingCounts: bad window ${windowMs} ms / ${slotCount} slots`);
    this.width = windowMs / slotCount;
    this.slots = Array.from({ length: slotCount }, () => new Float64Array(size));
    this.epochs = Array.from({ length: slotCount }, () => -Infinity);
    this.sums = new Float64Array(size);
    this.current = this.slots[0]!;
  }

  /** Moves to time `now`: drops the sub-windows that left the window; later add()s count at `now`. */
  at(now: number): void {
    const n = this.slots.length;
    const epoch = Math.floor(now / this.width);
    for (let s = 0; s < n; s++) {
      if (this.epochs[s]! !== -Infinity && this.epochs[s]! <= epoch - n) {
        const old = this.slots[s]!;
        for (let i = 0; i < this.size; i++) this.sums[i]! -= old[i]!;
        old.fill(0);
        this.epochs[s] = -Infinity;
      }
    }
    const s = ((epoch % n) + n) % n;
    // A clock that went backwards (not a monotonic one) keeps counting into the newer sub-window.
    if (this.epochs[s]! < epoch) this.epochs[s] = epoch;
    this.current = this.slots[s]!;
  }

  add(index: number, n = 1): void {
    this.current[index]! += n;
    this.sums[index]! += n;
  }

  /** The counts of the window ending at `now` (a live view: read it before the next add). */
  totals(now: number): Readonly<Float64Array> {
    this.at(now);
    return this.sums;
  }
}
