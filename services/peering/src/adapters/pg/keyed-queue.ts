/**
 * Runs tasks one at a time per key, in arrival order. Reservations of one
 * tenant serialize on its subnet row lock anyway; queueing them here first
 * means a burst for one tenant waits in memory instead of holding every pooled
 * connection while blocked on that lock (which starved other tenants and timed
 * out pool acquisition under 400 concurrent redemptions). The row lock is
 * still what serializes replicas.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(task, task);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}
