import { Code, DaaluError } from "@daalu/runtime";

/**
 * A FIFO semaphore in front of the connection pool. pg-pool's
 * connectionTimeoutMillis also bounds the wait for a free client, so a burst
 * of redemptions larger than the pool would fail as "internal" after 5 s
 * while work was progressing. Holding at most `size` permits keeps pool waits
 * at zero; the queue here waits for as long as the caller's deadline allows.
 */
export class Gate {
  private free: number;
  private readonly waiters: Array<() => void> = [];

  constructor(size: number) {
    this.free = size;
  }

  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  private acquire(signal?: AbortSignal): Promise<void> {
    if (this.free > 0 && this.waiters.length === 0) {
      this.free--;
      return Promise.resolve();
    }
    if (signal?.aborted) return Promise.reject(deadline());
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(grant);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(deadline());
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(grant);
    });
  }

  private release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.free++;
  }
}

function deadline(): DaaluError {
  return new DaaluError(Code.DeadlineExceeded, "the request's deadline passed while waiting for a database connection");
}
