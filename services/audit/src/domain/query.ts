/**
 * Query and usage requests, validated into plain filters. Pure: the adapters
 * turn a `{ ok: false }` into InvalidQueryError.
 */
import { decodeCursor, type CallPosition } from "./cursor.js";
import { isSubjectToken, type Checked } from "./record.js";

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
/** Longest usage range per period, to bound the rows one request aggregates. */
export const MAX_USAGE_RANGE_MS = { hour: 93 * DAY_MS, day: 3 * 366 * DAY_MS } as const;

/** What QueryCalls receives (structurally the generated request, times converted). */
export interface CallQueryInput {
  clusterId: string;
  callerKind: number;
  callerId: string;
  verb: string;
  /** OutcomeFilter: 0 any, 1 ok, 2 error. */
  outcome: number;
  statusCode: number;
  since: Date | undefined;
  until: Date | undefined;
  pageSize: number;
  pageToken: string;
}

/** A validated, tenant-scoped call query. Undefined fields do not filter. */
export interface CallFilter {
  tenantId: string;
  clusterId?: string;
  callerKind?: number;
  callerId?: string;
  verb?: string;
  ok?: boolean;
  statusCode?: number;
  since?: Date;
  until?: Date;
  limit: number;
  /** Rows strictly after this position in (time desc, id desc) order. */
  after?: CallPosition;
}

export const INVALID_PAGE_TOKEN = "INVALID_PAGE_TOKEN";

export function toCallFilter(tenantId: string, q: CallQueryInput): Checked<CallFilter> {
  const f: CallFilter = { tenantId, limit: q.pageSize === 0 ? DEFAULT_PAGE_SIZE : Math.min(q.pageSize, MAX_PAGE_SIZE) };
  if (q.clusterId) {
    if (!isSubjectToken(q.clusterId)) return { ok: false, problem: "cluster_id is not a valid cluster id" };
    f.clusterId = q.clusterId;
  }
  if (q.callerKind !== 0) f.callerKind = q.callerKind;
  if (q.callerId) f.callerId = q.callerId;
  if (q.verb) f.verb = q.verb;
  if (q.outcome === 1) f.ok = true;
  else if (q.outcome === 2) f.ok = false;
  else if (q.outcome !== 0) return { ok: false, problem: `outcome ${q.outcome} is not a known OutcomeFilter` };
  if (q.statusCode !== 0) {
    if (q.statusCode < 100 || q.statusCode > 999) return { ok: false, problem: `status_code must be an HTTP status (100-999), got ${q.statusCode}` };
    f.statusCode = q.statusCode;
  }
  if (q.since) f.since = q.since;
  if (q.until) f.until = q.until;
  if (f.since && f.until && f.since.getTime() >= f.until.getTime()) return { ok: false, problem: "since must be before until" };
  if (q.pageToken) {
    const after = decodeCursor(q.pageToken);
    if (!after) return { ok: false, problem: INVALID_PAGE_TOKEN };
    f.after = after;
  }
  return { ok: true, value: f };
}

export type Period = "hour" | "day";

export interface UsageInput {
  /** UsagePeriod: 1 hour, 2 day. */
  period: number;
  since: Date | undefined;
  until: Date | undefined;
  clusterId: string;
  byCluster: boolean;
}

/** A validated usage query over hourly rows `hour >= fromHour and hour < toHour`. */
export interface UsageQuery {
  tenantId: string;
  period: Period;
  since: Date;
  fromHour: Date;
  toHour: Date;
  clusterId?: string;
  byCluster: boolean;
}

/** The first period boundary at or after `t` (UTC). */
export function ceilToPeriod(t: Date, period: Period): Date {
  const step = period === "hour" ? HOUR_MS : DAY_MS;
  return new Date(Math.ceil(t.getTime() / step) * step);
}

/**
 * Buckets are whole UTC hours or days; a bucket is included when it starts at
 * or after `since` and before `until`. In hourly rows that is the range
 * [ceil(since), ceil(until)) for the period.
 */
export function toUsageQuery(tenantId: string, u: UsageInput): Checked<UsageQuery> {
  const period: Period | undefined = u.period === 1 ? "hour" : u.period === 2 ? "day" : undefined;
  if (!period) return { ok: false, problem: "period is required (USAGE_PERIOD_HOUR or USAGE_PERIOD_DAY)" };
  if (!u.since || !u.until) return { ok: false, problem: "since and until are required" };
  if (u.since.getTime() >= u.until.getTime()) return { ok: false, problem: "since must be before until" };
  if (u.until.getTime() - u.since.getTime() > MAX_USAGE_RANGE_MS[period]) {
    return { ok: false, problem: `the range is too long for ${period} buckets (at most ${MAX_USAGE_RANGE_MS[period] / DAY_MS} days)` };
  }
  if (u.clusterId && !isSubjectToken(u.clusterId)) return { ok: false, problem: "cluster_id is not a valid cluster id" };
  const q: UsageQuery = { tenantId, period, since: u.since, fromHour: ceilToPeriod(u.since, period), toHour: ceilToPeriod(u.until, period), byCluster: u.byCluster };
  if (u.clusterId) q.clusterId = u.clusterId;
  return { ok: true, value: q };
}

/** Hourly metering increments for the rows a batch actually inserted. */
export interface UsageDelta {
  tenantId: string;
  clusterId: string;
  hour: Date;
  calls: number;
  errors: number;
  bytesIn: number;
  bytesOut: number;
  sessions: number;
}

/**
 * Sums inserted rows per (tenant, cluster, UTC hour), sorted by key so that
 * concurrent writers lock usage rows in the same order (no deadlocks).
 */
export function usageDeltas(rows: readonly { tenantId: string; clusterId: string; time: Date; ok: boolean; bytesIn: number; bytesOut: number; calls?: number; sessions?: number }[]): UsageDelta[] {
  const by = new Map<string, UsageDelta>();
  for (const r of rows) {
    const hour = new Date(Math.floor(r.time.getTime() / HOUR_MS) * HOUR_MS);
    const key = `${r.tenantId}\u0000${r.clusterId}\u0000${hour.toISOString()}`;
    let d = by.get(key);
    if (!d) {
      d = { tenantId: r.tenantId, clusterId: r.clusterId, hour, calls: 0, errors: 0, bytesIn: 0, bytesOut: 0, sessions: 0 };
      by.set(key, d);
    }
    // A session's completion adds its bytes, not a call (calls: 0).
    d.calls += r.calls ?? 1;
    d.sessions += r.sessions ?? 0;
    if (!r.ok) d.errors += 1;
    d.bytesIn += r.bytesIn;
    d.bytesOut += r.bytesOut;
  }
  return [...by.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, d]) => d);
}
