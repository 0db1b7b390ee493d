/**
 * Critical alerts of the hub node: raised once per outage (the health store's
 * one-open-alert index settles races between sweeps and nodes), resolved when
 * the tunnel returns or the cluster goes away, published on the tenant's
 * `alert.critical` / `alert.resolved` subjects.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { peeringv1 } from "@daalu/proto";
import { eventSubject, type Logger, type NatsConnection } from "@daalu/runtime";
import { alertToProto } from "../adapters/nats/convert.js";
import type { AlertRecord, HealthStore } from "../adapters/pg/health-store.js";
import type { Tracked } from "./tracked.js";

export class Alerts {
  constructor(
    private readonly health: HealthStore,
    private readonly nc: NatsConnection,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {}

  /** Raises the cluster's alert unless one is open already (then adopts that one). */
  async raise(t: Tracked, summary: string, diagnostic: string, raisedAt: number): Promise<void> {
    const rec = await this.health.raiseAlert({ tenantId: t.tenantId, clusterId: t.clusterId, summary, diagnostic, raisedAt: new Date(raisedAt) });
    if (rec) {
      t.alert = rec;
      this.publish("alert.critical", t, rec);
      this.log.error({ clusterId: t.clusterId, alertId: rec.id, summary: rec.summary }, "critical alert raised");
    } else {
      t.alert = (await this.health.openAlerts()).get(t.clusterId);
    }
  }

  async resolve(t: Tracked, now: number, why: string): Promise<void> {
    const rec = await this.health.resolveAlert(t.clusterId, new Date(now), why);
    t.alert = undefined;
    if (rec) {
      this.publish("alert.resolved", t, rec);
      this.log.info({ clusterId: t.clusterId, alertId: rec.id, why }, "critical alert resolved");
    }
  }

  private publish(kind: "alert.critical" | "alert.resolved", t: Tracked, a: AlertRecord): void {
    const msg = create(peeringv1.AlertSchema, alertToProto(a, t.name, kind === "alert.critical" ? a.diagnostic : t.diagnostic));
    const subject = eventSubject(this.prefix, a.tenantId, kind);
    try {
      this.nc.publish(subject, toBinary(peeringv1.AlertSchema, msg));
    } catch (err) {
      this.log.warn({ err, subject }, "alert not published");
    }
  }
}
