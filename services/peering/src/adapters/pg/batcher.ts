/**
 * Groups calls that arrive close together into one batch call, when they
 * arrive often. A call that comes after a quiet spell runs on the next turn
 * of the event loop (a batch of one, no added latency); while calls keep
 * coming less than `busyGapMs` apart, a batch collects for `windowMs` (or
 * until `max` items) first. Used for enrollment commits, which nobody waits
 * for (the invite service sends them one-way): one statement and one
 * transaction commit for several.
 */
export interface BatcherOptions {
  /** Longest wait for more items once calls come in quick succession. */
  windowMs: number;
  /** Calls closer than this count as "under load". */
  busyGapMs: number;
  /** Items per batch at most. */
  max: number;
}

interface Waiter<I, O> {
  item: I;
  resolve(o: O): void;
  reject(e: unknown): void;
}

export class Batcher<I, O> {
  private queue: Array<Waiter<I, O>> = [];
  private timer: NodeJS.Timeout | undefined;
  private last = -Infinity;

  /** `run` settles every item of a batch, in order (rejecting settles them all with that error). */
  constructor(
    private readonly run: (items: I[]) => Promise<Array<PromiseSettledResult<O>>>,
    private readonly opts: BatcherOptions,
  ) {}

  submit(item: I): Promise<O> {
    const now = performance.now();
    const busy = now - this.last < this.opts.busyGapMs;
    this.last = now;
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.opts.max) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), busy ? this.opts.windowMs : 0);
    });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.opts.max);
      this.run(batch.map((w) => w.item)).then(
        (out) =>
          batch.forEach((w, i) => {
            const r = out[i];
            if (r?.status === "fulfilled") w.resolve(r.value);
            else w.reject(r ? r.reason : new Error("batch gave no result for an item"));
          }),
        (err: unknown) => batch.forEach((w) => w.reject(err)),
      );
    }
  }
}
