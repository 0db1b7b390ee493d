import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { auditv1 } from "@daalu/proto";
import { requireTenant, type MethodsOf, type ServiceImpl } from "@daalu/runtime";
import { encodeCursor } from "../../domain/cursor.js";
import { INVALID_PAGE_TOKEN, toCallFilter, toUsageQuery } from "../../domain/query.js";
import { sessionState, type CallRow } from "../../domain/record.js";
import { DEFAULT_AUDIT_SESSION_INTERRUPTED_AFTER_MS } from "../../config.js";
import { InvalidPageTokenError, InvalidQueryError } from "../../errors.js";
import type { AuditStore, UsageRow } from "../pg/store.js";

type AuditImpl = ServiceImpl<MethodsOf<typeof auditv1.AuditService>>;

function date(t: Timestamp | undefined, field: string): Date | undefined {
  if (!t) return undefined;
  const d = timestampDate(t);
  if (!Number.isFinite(d.getTime())) throw new InvalidQueryError(`${field} is not a valid time`);
  return d;
}

const STATE = { open: auditv1.SessionState.OPEN, completed: auditv1.SessionState.COMPLETED, interrupted: auditv1.SessionState.INTERRUPTED } as const;

function toSession(r: CallRow, interruptedAfterMs: number): MessageInitShape<typeof auditv1.SessionSchema> | undefined {
  const s = r.session;
  if (!s) return undefined;
  const state = sessionState(s.phase, r.time, Date.now(), interruptedAfterMs);
  return {
    sessionId: s.sessionId,
    // 3 (interrupted) ended too, without an end record; state says how.
    phase: s.phase === 1 ? auditv1.SessionPhase.START : auditv1.SessionPhase.END,
    command: s.command,
    container: s.container,
    ports: s.ports,
    closeReason: s.closeReason,
    exitStatus: s.exitStatus,
    exitCode: s.exitCode ?? 0,
    state: state ? STATE[state] : auditv1.SessionState.UNSPECIFIED,
    ...(s.endedAt ? { endedAt: timestampFromDate(s.endedAt) } : {}),
  };
}

function toRecord(r: CallRow, interruptedAfterMs: number): MessageInitShape<typeof auditv1.CallRecordSchema> {
  const session = toSession(r, interruptedAfterMs);
  return {
    ...(session ? { session } : {}),
    id: r.id,
    tenantId: r.tenantId,
    clusterId: r.clusterId,
    caller: { kind: r.callerKind, id: r.callerId },
    operation: { verb: r.verb, resource: r.resource, namespace: r.namespace, name: r.name, path: r.path, subresource: r.subresource, apiGroup: r.apiGroup },
    outcome: { statusCode: r.statusCode, error: r.error, ok: r.ok },
    latencyMs: r.latencyMs,
    bytesIn: BigInt(r.bytesIn),
    bytesOut: BigInt(r.bytesOut),
    traceId: r.traceId,
    time: timestampFromDate(r.time),
  };
}

function toBucket(b: Omit<UsageRow, "start"> & { start: Date }): MessageInitShape<typeof auditv1.UsageBucketSchema> {
  return {
    start: timestampFromDate(b.start),
    clusterId: b.clusterId,
    calls: BigInt(b.calls),
    errors: BigInt(b.errors),
    bytesIn: BigInt(b.bytesIn),
    bytesOut: BigInt(b.bytesOut),
    sessions: BigInt(b.sessions),
  };
}

/**
 * The AuditService implementation shared by the NATS and gRPC adapters:
 * decode -> domain validation -> store -> encode. Every query is scoped to
 * the caller's tenant from the call context, never from the request.
 */
export function auditHandlers(store: AuditStore, opts: { sessionInterruptedAfterMs: number } = { sessionInterruptedAfterMs: DEFAULT_AUDIT_SESSION_INTERRUPTED_AFTER_MS }): AuditImpl {
  return {
    async queryCalls(req, ctx) {
      const tenantId = requireTenant(ctx);
      const f = toCallFilter(tenantId, { ...req, since: date(req.since, "since"), until: date(req.until, "until") });
      if (!f.ok) throw f.problem === INVALID_PAGE_TOKEN ? new InvalidPageTokenError() : new InvalidQueryError(f.problem);
      const rows = await store.queryCalls(f.value);
      const page = rows.slice(0, f.value.limit);
      const last = page[page.length - 1];
      return {
        calls: page.map((r) => toRecord(r, opts.sessionInterruptedAfterMs)),
        nextPageToken: rows.length > f.value.limit && last ? encodeCursor({ time: last.time, id: last.id }) : "",
      };
    },
    async getUsage(req, ctx) {
      const tenantId = requireTenant(ctx);
      const q = toUsageQuery(tenantId, { ...req, since: date(req.since, "since"), until: date(req.until, "until") });
      if (!q.ok) throw new InvalidQueryError(q.problem);
      const rows = await store.usage(q.value);
      const total = { start: q.value.since, clusterId: "", calls: 0, errors: 0, bytesIn: 0, bytesOut: 0, sessions: 0 };
      for (const r of rows) {
        total.calls += r.calls;
        total.errors += r.errors;
        total.bytesIn += r.bytesIn;
        total.bytesOut += r.bytesOut;
        total.sessions += r.sessions;
      }
      return { buckets: rows.map(toBucket), total: toBucket(total) };
    },
  };
}
