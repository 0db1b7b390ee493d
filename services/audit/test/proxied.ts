/**
 * Real calls through the tunnel for the audit load tests: GETs sent the way
 * the gateway sends them (proxyCall over the cluster's tunnel subject), each
 * with its own caller id, so every audit row can be matched to the one call it
 * describes.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import pg from "pg";
import { CallerKind } from "@daalu/proto";
import { DaaluError } from "@daalu/runtime";
import { proxyCall } from "@daalu/tunnel-proxy";
import { auditStreamName } from "../src/adapters/nats/stream.js";
import { pool } from "./helpers.js";

/** What one call saw. `error` is set when it failed; `status`/`bytes` when it was answered. */
export interface CallOutcome {
  callerId: string;
  status: number;
  /** Body bytes the caller received. */
  bytes: number;
  error?: DaaluError;
  /** Milliseconds since the load started, when the call began and settled. */
  startedMs: number;
  endedMs: number;
}

export interface ProxiedLoadOptions {
  prefix: string;
  tenantId: string;
  clusterId: string;
  /** How long a caller waits for the head. */
  timeoutMs: number;
  path?: string;
}

/** Counts calls as they start and settle, so a test can show what was in flight at a given moment. */
export class ProxiedLoad {
  started = 0;
  answered = 0;
  failed = 0;
  /** When the load began (CallOutcome times are relative to it). */
  readonly t0 = Date.now();

  constructor(
    private readonly nc: NatsConnection,
    private readonly o: ProxiedLoadOptions,
  ) {}

  get inFlight(): number {
    return this.started - this.answered - this.failed;
  }

  /** One GET through the tunnel as caller `user:<callerId>`; never throws. */
  async call(callerId: string): Promise<CallOutcome> {
    const startedMs = Date.now() - this.t0;
    this.started++;
    try {
      const a = await proxyCall(this.nc, { method: "GET", path: this.o.path ?? "/api/v1/namespaces/default/pods", headers: [{ name: "Accept", value: "application/json" }] }, {
        prefix: this.o.prefix,
        tenantId: this.o.tenantId,
        clusterId: this.o.clusterId,
        caller: { kind: CallerKind.USER, id: callerId },
        timeoutMs: this.o.timeoutMs,
      });
      let bytes = 0;
      for await (const c of a.body) bytes += c.length;
      this.answered++;
      return { callerId, status: a.status, bytes, startedMs, endedMs: Date.now() - this.t0 };
    } catch (err) {
      this.failed++;
      return { callerId, status: 0, bytes: 0, error: DaaluError.from(err), startedMs, endedMs: Date.now() - this.t0 };
    }
  }

  /** `ids.length` calls with at most `concurrency` at once. */
  run(ids: readonly string[], concurrency: number): Promise<CallOutcome[]> {
    return pool(ids, concurrency, (id) => this.call(id));
  }
}

/** One row per caller as the audit service stored them for `clusterId`. */
export interface CallerRows {
  rows: number;
  statusCode: number;
  ok: boolean;
  bytesOut: number;
}

/** Reads audit.calls and audit.usage_hourly of one cluster. */
export class AuditReader {
  private readonly db: pg.Pool;

  constructor(databaseUrl: string) {
    this.db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    // The test database is dropped at cleanup; an idle client's error must not crash the test process.
    this.db.on("error", () => undefined);
  }

  async count(clusterId: string): Promise<number> {
    const r = await this.db.query(`select count(*)::int as n from audit.calls where cluster_id = $1`, [clusterId]);
    return r.rows[0].n as number;
  }

  async byCaller(clusterId: string): Promise<Map<string, CallerRows>> {
    const r = await this.db.query<{ caller_id: string; rows: number; status_code: number; ok: boolean; bytes_out: string }>(
      `select caller_id, count(*)::int as rows, min(status_code) as status_code, bool_and(ok) as ok, sum(bytes_out)::bigint as bytes_out
         from audit.calls where cluster_id = $1 group by caller_id`,
      [clusterId],
    );
    return new Map(r.rows.map((x) => [x.caller_id, { rows: x.rows, statusCode: x.status_code, ok: x.ok, bytesOut: Number(x.bytes_out) }]));
  }

  async usage(clusterId: string): Promise<{ calls: number; errors: number; bytesOut: number }> {
    const r = await this.db.query(
      `select coalesce(sum(calls),0)::bigint as calls, coalesce(sum(errors),0)::bigint as errors, coalesce(sum(bytes_out),0)::bigint as bytes_out
         from audit.usage_hourly where cluster_id = $1`,
      [clusterId],
    );
    return { calls: Number(r.rows[0].calls), errors: Number(r.rows[0].errors), bytesOut: Number(r.rows[0].bytes_out) };
  }

  close(): Promise<void> {
    return this.db.end();
  }
}

/** Records still waiting in the audit stream (work-queue retention: acked ones are gone). */
export async function recordsWaiting(nc: NatsConnection, prefix: string): Promise<number> {
  const jsm = await jetstreamManager(nc);
  return (await jsm.streams.info(auditStreamName(prefix))).state.messages;
}
