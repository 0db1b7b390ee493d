/**
 * What the hub's WireGuard node reads and writes: the enrolled clusters with
 * their health, the health columns of `clusters`, and the critical alerts,
 * which must survive a hub restart so an outage is alerted once, not once per
 * restart.
 */
import { sql, storeError, type Migration } from "@daalu/runtime";
import type { Kysely } from "kysely";
import { isUuid, type ClusterStatusName } from "../../domain/cluster.js";
import { CLUSTER_COLUMNS, findCluster, toCluster, type ClusterRecord, type ClusterRow, type HealthPatch } from "./rows.js";
import type { PeeringDb } from "./schema.js";

/** Migration `202611220000_cluster_alerts` (listed in migrations.ts). */
export const clusterAlertsMigration: Migration = {
  async up(db) {
    // No foreign key to clusters: an alert outlives its cluster as history; the
    // hub node resolves it when the cluster goes away.
    await sql`
      create table cluster_alerts (
        id uuid primary key default gen_random_uuid(),
        tenant_id text not null,
        cluster_id uuid not null,
        severity text not null check (severity in ('critical')),
        summary text not null,
        diagnostic text not null default '',
        raised_at timestamptz not null,
        resolved_at timestamptz,
        resolution text not null default ''
      )`.execute(db);
    // At most one open alert per cluster, however many sweeps or nodes race.
    await sql`create unique index cluster_alerts_one_open on cluster_alerts (cluster_id) where resolved_at is null`.execute(db);
    await sql`create index cluster_alerts_tenant on cluster_alerts (tenant_id, raised_at desc)`.execute(db);
  },
};

/** An enrolled cluster as the hub node tracks it. */
export interface TrackedClusterRow {
  clusterId: string;
  tenantId: string;
  name: string;
  publicKey: string;
  tunnelIp: string;
  subnet: string;
  hubIp: string;
  status: ClusterStatusName;
  statusSince: Date;
  lastHandshake: Date | null;
  enrolledAt: Date;
  diagnostic: string;
  apiReachable: boolean;
  edgeVersion: string;
}

export interface AlertRecord {
  id: string;
  tenantId: string;
  clusterId: string;
  severity: "critical";
  summary: string;
  diagnostic: string;
  raisedAt: Date;
  resolvedAt: Date | null;
}

interface AlertRow {
  id: string;
  tenant_id: string;
  cluster_id: string;
  severity: "critical";
  summary: string;
  diagnostic: string;
  raised_at: Date;
  resolved_at: Date | null;
}

function toAlert(r: AlertRow): AlertRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    clusterId: r.cluster_id,
    severity: r.severity,
    summary: r.summary,
    diagnostic: r.diagnostic,
    raisedAt: r.raised_at,
    resolvedAt: r.resolved_at,
  };
}

export class HealthStore {
  constructor(private readonly db: Kysely<PeeringDb>) {}

  /**
   * Writes health fields. Returns the row after the update and its status
   * before it, or undefined when the cluster no longer exists.
   */
  async updateHealth(clusterId: string, patch: HealthPatch): Promise<{ cluster: ClusterRecord; previousStatus: ClusterStatusName } | undefined> {
    if (!isUuid(clusterId)) return undefined;
    try {
      return await this.db.transaction().execute(async (trx) => {
        const before = await findCluster(trx, clusterId, undefined, true);
        if (!before) return undefined;
        const statusChanged = patch.status !== undefined && patch.status !== before.status;
        await trx
          .updateTable("clusters")
          .set({
            ...(patch.status !== undefined ? { status: patch.status } : {}),
            ...(patch.statusSince !== undefined ? { status_since: patch.statusSince } : statusChanged ? { status_since: new Date() } : {}),
            ...(patch.lastHandshake !== undefined ? { last_handshake: patch.lastHandshake } : {}),
            ...(patch.edgeVersion !== undefined ? { edge_version: patch.edgeVersion } : {}),
            ...(patch.apiReachable !== undefined ? { api_reachable: patch.apiReachable } : {}),
            ...(patch.diagnostic !== undefined ? { diagnostic: patch.diagnostic } : {}),
          })
          .where("id", "=", clusterId)
          .execute();
        return { cluster: (await findCluster(trx, clusterId))!, previousStatus: before.status };
      });
    } catch (err) {
      throw storeError(err);
    }
  }

  /**
   * updateHealth for many clusters in one transaction and three statements (the hub node's sweep writes what
   * changed for every cluster it evaluates; a fresh node's first sweep over 10,000 clusters wrote them one
   * transaction each). Same semantics per row: only the fields a patch has are written; status_since is the
   * patch's, else now() when the status changes; the transition trigger fires per row whose status changed.
   * Returns, per cluster that still exists, the row after the update and its status before it.
   */
  async updateHealthMany(items: readonly { clusterId: string; patch: HealthPatch }[]): Promise<Map<string, { cluster: ClusterRecord; previousStatus: ClusterStatusName }>> {
    const out = new Map<string, { cluster: ClusterRecord; previousStatus: ClusterStatusName }>();
    const valid = items.filter((i) => isUuid(i.clusterId));
    if (valid.length === 0) return out;
    const col = <T>(f: (p: HealthPatch) => T | undefined): (T | null)[] => valid.map((i) => f(i.patch) ?? null);
    try {
      return await this.db.transaction().execute(async (trx) => {
        const ids = valid.map((i) => i.clusterId);
        const before = await sql<{ id: string; status: ClusterStatusName }>`
          select id, status from clusters where id = any(${ids}::uuid[]) order by id for update`.execute(trx);
        if (before.rows.length === 0) return out;
        await sql`
          update clusters c set
            status = coalesce(v.status, c.status),
            status_since = coalesce(v.status_since, case when v.status is not null and v.status <> c.status then now() else c.status_since end),
            last_handshake = case when v.has_handshake then v.last_handshake else c.last_handshake end,
            edge_version = coalesce(v.edge_version, c.edge_version),
            api_reachable = coalesce(v.api_reachable, c.api_reachable),
            diagnostic = coalesce(v.diagnostic, c.diagnostic)
          from unnest(${ids}::uuid[], ${col((p) => p.status)}::text[], ${col((p) => p.statusSince)}::timestamptz[],
                      ${valid.map((i) => i.patch.lastHandshake !== undefined)}::bool[], ${col((p) => p.lastHandshake)}::timestamptz[],
                      ${col((p) => p.edgeVersion)}::text[], ${col((p) => p.apiReachable)}::bool[], ${col((p) => p.diagnostic)}::text[])
            as v(id, status, status_since, has_handshake, last_handshake, edge_version, api_reachable, diagnostic)
          where c.id = v.id`.execute(trx);
        const after = await sql<ClusterRow>`
          select ${CLUSTER_COLUMNS} from clusters c left join addresses a on a.cluster_id = c.id where c.id = any(${ids}::uuid[])`.execute(trx);
        const prev = new Map(before.rows.map((r) => [r.id, r.status]));
        for (const r of after.rows) {
          const cluster = toCluster(r);
          out.set(cluster.id, { cluster, previousStatus: prev.get(cluster.id)! });
        }
        return out;
      });
    } catch (err) {
      throw storeError(err);
    }
  }

  /** Every enrolled cluster (or those of `ids`) with its address, subnet and stored health, in one query. */
  async listTracked(ids?: string[]): Promise<TrackedClusterRow[]> {
    try {
      const r = await sql<{
        id: string;
        tenant_id: string;
        name: string;
        public_key: string;
        tunnel_ip: string;
        cidr: string;
        hub_ip: string;
        status: ClusterStatusName;
        status_since: Date;
        last_handshake: Date | null;
        enrolled_at: Date | null;
        created_at: Date;
        diagnostic: string;
        api_reachable: boolean;
        edge_version: string;
      }>`
        select c.id, c.tenant_id, c.name, c.public_key, host(a.ip) as tunnel_ip, s.cidr::text as cidr, host(s.hub_ip) as hub_ip,
          c.status, c.status_since, c.last_handshake, c.enrolled_at, c.created_at, c.diagnostic, c.api_reachable, c.edge_version
        from clusters c join addresses a on a.cluster_id = c.id join tenant_subnets s on s.tenant_id = c.tenant_id
        where c.public_key is not null ${ids ? sql`and c.id = any(${ids.filter(isUuid)}::uuid[])` : sql``} order by a.ip`.execute(this.db);
      return r.rows.map((x) => ({
        clusterId: x.id,
        tenantId: x.tenant_id,
        name: x.name,
        publicKey: x.public_key,
        tunnelIp: x.tunnel_ip,
        subnet: x.cidr,
        hubIp: x.hub_ip,
        status: x.status,
        statusSince: x.status_since,
        lastHandshake: x.last_handshake,
        enrolledAt: x.enrolled_at ?? x.created_at,
        diagnostic: x.diagnostic,
        apiReachable: x.api_reachable,
        edgeVersion: x.edge_version,
      }));
    } catch (err) {
      throw storeError(err);
    }
  }

  /** Open alerts (of `ids`, or all), by cluster. */
  async openAlerts(ids?: string[]): Promise<Map<string, AlertRecord>> {
    try {
      const only = ids ? sql`and cluster_id = any(${ids.filter(isUuid)}::uuid[])` : sql``;
      const r = await sql<AlertRow>`select * from cluster_alerts where resolved_at is null ${only}`.execute(this.db);
      return new Map(r.rows.map((x) => [x.cluster_id, toAlert(x)]));
    } catch (err) {
      throw storeError(err);
    }
  }

  /**
   * Opens a critical alert; returns it, or undefined when the cluster already
   * has an open one (the partial unique index decides, so a race raises once).
   */
  async raiseAlert(a: { tenantId: string; clusterId: string; summary: string; diagnostic: string; raisedAt: Date }): Promise<AlertRecord | undefined> {
    try {
      const r = await sql<AlertRow>`
        insert into cluster_alerts (tenant_id, cluster_id, severity, summary, diagnostic, raised_at)
        values (${a.tenantId}, ${a.clusterId}::uuid, 'critical', ${a.summary}, ${a.diagnostic}, ${a.raisedAt})
        on conflict (cluster_id) where resolved_at is null do nothing
        returning *`.execute(this.db);
      return r.rows[0] ? toAlert(r.rows[0]) : undefined;
    } catch (err) {
      throw storeError(err);
    }
  }

  /** Resolves the cluster's open alert; returns it, or undefined when none was open. */
  async resolveAlert(clusterId: string, resolvedAt: Date, resolution: string): Promise<AlertRecord | undefined> {
    try {
      const r = await sql<AlertRow>`
        update cluster_alerts set resolved_at = ${resolvedAt}, resolution = ${resolution}
        where cluster_id = ${clusterId}::uuid and resolved_at is null
        returning *`.execute(this.db);
      return r.rows[0] ? toAlert(r.rows[0]) : undefined;
    } catch (err) {
      throw storeError(err);
    }
  }

  /** A cluster's alerts, newest first. */
  async alertsOf(clusterId: string, limit = 20): Promise<AlertRecord[]> {
    try {
      const r = await sql<AlertRow>`select * from cluster_alerts where cluster_id = ${clusterId}::uuid order by raised_at desc limit ${limit}`.execute(this.db);
      return r.rows.map(toAlert);
    } catch (err) {
      throw storeError(err);
    }
  }
}
