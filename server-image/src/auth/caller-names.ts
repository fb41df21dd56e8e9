/**
 * Caller names as metric label values, with bounded cardinality (pure): the first `limit` distinct callers keep
 * their name, every later one is counted as OTHER_CALLER. JWT subjects are unbounded in principle (every user of
 * an issuer): without the bound, one label series per user would grow Prometheus without end.
 */
export const OTHER_CALLER = 'other';
export const DEFAULT_CALLER_LABELS = 100;

export class CallerNames {
  private readonly named = new Set<string>();

  constructor(private readonly limit = DEFAULT_CALLER_LABELS) {}

  label(caller: string): string {
    if (this.named.has(caller)) return caller;
    if (this.named.size >= this.limit) return OTHER_CALLER;
    this.named.add(caller);
    return caller;
  }
}
