/**
 * A FIFO of at most `capacity` items that refuses what does not fit (the caller counts it): the items it holds
 * stay contiguous and in order. O(1) push and shift (a moving head, compacted now and then). Pure.
 */
export class BoundedQueue<T> {
  private items: T[] = [];
  private head = 0;

  constructor(readonly capacity: number) {}

  get length(): number {
    return this.items.length - this.head;
  }

  /** False when full: the item was not taken. */
  push(item: T): boolean {
    if (this.length >= this.capacity) return false;
    this.items.push(item);
    return true;
  }

  /** Up to `n` items from the front, left in the queue. */
  peek(n: number): T[] {
    return this.items.slice(this.head, this.head + n);
  }

  /** Removes up to `n` items from the front. */
  drop(n: number): void {
    this.head = Math.min(this.items.length, this.head + n);
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  clear(): number {
    const n = this.length;
    this.items = [];
    this.head = 0;
    return n;
  }
}
