/** The hub node's periodic tasks: each runs again `ms` after its previous run finished, until stop(). */
import type { Logger } from "@daalu/runtime";

export class Repeater {
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly log: Logger) {}

  every(ms: number, fn: () => Promise<void>): void {
    const schedule = () => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (this.stopped) return;
        void fn()
          .catch((err) => this.log.error({ err }, "hub node task failed"))
          .finally(() => {
            if (!this.stopped) schedule();
          });
      }, ms);
      this.timers.add(t);
    };
    schedule();
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
