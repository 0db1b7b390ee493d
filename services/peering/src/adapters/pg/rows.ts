/**
 * Row shapes and the small queries every peering store shares: a cluster with
 * its address, a tenant's subnet row. Records are what the stores return.
 */
import { sql } from "@daalu/runtime";
import type { Kysely, Transaction } from "kysely";
import { isUuid, type ClusterStatusName } from "../../domain/cluster.js";
import { clusterCapacity, formatCidr, parseCidr, parseIpv4 } from "../../domain/ipv4.js";
import type { ClustersTable, PeeringDb } from "./schema.js";

/** A cluster row with its address (null until an address is held). */
export interface ClusterRecord {
  id: string;
  tenantId: string;
  name: string;
  publicKey: string | null;
  tunnelIp: string | null;
  status: ClusterStatusName;
  statusSince: Date;
  lastHandshake: Date | null;
  edgeVersion: string;
  apiReachable: boolean;
  diagnostic: string;
  createdAt: Date;
  enrolledAt: Date | null;
  lastEnrollmentId: string | null;
  pendingEnrollmentId: string | null;
  pendingPublicKey: string | null;
  pendingNewAddress: boolean;
  pendingSince: Date | null;
  /** Critical alerts open now (0 where the query did not count them). */
  openAlerts: number;
  /** The hub node that carries the tunnel now (null until an edge handshook). */
  homeNode: string | null;
}

/** A tenant's subnet with its use. */
export interface SubnetRecord {
  tenantId: string;
  cidr: string;
  hubIp: string;
  capacity: number;
  allocated: number;
}

/** One WireGuard peer of the hub: an enrolled cluster. */
export interface PeerRecord {
  clusterId: string;
  tenantId: string;
  publicKey: string;
  tunnelIp: string;
  subnet: string;
  hubIp: string;
}

/** Health fields the hub's WireGuard node writes. */
export interface HealthPatch {
  status?: ClusterStatusName;
  statusSince?: Date;
  lastHandshake?: Date | null;
  edgeVersion?: string;
  apiReachable?: boolean;
  diagnostic?: string;
}

/** Result of a reservation: the cluster (address held) and its tenant's subnet. */
export interface Reservation {
  cluster: ReservedCluster;
  subnet: SubnetRef;
}

/** What a reservation reports of its cluster (what a tunnel configuration needs). */
export type ReservedCluster = Pick<ClusterRecord, "id" | "tenantId" | "name" | "tunnelIp">;

/** A tenant subnet without its use counts (what events and tunnel configs need). */
export type SubnetRef = Pick<SubnetRecord, "tenantId" | "cidr" | "hubIp">;

/** Result of a commit; `previousPublicKey` is null for a first enrollment, `replayed` for a repeated call. */
export interface CommitResult {
  cluster: ClusterRecord;
  subnet: SubnetRef;
  previousPublicKey: string | null;
  replayed: boolean;
}

/** A stale pending enrollment picked by the recovery sweep. */
export interface StalePending {
  clusterId: string;
  tenantId: string;
  enrollmentId: string;
  publicKey: string;
  pendingSince: Date;
}

export type Db = Kysely<PeeringDb> | Transaction<PeeringDb>;

export type ClusterRow = Omit<ClustersTable, "home_epoch" | "home_since"> & { tunnel_ip: string | null; open_alerts?: number };

export const CLUSTER_COLUMNS = sql`c.id, c.tenant_id, c.name, c.public_key, c.status, c.status_since, c.last_handshake, c.edge_version,
  c.api_reachable, c.diagnostic, c.created_at, c.enrolled_at, c.last_enrollment_id, c.pending_enrollment_id,
  c.pending_public_key, c.pending_new_address, c.pending_since, c.recovery_claimed_at, c.home_node, host(a.ip) as tunnel_ip,
  (select count(*)::int from cluster_alerts al where al.cluster_id = c.id and al.resolved_at is null) as open_alerts`;

export function toCluster(r: ClusterRow): ClusterRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    name: r.name,
    publicKey: r.public_key,
    tunnelIp: r.tunnel_ip,
    status: r.status,
    statusSince: r.status_since,
    lastHandshake: r.last_handshake,
    edgeVersion: r.edge_version,
    apiReachable: r.api_reachable,
    diagnostic: r.diagnostic,
    createdAt: r.created_at,
    enrolledAt: r.enrolled_at,
    lastEnrollmentId: r.last_enrollment_id,
    pendingEnrollmentId: r.pending_enrollment_id,
    pendingPublicKey: r.pending_public_key,
    pendingNewAddress: r.pending_new_address,
    pendingSince: r.pending_since,
    openAlerts: r.open_alerts ?? 0,
    homeNode: r.home_node ?? null,
  };
}

export interface SubnetRow {
  tenant_id: string;
  cidr: string;
  hub_ip: string;
  allocated?: number;
}

export function toSubnet(r: SubnetRow, allocated: number): SubnetRecord {
  const c = parseCidr(r.cidr);
  return { tenantId: r.tenant_id, cidr: formatCidr(c), hubIp: r.hub_ip, capacity: clusterCapacity(c, parseIpv4(r.hub_ip)!), allocated };
}

export async function subnetRow(db: Db, tenantId: string, lock = false): Promise<SubnetRow | undefined> {
  const q = lock
    ? sql<SubnetRow>`select tenant_id, cidr::text as cidr, host(hub_ip) as hub_ip from tenant_subnets where tenant_id = ${tenantId} for update`
    : sql<SubnetRow>`select tenant_id, cidr::text as cidr, host(hub_ip) as hub_ip from tenant_subnets where tenant_id = ${tenantId}`;
  return (await q.execute(db)).rows[0];
}

export async function allocatedCount(db: Db, tenantId: string): Promise<number> {
  const r = await sql<{ n: number }>`select count(*)::int as n from addresses where tenant_id = ${tenantId}`.execute(db);
  return r.rows[0]?.n ?? 0;
}

/** A cluster with its address (locked `for update` when `lock`), or undefined; never another tenant's when `tenantId` is given. */
export async function findCluster(db: Db, id: string, tenantId?: string, lock = false): Promise<ClusterRecord | undefined> {
  if (!isUuid(id)) return undefined;
  const tenantFilter = tenantId === undefined ? sql`` : sql`and c.tenant_id = ${tenantId}`;
  const lockClause = lock ? sql`for update of c` : sql``;
  const r = await sql<ClusterRow>`
    select ${CLUSTER_COLUMNS} from clusters c left join addresses a on a.cluster_id = c.id
    where c.id = ${id}::uuid ${tenantFilter} ${lockClause}`.execute(db);
  return r.rows[0] ? toCluster(r.rows[0]) : undefined;
}
