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
}

export function clusterJson(c: peeringv1.Cluster | undefined): ClusterJson | null {
  if (!c) return null;
  return {
    id: c.id,
    name: c.name,
    tunnelIp: c.tunnelIp || null,
    status: enumName(peeringv1.ClusterStatus as unknown as Record<number, string>, c.status, "CLUSTER_STATUS_"),
    lastHandshake: iso(c.lastHandshake),
    edgeVersion: c.edgeVersion || null,
    apiReachable: c.apiReachable,
    diagnostic: c.diagnostic || null,
    createdAt: iso(c.createdAt),
    enrolledAt: iso(c.enrolledAt),
    statusSince: iso(c.statusSince),
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
