/**
 * Deadlines of in-flight calls on one coarse timer.
 *
 * A timer per call costs a timer-list insert and removal on every call, and
 * `AbortSignal.timeout`'s timer is not even cleared when the call ends: it
 * fires seconds later and builds a DOMException (with a stack) per call. Calls
 * end long before their deadline, so one sweep every {@link DEADLINE_SWEEP_MS}
 * over the live set is cheaper. A deadline fires at most that much late.
 */
export const DEADLINE_SWEEP_MS = 20;

/**
 * Empty sweeps before the timer stops: a process serving a call every few
 * milliseconds would otherwise create and clear the interval per call.
 */
const IDLE_SWEEPS = 50;

/** Something with a deadline (epoch ms) and what to do when it passes. */
export interface Expiring {
  readonly at: number;
  expire(): void;
}

export class DeadlineSet {
  private readonly live = new Set<Expiring>();
  private timer: NodeJS.Timeout | undefined;
  private idle = 0;

  constructor(private readonly sweepMs = DEADLINE_SWEEP_MS) {}

  get size(): number {
    return this.live.size;
  }

  add(e: Expiring): void {
    this.live.add(e);
    // The interval runs only while calls come and go; it never keeps the process up.
    if (!this.timer) {
      this.timer = setInterval(() => this.sweep(), this.sweepMs);
      this.timer.unref();
    }
  }

  delete(e: Expiring): void {
    this.live.delete(e);
  }

  private sweep(): void {
    const now = Date.now();
    for (const e of this.live) {
      if (e.at > now) continue;
      this.live.delete(e);
      try {
        e.expire();
      } catch {
        // an expiry callback must not stop the sweep
      }
    }
    this.idle = this.live.size === 0 ? this.idle + 1 : 0;
    if (this.idle >= IDLE_SWEEPS && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.idle = 0;
    }
  }
}
