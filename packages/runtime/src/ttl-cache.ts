/**
 * A small time-bounded cache with single-flight loads: while a key's load is
 * under way, every other caller of that key awaits the same load instead of
 * starting its own. Without it, a hot key expiring under load sends one
 * lookup per in-flight request (64 callers -> 64 identical requests).
 * Failures are shared by the callers that waited on them and never cached.
 */
export class TtlCache<V> {
  private readonly values = new Map<string, { value: V; until: number }>();
  private readonly loading = new Map<string, Promise<V>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.values.get(key);
    if (hit && hit.until > this.now()) return hit.value;
    let p = this.loading.get(key);
    if (!p) {
      p = load().then(
        (value) => {
          this.loading.delete(key);
          if (this.values.size >= this.maxEntries) this.values.clear();
          this.values.set(key, { value, until: this.now() + this.ttlMs });
          return value;
        },
        (err: unknown) => {
          this.loading.delete(key);
          throw err;
        },
      );
      this.loading.set(key, p);
    }
    return p;
  }

  delete(key: string): void {
    this.values.delete(key);
  }
}
