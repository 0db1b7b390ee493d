import { randomUUID } from "node:crypto";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import pg from "pg";
import { CallerKind } from "@daalu/proto";
import { createLogger } from "@daalu/runtime";
import { setup, type TestEnv } from "@daalu/testing";
import { createAuditPublisher, type AuditPublisher } from "../src/client.js";
import { newCallRecord } from "../src/client.js";

/** What most tests need: an isolated env, an in-process audit service and a publisher, torn down in order. */
export async function harness(
  t: { after(fn: () => Promise<void>): void },
  extra: Record<string, string> = {},
  opts: { service?: boolean } = {},
): Promise<{ env: TestEnv; audit: (RunningAudit & { config: AuditConfig }) | undefined; publisher: AuditPublisher }> {
  const env = await setup();
  let audit: (RunningAudit & { config: AuditConfig }) | undefined;
  t.after(async () => {
    await audit?.stop();
    await deleteStream(env.nc, env.prefix);
    await env.cleanup();
  });
  if (opts.service !== false) audit = await startAudit(auditEnv(env.env, extra));
  const publisher = await createAuditPublisher(env.nc, { prefix: env.prefix });
  return { env, audit, publisher };
}
import { auditStreamName } from "../src/adapters/nats/stream.js";
import { loadConfig, type AuditConfig } from "../src/config.js";
import { start, type RunningAudit } from "../src/service.js";
import type { auditv1 } from "@daalu/proto";

export const logger = createLogger("audit-test", process.env["LOG_LEVEL"] ?? "silent");

/** Environment for an audit service of this test (in-process or spawned). */
export function auditEnv(base: Record<string, string>, extra: Record<string, string> = {}): Record<string, string> {
  return { ...base, AUDIT_GRPC_ADDR: "127.0.0.1:0", AUDIT_ACK_WAIT: "2s", AUDIT_RETRY_MAX: "500ms", ...extra };
}

export async function startAudit(env: Record<string, string>): Promise<RunningAudit & { config: AuditConfig }> {
  const config = loadConfig(env);
  const running = await start(config, logger);
  return { ...running, config };
}

/** A realistic record; `i` varies bytes so sums are meaningful. */
export function record(tenantId: string, clusterId: string, i: number, over: Partial<MessageInitShape<typeof auditv1.CallRecordSchema>> = {}): auditv1.CallRecord {
  const ok = i % 7 !== 0;
  return newCallRecord({
    id: randomUUID(),
    tenantId,
    clusterId,
    caller: { kind: i % 3 === 0 ? CallerKind.AGENT : CallerKind.USER, id: i % 3 === 0 ? "bot" : "alice" },
    operation: { verb: i % 2 === 0 ? "get" : "list", resource: "pods", namespace: "default", name: i % 2 === 0 ? `web-${i}` : "", path: `/api/v1/namespaces/default/pods` },
    outcome: ok ? { statusCode: 200, ok: true } : { statusCode: 403, ok: false, error: "pods is forbidden" },
    latencyMs: 3 + (i % 50),
    bytesIn: BigInt(i % 5),
    bytesOut: BigInt(100 + i),
    traceId: "0af7651916cd43dd8448eb211c80319c",
    ...over,
  } as MessageInitShape<typeof auditv1.CallRecordSchema>);
}

export function at(d: Date) {
  return timestampFromDate(d);
}

/** Reads the audit schema directly (what the writer stored). */
export async function dbStats(databaseUrl: string): Promise<{ rows: number; distinct: number; calls: number; errors: number; bytesIn: number; bytesOut: number; ids: Set<string> }> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const exists = await c.query(`select to_regclass('audit.calls') as t`);
    if (!exists.rows[0].t) return { rows: 0, distinct: 0, calls: 0, errors: 0, bytesIn: 0, bytesOut: 0, ids: new Set() };
    const ids = await c.query<{ id: string }>(`select id::text from audit.calls`);
    const u = await c.query(`select coalesce(sum(calls),0)::bigint as calls, coalesce(sum(errors),0)::bigint as errors, coalesce(sum(bytes_in),0)::bigint as bytes_in, coalesce(sum(bytes_out),0)::bigint as bytes_out from audit.usage_hourly`);
    const set = new Set(ids.rows.map((r) => r.id));
    return { rows: ids.rows.length, distinct: set.size, calls: Number(u.rows[0].calls), errors: Number(u.rows[0].errors), bytesIn: Number(u.rows[0].bytes_in), bytesOut: Number(u.rows[0].bytes_out), ids: set };
  } finally {
    await c.end();
  }
}

/** Deletes this test's stream (file storage on the shared server). */
export async function deleteStream(nc: NatsConnection, prefix: string): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(auditStreamName(prefix)).catch(() => undefined);
}

/** Runs `fn` over `items` with at most `n` at once. */
export async function pool<T, R>(items: readonly T[], n: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

export function sums(records: readonly auditv1.CallRecord[]): { calls: number; errors: number; bytesIn: number; bytesOut: number } {
  let errors = 0;
  let bytesIn = 0;
  let bytesOut = 0;
  for (const r of records) {
    if (!r.outcome?.ok) errors++;
    bytesIn += Number(r.bytesIn);
    bytesOut += Number(r.bytesOut);
  }
  return { calls: records.length, errors, bytesIn, bytesOut };
}
