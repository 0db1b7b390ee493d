/**
 * A token bucket per key (source IP): `rate` tokens per second up to `burst`.
 * Pure apart from the clock passed in, so it is unit-tested without timers.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    /** Bound on tracked keys; full buckets are dropped first when exceeded. */
    private readonly maxKeys = 100_000,
  ) {}

  /** Takes one token for `key`; false when the bucket is empty. */
  take(key: string, nowMs: number): boolean {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) this.sweep(nowMs);
      b = { tokens: this.burst, at: nowMs };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + ((nowMs - b.at) / 1000) * this.rate);
      b.at = nowMs;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** True when `key` has a token left at `nowMs`; takes nothing. */
  peek(key: string, nowMs: number): boolean {
    const b = this.buckets.get(key);
    return !b || Math.min(this.burst, b.tokens + ((nowMs - b.at) / 1000) * this.rate) >= 1;
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Forgets buckets that have refilled (they behave exactly like new ones). */
  sweep(nowMs: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((nowMs - b.at) / 1000) * this.rate >= this.burst) this.buckets.delete(k);
    }
    // Still full of active keys: drop the oldest so memory stays bounded.
    if (this.buckets.size >= this.maxKeys) {
      const excess = this.buckets.size - this.maxKeys + 1;
      let i = 0;
      for (const k of this.buckets.keys()) {
        if (i++ >= excess) break;
        this.buckets.delete(k);
      }
    }
  }
}
