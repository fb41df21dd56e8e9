/**
 * Verified JWTs, each kept until it expires (pure; the time is given). A token is verified once (signature, claims)
 * and then answered from here for its lifetime: the hot path is a map lookup, not a signature check. Bounded: past
 * `maxEntries` the oldest entry goes (Map keeps insertion order). Refused tokens are never kept, so nobody fills it
 * with garbage, and a token is only ever kept until its own `exp` (+ the allowed skew).
 */
export class TokenCache {
  private readonly entries = new Map<string, { caller: string; expiresAtMs: number }>();

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** The caller of a token verified before and not yet expired at `nowMs`. */
  get(token: string, nowMs: number): string | undefined {
    const e = this.entries.get(token);
    if (e === undefined) return undefined;
    if (nowMs >= e.expiresAtMs) {
      this.entries.delete(token);
      return undefined;
    }
    return e.caller;
  }

  set(token: string, caller: string, expiresAtMs: number, nowMs: number): void {
    if (nowMs >= expiresAtMs || this.maxEntries <= 0) return;
    this.entries.delete(token);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    this.entries.set(token, { caller, expiresAtMs });
  }
}
