import { sql } from "@daalu/runtime";
import type { Kysely } from "kysely";
import type { IgnoreRule, ObjectResult, Summary } from "../../domain/detect.js";
import { nextEpisode } from "../../domain/detect.js";
import { DEFAULT_INTERVAL_SECONDS, nextDue } from "../../domain/schedule.js";
import type { DriftDb } from "./schema.js";

export interface Settings {
  clusterId: string;
  enabled: boolean;
  intervalSeconds: number;
  ignore: IgnoreRule[];
  /** "" when never set. */
  updatedBy: string;
  updatedAt: Date | undefined;
}

export type Trigger = "schedule" | "on_demand" | "reconnect";

export interface Report {
  clusterId: string;
  bundleVersion: number;
  trigger: Trigger;
  startedAt: Date;
  finishedAt: Date;
  summary: Summary;
  reads: number;
  drifted: boolean;
  objects: ObjectResult[];
}

/** A cluster whose scheduled check is due. */
export interface DueCluster {
  tenantId: string;
  clusterId: string;
}

/** Reconciliation settings, the scheduler's claims and the latest report per cluster (the drift schema). */
export class ReconciliationStore {
  constructor(private readonly db: Kysely<DriftDb>) {}

  async settings(tenantId: string, clusterId: string): Promise<Settings> {
    const r = await this.db.selectFrom("reconciliation").selectAll().where("tenant_id", "=", tenantId).where("cluster_id", "=", clusterId).executeTakeFirst();
    if (!r) return { clusterId, enabled: false, intervalSeconds: DEFAULT_INTERVAL_SECONDS, ignore: [], updatedBy: "", updatedAt: undefined };
    return { clusterId, enabled: r.enabled, intervalSeconds: r.interval_seconds, ignore: r.ignore, updatedBy: r.updated_by, updatedAt: r.updated_at };
  }

  /** Replaces the settings; the next scheduled check is on the cluster's phase after `nowMs`. */
  async put(tenantId: string, s: Omit<Settings, "updatedAt">, nowMs: number): Promise<Settings> {
    const due = new Date(nextDue(s.clusterId, s.intervalSeconds * 1000, nowMs));
    const row = { enabled: s.enabled, interval_seconds: s.intervalSeconds, ignore: JSON.stringify(s.ignore), updated_by: s.updatedBy, next_due_at: due };
    await this.db
      .insertInto("reconciliation")
      .values({ tenant_id: tenantId, cluster_id: s.clusterId, ...row })
      .onConflict((oc) => oc.columns(["tenant_id", "cluster_id"]).doUpdateSet({ ...row, updated_at: sql<Date>`now()` }))
      .execute();
    return this.settings(tenantId, s.clusterId);
  }

  /**
   * Claims up to `limit` enabled clusters due at `nowMs` and moves each one's
   * due time to its next phase, in one transaction (SKIP LOCKED: replicas
   * claim disjoint sets, and a claimed cluster is not due again this interval).
   */
  async claimDue(nowMs: number, limit: number): Promise<DueCluster[]> {
    return this.db.transaction().execute(async (tx) => {
      const rows = await tx
        .selectFrom("reconciliation")
        .select(["tenant_id", "cluster_id", "interval_seconds"])
        .where("enabled", "=", true)
        .where("next_due_at", "<=", new Date(nowMs))
        .orderBy("next_due_at")
        .limit(limit)
        .forUpdate()
        .skipLocked()
        .execute();
      for (const r of rows) {
        await tx
          .updateTable("reconciliation")
          .set({ next_due_at: new Date(nextDue(r.cluster_id, r.interval_seconds * 1000, nowMs)) })
          .where("tenant_id", "=", r.tenant_id)
          .where("cluster_id", "=", r.cluster_id)
          .execute();
      }
      return rows.map((r) => ({ tenantId: r.tenant_id, clusterId: r.cluster_id }));
    });
  }

  /**
   * Stores a check as the cluster's latest report and moves its drift
   * episode on, under the report row's lock, so two checks finishing together
   * publish at most one event per episode. Returns the event to publish.
   */
  async saveReport(tenantId: string, r: Omit<Report, "drifted">): Promise<{ report: Report; event: "detected" | "resolved" | undefined }> {
    return this.db.transaction().execute(async (tx) => {
      // Lock the row (or, for a first report, the settings row, which exists while enabled).
      await tx.selectFrom("reconciliation").select("enabled").where("tenant_id", "=", tenantId).where("cluster_id", "=", r.clusterId).forUpdate().executeTakeFirst();
      const prev = await tx.selectFrom("reports").select(["drifted"]).where("tenant_id", "=", tenantId).where("cluster_id", "=", r.clusterId).forUpdate().executeTakeFirst();
      const ep = nextEpisode(prev?.drifted ?? false, r.summary);
      const row = {
        bundle_version: r.bundleVersion,
        trigger: r.trigger,
        started_at: r.startedAt,
        finished_at: r.finishedAt,
        in_sync: r.summary.inSync,
        modified: r.summary.modified,
        missing: r.summary.missing,
        unknown: r.summary.unknown,
        reads: r.reads,
        drifted: ep.drifted,
        objects: JSON.stringify(r.objects),
      };
      await tx
        .insertInto("reports")
        .values({ tenant_id: tenantId, cluster_id: r.clusterId, ...row })
        .onConflict((oc) => oc.columns(["tenant_id", "cluster_id"]).doUpdateSet(row))
        .execute();
      return { report: { ...r, drifted: ep.drifted }, event: ep.event };
    });
  }

  async report(tenantId: string, clusterId: string): Promise<Report | undefined> {
    const r = await this.db.selectFrom("reports").selectAll().where("tenant_id", "=", tenantId).where("cluster_id", "=", clusterId).executeTakeFirst();
    if (!r) return undefined;
    return {
      clusterId,
      bundleVersion: r.bundle_version,
      trigger: r.trigger as Trigger,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      summary: { inSync: r.in_sync, modified: r.modified, missing: r.missing, unknown: r.unknown },
      reads: r.reads,
      drifted: r.drifted,
      objects: r.objects,
    };
  }
}
