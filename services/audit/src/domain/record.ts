/**
 * Call records as stored: validation and normalisation of what the publisher
 * sent. Pure: no I/O. A record that fails here is malformed for good (retrying
 * cannot fix it), so the writer terminates its message instead of blocking the
 * stream behind it. Takes the generated `auditv1.CallRecord` as it was
 * decoded (plain data); no mirror of the contract is kept here.
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { auditv1 } from "@daalu/proto";
import { isUuid } from "@daalu/runtime/pure";

/** A call record as one row of `audit.calls`. */
export interface CallRow {
  id: string;
  tenantId: string;
  clusterId: string;
  /** daalu.common.v1.CallerKind number. */
  callerKind: number;
  callerId: string;
  verb: string;
  resource: string;
  namespace: string;
  name: string;
  path: string;
  subresource: string;
  apiGroup: string;
  statusCode: number;
  ok: boolean;
  error: string;
  latencyMs: number;
  bytesIn: number;
  bytesOut: number;
  traceId: string;
  /** Millisecond precision: the query cursor round-trips it exactly through a JS Date. */
  time: Date;
  /** Set for a session's records (exec, attach, port-forward). */
  session?: SessionFacts;
}

/**
 * A session's facts as stored. phase 1: the start record (its row is the session's); 2: the end record, which
 * completes the row `sessionId`; 3 (stored only, never published): the row's tunnel-proxy stopped before its end record.
 */
export interface SessionFacts {
  sessionId: string;
  phase: 1 | 2 | 3;
  /** The start record's hub_instance: the tunnel-proxy process carrying the session ("" when it named none). */
  owner: string;
  command: string[];
  container: string;
  ports: string[];
  endedAt?: Date;
  closeReason: string;
  /** How the command ended (the error channel's Status reason, "Success"); "" when unknown. */
  exitStatus: string;
  /** Set with exitStatus. */
  exitCode?: number;
}

/**
 * How a stored session stands: phase 3 was marked interrupted (its tunnel-proxy's heartbeats stopped); an unended
 * one older than `interruptedAfterMs` counts as interrupted too (a row naming no owner, or no audit sweeper ran).
 */
export function sessionState(phase: number, time: Date, now: number, interruptedAfterMs: number): "open" | "completed" | "interrupted" | undefined {
  if (phase === 2) return "completed";
  if (phase === 3) return "interrupted";
  if (phase !== 1) return undefined;
  return now - time.getTime() > interruptedAfterMs ? "interrupted" : "open";
}

function toSession(s: auditv1.Session, id: string): Checked<SessionFacts | undefined> {
  if (s.phase === 0) return { ok: true, value: undefined };
  if (s.phase !== 1 && s.phase !== 2) return { ok: false, problem: `session.phase ${s.phase} is unknown` };
  if (!isUuid(s.sessionId)) return { ok: false, problem: "session.session_id must be a UUID" };
  if (s.phase === 1 && s.sessionId.toLowerCase() !== id) return { ok: false, problem: "a session's start record must have the session's id" };
  const ended = s.endedAt ? timestampDate(s.endedAt) : undefined;
  return {
    ok: true,
    value: {
      sessionId: s.sessionId.toLowerCase(),
      phase: s.phase,
      owner: cleanText(s.hubInstance, MAX_SHORT_FIELD),
      command: s.command.slice(0, 256).map((c) => cleanText(c, MAX_LONG_FIELD)),
      container: cleanText(s.container, MAX_SHORT_FIELD),
      ports: s.ports.slice(0, 64).map((p) => cleanText(p, 64)),
      ...(ended && Number.isFinite(ended.getTime()) ? { endedAt: ended } : {}),
      closeReason: cleanText(s.closeReason, MAX_LONG_FIELD),
      exitStatus: cleanText(s.exitStatus, 64),
      ...(s.exitStatus ? { exitCode: s.exitCode } : {}),
    },
  };
}

export type Checked<T> = { ok: true; value: T } | { ok: false; problem: string };

/** Tenant and cluster ids are single NATS subject tokens. */
const SUBJECT_TOKEN = /^[A-Za-z0-9_-]{1,128}$/;
export const MAX_SHORT_FIELD = 512;
export const MAX_LONG_FIELD = 4_096;
/** Earliest and latest accepted call times: anything outside is a clock or encoding bug. */
const MIN_TIME = Date.UTC(2000, 0, 1);
const MAX_TIME = Date.UTC(9999, 11, 31);

/** PostgreSQL text cannot hold NUL; over-long fields are cut (the row matters more than the tail). */
export function cleanText(s: string, max: number): string {
  const t = s.includes("\u0000") ? s.replaceAll("\u0000", "") : s;
  return t.length > max ? t.slice(0, max) : t;
}

export function isSubjectToken(s: string): boolean {
  return SUBJECT_TOKEN.test(s);
}

function safeCount(v: bigint, field: string): Checked<number> {
  if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, problem: `${field} out of range (${v})` };
  return { ok: true, value: Number(v) };
}

/**
 * Validates and normalises a decoded record. `subject` (tenant, cluster of the
 * JetStream subject it arrived on), when given, must agree with the record.
 */
export function toCallRow(r: auditv1.CallRecord, subject?: { tenantId: string; clusterId: string }): Checked<CallRow> {
  if (!isUuid(r.id)) return { ok: false, problem: `id must be a UUID, got "${cleanText(r.id, 64)}"` };
  if (!isSubjectToken(r.tenantId)) return { ok: false, problem: "tenant_id must be a non-empty subject token" };
  if (!isSubjectToken(r.clusterId)) return { ok: false, problem: "cluster_id must be a non-empty subject token" };
  if (subject && (subject.tenantId !== r.tenantId || subject.clusterId !== r.clusterId)) {
    return { ok: false, problem: "tenant_id/cluster_id do not match the subject the record was published on" };
  }
  if (!r.time) return { ok: false, problem: "time is required" };
  const ms = timestampDate(r.time).getTime();
  if (!Number.isFinite(ms) || ms < MIN_TIME || ms > MAX_TIME) return { ok: false, problem: "time is out of range" };
  const status = r.outcome?.statusCode ?? 0;
  if (status > 999) return { ok: false, problem: `status_code must be an HTTP status, got ${status}` };
  const bytesIn = safeCount(r.bytesIn, "bytes_in");
  if (!bytesIn.ok) return bytesIn;
  const bytesOut = safeCount(r.bytesOut, "bytes_out");
  if (!bytesOut.ok) return bytesOut;
  const op = r.operation;
  const session = r.session ? toSession(r.session, r.id.toLowerCase()) : { ok: true as const, value: undefined };
  if (!session.ok) return session;
  return {
    ok: true,
    value: {
      ...(session.value ? { session: session.value } : {}),
      id: r.id.toLowerCase(),
      tenantId: r.tenantId,
      clusterId: r.clusterId,
      callerKind: r.caller?.kind ?? 0,
      callerId: cleanText(r.caller?.id ?? "", MAX_SHORT_FIELD),
      verb: cleanText(op?.verb ?? "", 64),
      resource: cleanText(op?.resource ?? "", MAX_SHORT_FIELD),
      namespace: cleanText(op?.namespace ?? "", MAX_SHORT_FIELD),
      name: cleanText(op?.name ?? "", MAX_SHORT_FIELD),
      path: cleanText(op?.path ?? "", MAX_LONG_FIELD),
      subresource: cleanText(op?.subresource ?? "", MAX_SHORT_FIELD),
      apiGroup: cleanText(op?.apiGroup ?? "", MAX_SHORT_FIELD),
      statusCode: status,
      ok: r.outcome?.ok ?? false,
      error: cleanText(r.outcome?.error ?? "", MAX_LONG_FIELD),
      latencyMs: r.latencyMs,
      bytesIn: bytesIn.value,
      bytesOut: bytesOut.value,
      traceId: cleanText(r.traceId, 64),
      time: new Date(ms),
    },
  };
}

/** Tenant and cluster from `[prefix.]daalu.audit.calls.<tenant>.<cluster>`, or undefined. */
export function parseAuditSubject(subject: string): { tenantId: string; clusterId: string } | undefined {
  const parts = subject.split(".");
  const n = parts.length;
  if (n < 5 || parts[n - 5] !== "daalu" || parts[n - 4] !== "audit" || parts[n - 3] !== "calls") return undefined;
  return { tenantId: parts[n - 2]!, clusterId: parts[n - 1]! };
}

/**
 * Keeps the first row of each id. JetStream may hand the writer two deliveries
 * of one message in a batch (redelivery after ack_wait); one statement must not
 * insert an id twice.
 */
export function uniqueById<T extends { row: CallRow }>(items: readonly T[]): { unique: T[]; duplicates: T[] } {
  const seen = new Set<string>();
  const unique: T[] = [];
  const duplicates: T[] = [];
  for (const it of items) {
    if (seen.has(it.row.id)) duplicates.push(it);
    else {
      seen.add(it.row.id);
      unique.push(it);
    }
  }
  return { unique, duplicates };
}
