/**
 * When checks run besides on demand: each enabled cluster on its schedule
 * (claimed from PostgreSQL, so replicas never check one cluster twice for one
 * due time; domain/schedule.ts spreads clusters over their interval), and
 * after a reconnect (peering's `cluster.status_changed` to connected, taken
 * by one replica through the queue group). At most `maxChecks` scheduled
 * checks run at once per replica; the rest stay due for the next tick.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { peeringv1 } from "@daalu/proto";
import { DaaluError, eventSubject, type Logger, type NatsConnection } from "@daalu/runtime";
import type { Detector } from "./detector.js";
import type { ReconciliationStore, Trigger } from "./adapters/pg/reconciliation-store.js";

export interface SchedulerOptions {
  /** How often due clusters are claimed; 0: never by itself (tests call tick()). */
  tickMs: number;
  maxChecks: number;
  clock: () => number;
  logger: Logger;
}

/** Refusals that only mean "nothing to check". */
const QUIET = new Set(["RECONCILIATION_OFF", "DESIRED_STATE_NOT_FOUND"]);

export class Scheduler {
  private readonly inFlight = new Set<Promise<unknown>>();
  private timer: NodeJS.Timeout | undefined;
  private sub: ReturnType<NatsConnection["subscribe"]> | undefined;

  constructor(
    private readonly store: ReconciliationStore,
    private readonly detector: Detector,
    private readonly o: SchedulerOptions,
  ) {}

  /** Starts the ticks and the reconnect subscription (`[prefix.]daalu.events.*.cluster.status_changed`, queue "drift"). */
  async start(nc: NatsConnection, prefix: string): Promise<void> {
    this.sub = nc.subscribe(eventSubject(prefix, "*", "cluster.status_changed"), {
      queue: "drift",
      callback: (err, m) => {
        if (err) return;
        try {
          const e = fromBinary(peeringv1.ClusterEventSchema, m.data);
          if (e.cluster?.status === peeringv1.ClusterStatus.CONNECTED) this.launch(e.tenantId, e.clusterId, "reconnect");
        } catch (e) {
          this.o.logger.warn({ err: e, subject: m.subject }, "undecodable cluster event skipped");
        }
      },
    });
    await nc.flush();
    if (this.o.tickMs > 0) this.timer = setInterval(() => void this.tick(this.o.clock()), this.o.tickMs);
  }

  /** Claims the clusters due at `nowMs` (as many as free check slots) and starts their checks; resolves once they are started. */
  async tick(nowMs: number): Promise<number> {
    const free = this.o.maxChecks - this.inFlight.size;
    if (free <= 0) return 0;
    const due = await this.store.claimDue(nowMs, free).catch((err: unknown) => {
      this.o.logger.warn({ err }, "could not claim due clusters");
      return [];
    });
    for (const c of due) this.launch(c.tenantId, c.clusterId, "schedule");
    return due.length;
  }

  /** Resolves when every check started so far has ended. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private launch(tenantId: string, clusterId: string, trigger: Trigger): void {
    const p = this.detector.check(tenantId, clusterId, trigger).catch((err: unknown) => {
      if (err instanceof DaaluError && err.reason && QUIET.has(err.reason)) return;
      this.o.logger.warn({ err, tenantId, clusterId, trigger }, "drift check failed");
    });
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.sub?.unsubscribe();
    await this.idle();
  }
}
