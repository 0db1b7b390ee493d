import { sql, storeError } from "@daalu/runtime";
import type { Insertable, Kysely, Selectable, Transaction } from "kysely";
import type { CallRow } from "../../domain/record.js";
import { usageDeltas, type CallFilter, type UsageQuery } from "../../domain/query.js";
import type { AuditDb, CallsTable } from "./schema.js";

/** One usage bucket as read from the database. */
export interface UsageRow {
  start: Date;
  clusterId: string;
  calls: number;
  errors: number;
  bytesIn: number;
  bytesOut: number;
  sessions: number;
}

function toDb(r: CallRow): Insertable<CallsTable> {
  return {
    ...(r.session ? { session_phase: 1, session_command: r.session.command, session_container: r.session.container, session_ports: r.session.ports, session_owner: r.session.owner } : {}),
    id: r.id,
    tenant_id: r.tenantId,
    cluster_id: r.clusterId,
    caller_kind: r.callerKind,
    caller_id: r.callerId,
    verb: r.verb,
    resource: r.resource,
    namespace: r.namespace,
    name: r.name,
    path: r.path,
    subresource: r.subresource,
    api_group: r.apiGroup,
    status_code: r.statusCode,
    ok: r.ok,
    error: r.error,
    latency_ms: r.latencyMs,
    bytes_in: r.bytesIn,
    bytes_out: r.bytesOut,
    trace_id: r.traceId,
    time: r.time,
  };
}

type CallsRead = Omit<Selectable<CallsTable>, "received_at">;

function fromDb(r: CallsRead): CallRow {
  return {
    ...(r.session_phase === 1 || r.session_phase === 2 || r.session_phase === 3
      ? {
          session: {
            sessionId: r.id, phase: r.session_phase, owner: r.session_owner, command: r.session_command, container: r.session_container, ports: r.session_ports, closeReason: r.session_close_reason,
            exitStatus: r.session_exit_status,
            ...(r.session_exit_code !== null ? { exitCode: r.session_exit_code } : {}),
            ...(r.session_ended_at ? { endedAt: r.session_ended_at } : {}),
          },
        }
      : {}),
    id: r.id,
    tenantId: r.tenant_id,
    clusterId: r.cluster_id,
    callerKind: r.caller_kind,
    callerId: r.caller_id,
    verb: r.verb,
    resource: r.resource,
    namespace: r.namespace,
    name: r.name,
    path: r.path,
    subresource: r.subresource,
    apiGroup: r.api_group,
    statusCode: r.status_code,
    ok: r.ok,
    error: r.error,
    latencyMs: r.latency_ms,
    bytesIn: r.bytes_in,
    bytesOut: r.bytes_out,
    traceId: r.trace_id,
    time: r.time,
  };
}

/** The audit schema's queries. Raw pg errors stay inside the writer's retry logic; queries translate them. */
export class AuditStore {
  constructor(private readonly db: Kysely<AuditDb>) {}

  /**
   * Inserts a batch in one statement and adds the rows it actually inserted to
   * the hourly usage, in one transaction: a redelivered record inserts
   * nothing, so it is never counted twice. Returns the ids inserted. Throws
   * the raw pg error (the writer tells transient from poison by its SQLSTATE).
   */
  async insertBatch(rows: readonly CallRow[]): Promise<Set<string>> {
    if (rows.length === 0) return new Set();
    // A session's end record adds no row: it completes its start record's row (in this transaction, after the inserts).
    const inserts = rows.filter((r) => r.session?.phase !== 2);
    const ends = rows.filter((r) => r.session?.phase === 2);
    return this.db.transaction().execute(async (trx) => {
      const inserted =
        inserts.length === 0
          ? []
          : await trx
              .insertInto("calls")
              .values(inserts.map(toDb))
              .onConflict((oc) => oc.column("id").doNothing())
              .returning(["id", "tenant_id", "cluster_id", "time", "ok", "bytes_in", "bytes_out", "session_phase"])
              .execute();
      const completed = await completeSessions(trx, ends);
      // A completion adds its bytes (and an error when it failed), not another call.
      const deltas = usageDeltas([
        ...inserted.map((r) => ({ tenantId: r.tenant_id, clusterId: r.cluster_id, time: r.time, ok: r.ok, bytesIn: r.bytes_in, bytesOut: r.bytes_out, sessions: r.session_phase > 0 ? 1 : 0 })),
        ...completed.map((c) => ({ ...c, calls: 0 })),
      ]);
      if (deltas.length > 0) {
        await trx
          .insertInto("usage_hourly")
          .values(deltas.map((d) => ({ tenant_id: d.tenantId, cluster_id: d.clusterId, hour: d.hour, calls: d.calls, errors: d.errors, bytes_in: d.bytesIn, bytes_out: d.bytesOut, sessions: d.sessions })))
          .onConflict((oc) =>
            oc.columns(["tenant_id", "cluster_id", "hour"]).doUpdateSet({
              calls: sql`usage_hourly.calls + excluded.calls`,
              errors: sql`usage_hourly.errors + excluded.errors`,
              bytes_in: sql`usage_hourly.bytes_in + excluded.bytes_in`,
              bytes_out: sql`usage_hourly.bytes_out + excluded.bytes_out`,
              sessions: sql`usage_hourly.sessions + excluded.sessions`,
            }),
          )
          .execute();
      }
      return new Set([...inserted.map((r) => r.id), ...completed.map((r) => r.id)]);
    });
  }

  /** One page (limit + 1 rows, to know whether another page follows), newest first. */
  async queryCalls(f: CallFilter): Promise<CallRow[]> {
    try {
      let q = this.db
        .selectFrom("calls")
        .select(["id", "tenant_id", "cluster_id", "caller_kind", "caller_id", "verb", "resource", "namespace", "name", "path", "subresource", "api_group", "status_code", "ok", "error", "latency_ms", "bytes_in", "bytes_out", "trace_id", "time"])
        .select(["session_phase", "session_command", "session_container", "session_ports", "session_ended_at", "session_close_reason", "session_exit_status", "session_exit_code", "session_owner"])
        .where("tenant_id", "=", f.tenantId);
      if (f.clusterId !== undefined) q = q.where("cluster_id", "=", f.clusterId);
      if (f.callerKind !== undefined) q = q.where("caller_kind", "=", f.callerKind);
      if (f.callerId !== undefined) q = q.where("caller_id", "=", f.callerId);
      if (f.verb !== undefined) q = q.where("verb", "=", f.verb);
      if (f.ok !== undefined) q = q.where("ok", "=", f.ok);
      if (f.statusCode !== undefined) q = q.where("status_code", "=", f.statusCode);
      if (f.since !== undefined) q = q.where("time", ">=", f.since);
      if (f.until !== undefined) q = q.where("time", "<", f.until);
      if (f.after !== undefined) q = q.where(sql<boolean>`(time, id) < (${f.after.time}, ${f.after.id}::uuid)`);
      const rows = await q.orderBy("time", "desc").orderBy("id", "desc").limit(f.limit + 1).execute();
      return rows.map(fromDb);
    } catch (err) {
      throw storeError(err);
    }
  }

  /** The tunnel-proxy instances that own open session rows (the sweeper checks each against its heartbeats). */
  async openSessionOwners(): Promise<string[]> {
    try {
      const rows = await this.db.selectFrom("calls").select("session_owner").distinct().where("session_phase", "=", 1).where("session_owner", "<>", "").execute();
      return rows.map((r) => r.session_owner);
    } catch (err) {
      throw storeError(err);
    }
  }

  /**
   * Marks the open sessions of a stopped tunnel-proxy instance interrupted (phase 3): ended at `endedAt` (never
   * before the row's start), the reason as close reason and error. Only phase 1 changes, so every audit replica may
   * run it. Returns the rows marked.
   */
  async interruptSessions(owner: string, endedAt: Date, reason: string): Promise<number> {
    try {
      const r = await this.db
        .updateTable("calls")
        .set({ session_phase: 3, session_ended_at: sql<Date>`greatest(time, ${endedAt})`, session_close_reason: reason, ok: false, error: reason })
        .where("session_owner", "=", owner)
        .where("session_phase", "=", 1)
        .executeTakeFirst();
      return Number(r.numUpdatedRows);
    } catch (err) {
      throw storeError(err);
    }
  }

  /** Usage buckets (hours or UTC days summed from hourly rows), oldest first. */
  async usage(u: UsageQuery): Promise<UsageRow[]> {
    try {
      const start = sql<Date>`date_trunc(${u.period}, hour, 'UTC')`;
      let q = this.db
        .selectFrom("usage_hourly")
        .select([
          start.as("start"),
          sql<number>`sum(calls)::bigint`.as("calls"),
          sql<number>`sum(errors)::bigint`.as("errors"),
          sql<number>`sum(bytes_in)::bigint`.as("bytes_in"),
          sql<number>`sum(bytes_out)::bigint`.as("bytes_out"),
          sql<number>`sum(sessions)::bigint`.as("sessions"),
        ])
        .where("tenant_id", "=", u.tenantId)
        .where("hour", ">=", u.fromHour)
        .where("hour", "<", u.toHour);
      if (u.clusterId !== undefined) q = q.where("cluster_id", "=", u.clusterId);
      const rows = u.byCluster
        ? await q.select("cluster_id").groupBy([sql`1`, "cluster_id"]).orderBy(sql`1`).orderBy("cluster_id").execute()
        : await q.groupBy(sql`1`).orderBy(sql`1`).execute();
      return rows.map((r) => ({
        start: r.start,
        clusterId: "cluster_id" in r ? String(r.cluster_id) : "",
        calls: r.calls,
        errors: r.errors,
        bytesIn: r.bytes_in,
        bytesOut: r.bytes_out,
        sessions: r.sessions,
      }));
    } catch (err) {
      throw storeError(err);
    }
  }
}

/**
 * Completes the rows of ended sessions: only a row still started (phase 1) or
 * marked interrupted (3) changes, so a redelivered end record changes nothing. Returns what changed,
 * with the end record's id (what the writer counts as stored) and the bytes
 * and outcome it added, for the usage.
 */
async function completeSessions(trx: Transaction<AuditDb>, ends: readonly CallRow[]): Promise<{ id: string; tenantId: string; clusterId: string; time: Date; ok: boolean; bytesIn: number; bytesOut: number }[]> {
  const out = [];
  for (const e of ends) {
    const s = e.session!;
    const row = await trx
      .updateTable("calls")
      .set({ session_phase: 2, session_ended_at: s.endedAt ?? e.time, session_close_reason: s.closeReason, session_exit_status: s.exitStatus, session_exit_code: s.exitCode ?? null, status_code: e.statusCode, ok: e.ok, error: e.error, latency_ms: e.latencyMs, bytes_in: e.bytesIn, bytes_out: e.bytesOut })
      .where("id", "=", s.sessionId)
      .where("tenant_id", "=", e.tenantId)
      .where("cluster_id", "=", e.clusterId)
      // 3: marked interrupted because its tunnel-proxy went silent; a late end record still knows better.
      .where("session_phase", "in", [1, 3])
      .returning(["time"])
      .executeTakeFirst();
    if (row) out.push({ id: e.id, tenantId: e.tenantId, clusterId: e.clusterId, time: row.time, ok: e.ok, bytesIn: e.bytesIn, bytesOut: e.bytesOut });
  }
  return out;
}
