import { toJson, type JsonValue } from "@bufbuild/protobuf";
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { invitev1, peeringv1 } from "@daalu/proto";

/** Maps contract messages to the REST API's camelCase JSON. */

function iso(t: Timestamp | undefined): string | null {
  return t ? timestampDate(t).toISOString() : null;
}

function enumName(e: Record<number, string>, v: number, prefix: string): string {
  const n = e[v] ?? "UNSPECIFIED";
  return (n.startsWith(prefix) ? n.slice(prefix.length) : n).toLowerCase();
}

export interface ClusterJson {
  id: string;
  name: string;
  tunnelIp: string | null;
  status: string;
  lastHandshake: string | null;
  edgeVersion: string | null;
  apiReachable: boolean;
  diagnostic: string | null;
  createdAt: string | null;
  enrolledAt: string | null;
  statusSince: string | null;
  /** The edge release this hub offers (the edge chart's version it serves). */
  latestEdgeVersion: string | null;
  /** The oldest edge version this hub supports. */
  minEdgeVersion: string | null;
  /** True when the edge reports a SemVer version older than latestEdgeVersion. */
  updateAvailable: boolean;
  /** "current" | "update_available" | "unsupported"; null before the edge reports a SemVer version. */
  edgeSupport: string | null;
  /** `helm upgrade daalu-edge … --version <latestEdgeVersion> -n daalu-edge --reuse-values`. */
  upgradeCommand: string | null;
  /** Critical alerts open now. */
  openAlerts: number;
  /** The hub node that carries the tunnel now (several hub nodes); null until an edge handshook. */
  homeNode: string | null;
}

/**
 * A cluster row as the REST API shows it (GET /v1/clusters/:id, the list, and
 * the live stream's cluster events). The peering service judges the edge's
 * version (PEERING_EDGE_CURRENT_VERSION, PEERING_EDGE_MIN_VERSION).
 */
export function clusterJson(c: peeringv1.Cluster | undefined): ClusterJson | null {
  if (!c) return null;
  return {
    id: c.id,
    name: c.name,
    tunnelIp: c.tunnelIp || null,
    status: clusterStatusName(c.status),
    lastHandshake: iso(c.lastHandshake),
    edgeVersion: c.edgeVersion || null,
    apiReachable: c.apiReachable,
    diagnostic: c.diagnostic || null,
    createdAt: iso(c.createdAt),
    enrolledAt: iso(c.enrolledAt),
    statusSince: iso(c.statusSince),
    latestEdgeVersion: c.latestEdgeVersion || null,
    minEdgeVersion: c.minEdgeVersion || null,
    updateAvailable: c.updateAvailable,
    edgeSupport: c.edgeSupport === peeringv1.EdgeSupport.UNSPECIFIED ? null : enumName(peeringv1.EdgeSupport as unknown as Record<number, string>, c.edgeSupport, "EDGE_SUPPORT_"),
    upgradeCommand: c.upgradeCommand || null,
    openAlerts: c.openAlerts,
    homeNode: c.homeNode || null,
  };
}

/** The tag of an enum value: `CLUSTER_STATUS_CONNECTED` → "connected". */
export function clusterStatusName(s: peeringv1.ClusterStatus): string {
  return enumName(peeringv1.ClusterStatus as unknown as Record<number, string>, s, "CLUSTER_STATUS_");
}

export function clusterEventKindName(k: peeringv1.ClusterEventKind): string {
  return enumName(peeringv1.ClusterEventKind as unknown as Record<number, string>, k, "CLUSTER_EVENT_KIND_");
}

/** An alert of a cluster (GET /v1/clusters/:id/alerts, the live stream's alert events). */
export function alertJson(a: peeringv1.Alert) {
  return {
    id: a.id,
    clusterId: a.clusterId,
    clusterName: a.clusterName,
    severity: enumName(peeringv1.AlertSeverity as unknown as Record<number, string>, a.severity, "ALERT_SEVERITY_"),
    summary: a.summary,
    diagnostic: a.diagnostic || null,
    raisedAt: iso(a.raisedAt),
    resolvedAt: iso(a.resolvedAt),
  };
}

export function inviteJson(i: invitev1.Invite | undefined) {
  if (!i) return null;
  return {
    id: i.id,
    clusterId: i.clusterId,
    clusterName: i.clusterName,
    state: enumName(invitev1.InviteState as unknown as Record<number, string>, i.state, "INVITE_STATE_"),
    createdAt: iso(i.createdAt),
    expiresAt: iso(i.expiresAt),
    redeemedAt: iso(i.redeemedAt),
    revokedAt: iso(i.revokedAt),
    createdBy: i.createdBy,
  };
}

export function subnetJson(s: peeringv1.TenantSubnet | undefined) {
  if (!s) return null;
  return { cidr: s.cidr, hubIp: s.hubIp, capacity: s.capacity, allocated: s.allocated };
}

/**
 * POST /v1/bootstrap's answer: the contract's RedeemInviteResponse in the
 * protobuf JSON mapping (lowerCamelCase names), every field present even when
 * empty or 0, as the edge's bootstrap client (fromJson, edge/src/domain/tunnel-config.ts) reads it.
 */
export function bootstrapJson(r: invitev1.RedeemInviteResponse): JsonValue {
  return toJson(invitev1.RedeemInviteResponseSchema, r, { alwaysEmitImplicit: true });
}
