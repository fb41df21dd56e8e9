/**
 * A bound on rollouts in progress at once, across every ModelDeployment the operator reconciles: a change that
 * gives every ModelDeployment a new revision (a new default serving image in an operator upgrade) then rolls the
 * fleet a few at a time, each with its own strategy, instead of all at once.
 */
export class RolloutSlots {
  private readonly holders = new Set<string>();

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error('the rollout limit must be an integer >= 1');
  }

  /** Takes a slot for `key` (idempotent); false when every slot is taken by others. */
  acquire(key: string): boolean {
    if (this.holders.has(key)) return true;
    if (this.holders.size >= this.limit) return false;
    this.holders.add(key);
    return true;
  }

  /** Records that `key` has a rollout in progress, beyond the limit if need be (one found after a restart). */
  hold(key: string): void {
    this.holders.add(key);
  }

  release(key: string): void {
    this.holders.delete(key);
  }

  /** "3 of 3 in use", for status messages. */
  describe(): string {
    return `${this.holders.size} of ${this.limit} in use`;
  }
}
