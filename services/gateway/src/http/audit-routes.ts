/**
 * REST face of the audit service (daalu.audit.v1 over NATS), tenant-scoped by
 * the caller's token; any role may read:
 *
 *   GET /v1/audit/calls?clusterId=&callerKind=&callerId=&verb=&outcome=&status=&from=&to=&pageSize=&pageToken=
 *       one row per call through the tunnel, newest first, cursor pages
 *   GET /v1/usage?granularity=hour|day&from=&to=&clusterId=&byCluster=
 *       metering: operation counts and bytes per hour or day (the pricing basis)
 *
 * Register with `app.register(auditRoutesPlugin, { auth, audit, logger })`.
 */
import type { FastifyInstance } from "fastify";
import { timestampDate, timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { auditv1, CallerKind } from "@daalu/proto";
import { callerKindName, type Logger } from "@daalu/runtime";
import type { AuditClient } from "@daalu/audit";
import type { Authenticator } from "../auth.js";
import { BadRequestError } from "../errors.js";
import { authenticate, inSpan } from "./route-kit.js";

export interface AuditRoutesOptions {
  auth: Authenticator;
  audit: AuditClient;
  logger: Logger;
}

const id = { type: "string", minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9_-]+$" } as const;
const time = { type: "string", minLength: 1, maxLength: 40, description: "RFC 3339 time, e.g. 2025-06-01T12:00:00Z" } as const;
export const auditCallsQuery = {
  type: "object",
  additionalProperties: false,
  properties: {
    clusterId: id,
    callerKind: { type: "string", enum: ["user", "assistant", "agent", "service", "edge"] },
    callerId: { type: "string", minLength: 1, maxLength: 200 },
    verb: { type: "string", minLength: 1, maxLength: 40, pattern: "^[a-z]+$" },
    outcome: { type: "string", enum: ["ok", "error"] },
    status: { type: "string", pattern: "^[1-9][0-9]{2}$" },
    from: time,
    to: time,
    pageSize: { type: "string", pattern: "^[0-9]{1,4}$", description: "1-1000, default 100" },
    pageToken: { type: "string", minLength: 1, maxLength: 512 },
  },
} as const;
export const usageQuery = {
  type: "object",
  additionalProperties: false,
  required: ["granularity", "from", "to"],
  properties: { granularity: { type: "string", enum: ["hour", "day"] }, from: time, to: time, clusterId: id, byCluster: { type: "string", enum: ["true", "false"] } },
} as const;

const KINDS: Record<string, CallerKind> = { user: CallerKind.USER, assistant: CallerKind.ASSISTANT, agent: CallerKind.AGENT, service: CallerKind.SERVICE, edge: CallerKind.EDGE };

/** An RFC 3339 time with a zone (a bare date or a zoneless time is ambiguous, so refused). */
export function parseTime(field: string, v: string | undefined): Date | undefined {
  if (v === undefined) return undefined;
  const d = new Date(v);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i.test(v) || Number.isNaN(d.getTime())) {
    throw new BadRequestError(`${field} must be an RFC 3339 time with a zone, e.g. 2025-06-01T12:00:00Z`, "INVALID_TIME");
  }
  return d;
}

const iso = (t: Timestamp | undefined) => (t ? timestampDate(t).toISOString() : null);

export function callJson(c: auditv1.CallRecord) {
  const op = c.operation;
  return {
    id: c.id,
    time: iso(c.time),
    clusterId: c.clusterId,
    caller: { kind: callerKindName(c.caller?.kind ?? CallerKind.UNSPECIFIED), id: c.caller?.id ?? "" },
    operation: { verb: op?.verb ?? "", resource: op?.resource ?? "", namespace: op?.namespace ?? "", name: op?.name ?? "", subresource: op?.subresource ?? "", apiGroup: op?.apiGroup ?? "", path: op?.path ?? "" },
    outcome: { statusCode: c.outcome?.statusCode ?? 0, ok: c.outcome?.ok ?? false, error: c.outcome?.error || null },
    latencyMs: c.latencyMs,
    bytesIn: Number(c.bytesIn),
    bytesOut: Number(c.bytesOut),
    traceId: c.traceId || null,
    session: sessionJson(c.session),
  };
}

const SESSION_STATE: Record<number, string> = { [auditv1.SessionState.OPEN]: "open", [auditv1.SessionState.COMPLETED]: "completed", [auditv1.SessionState.INTERRUPTED]: "interrupted" };

/** An exec/attach/port-forward session's facts, or null for a plain call. */
function sessionJson(s: auditv1.Session | undefined) {
  if (!s?.sessionId) return null;
  return {
    id: s.sessionId,
    state: SESSION_STATE[s.state] ?? "unknown",
    command: s.command,
    container: s.container || null,
    ports: s.ports,
    endedAt: iso(s.endedAt),
    closeReason: s.closeReason || null,
    exit: s.exitStatus ? { status: s.exitStatus, code: s.exitCode } : null,
  };
}

function bucketJson(b: auditv1.UsageBucket | undefined) {
  return { start: iso(b?.start), clusterId: b?.clusterId || null, calls: Number(b?.calls ?? 0), errors: Number(b?.errors ?? 0), bytesIn: Number(b?.bytesIn ?? 0), bytesOut: Number(b?.bytesOut ?? 0), sessions: Number(b?.sessions ?? 0) };
}

export async function auditRoutesPlugin(app: FastifyInstance, opts: AuditRoutesOptions): Promise<void> {
  type CallsQ = { Querystring: { clusterId?: string; callerKind?: string; callerId?: string; verb?: string; outcome?: string; status?: string; from?: string; to?: string; pageSize?: string; pageToken?: string } };
  app.get<CallsQ>("/v1/audit/calls", { schema: { querystring: auditCallsQuery } }, (req) =>
    inSpan(req, async () => {
      const p = await authenticate(opts.auth, req);
      const q = req.query;
      const pageSize = q.pageSize === undefined ? 0 : Number(q.pageSize);
      if (q.pageSize !== undefined && (pageSize < 1 || pageSize > 1000)) throw new BadRequestError("pageSize must be between 1 and 1000", "INVALID_PAGE_SIZE");
      const since = parseTime("from", q.from);
      const until = parseTime("to", q.to);
      if (since && until && since >= until) throw new BadRequestError("from must be before to", "INVALID_TIME_RANGE");
      const res = await opts.audit.queryCalls(
        {
          clusterId: q.clusterId ?? "",
          callerKind: q.callerKind ? KINDS[q.callerKind]! : CallerKind.UNSPECIFIED,
          callerId: q.callerId ?? "",
          verb: q.verb ?? "",
          outcome: q.outcome === "ok" ? auditv1.OutcomeFilter.OK : q.outcome === "error" ? auditv1.OutcomeFilter.ERROR : auditv1.OutcomeFilter.UNSPECIFIED,
          statusCode: q.status ? Number(q.status) : 0,
          ...(since ? { since: timestampFromDate(since) } : {}),
          ...(until ? { until: timestampFromDate(until) } : {}),
          pageSize,
          pageToken: q.pageToken ?? "",
        },
        { tenantId: p.tenantId, caller: p.caller },
      );
      return { calls: res.calls.map(callJson), nextPageToken: res.nextPageToken || null };
    }),
  );

  type UsageQ = { Querystring: { granularity: "hour" | "day"; from: string; to: string; clusterId?: string; byCluster?: string } };
  app.get<UsageQ>("/v1/usage", { schema: { querystring: usageQuery } }, (req) =>
    inSpan(req, async () => {
      const p = await authenticate(opts.auth, req);
      const q = req.query;
      const since = parseTime("from", q.from)!;
      const until = parseTime("to", q.to)!;
      if (since >= until) throw new BadRequestError("from must be before to", "INVALID_TIME_RANGE");
      const res = await opts.audit.getUsage(
        { period: q.granularity === "hour" ? auditv1.UsagePeriod.HOUR : auditv1.UsagePeriod.DAY, since: timestampFromDate(since), until: timestampFromDate(until), clusterId: q.clusterId ?? "", byCluster: q.byCluster === "true" },
        { tenantId: p.tenantId, caller: p.caller },
      );
      return { granularity: q.granularity, from: since.toISOString(), to: until.toISOString(), buckets: res.buckets.map(bucketJson), total: bucketJson(res.total) };
    }),
  );
}
