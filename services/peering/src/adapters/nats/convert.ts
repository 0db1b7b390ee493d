/** Store records -> generated protobuf shapes. */
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { peeringv1 } from "@daalu/proto";
import type { ClusterStatusName } from "../../domain/cluster.js";
import { judgeEdgeVersion, withVersionDiagnostic, type EdgeReleases, type EdgeSupportName } from "../../domain/edge-release.js";
import type { AlertRecord } from "../pg/health-store.js";
import type { ClusterRecord, SubnetRecord } from "../pg/store.js";
import type { RbacRecord } from "../pg/rbac-store.js";
import type { Rule } from "@daalu/rbac";

const STATUS: Record<ClusterStatusName, peeringv1.ClusterStatus> = {
  pending_enrollment: peeringv1.ClusterStatus.PENDING_ENROLLMENT,
  awaiting_handshake: peeringv1.ClusterStatus.AWAITING_HANDSHAKE,
  connected: peeringv1.ClusterStatus.CONNECTED,
  disconnected: peeringv1.ClusterStatus.DISCONNECTED,
  error: peeringv1.ClusterStatus.ERROR,
};

export function statusToProto(s: ClusterStatusName): peeringv1.ClusterStatus {
  return STATUS[s];
}

const SUPPORT: Record<EdgeSupportName, peeringv1.EdgeSupport> = {
  current: peeringv1.EdgeSupport.CURRENT,
  update_available: peeringv1.EdgeSupport.UPDATE_AVAILABLE,
  unsupported: peeringv1.EdgeSupport.UNSUPPORTED,
};

/**
 * The wire form of a cluster. The address shows once a key is enrolled (a
 * pending first enrollment has none yet). The edge's version is judged against
 * `releases` as the row is read, so a new PEERING_EDGE_* setting applies to
 * every row at once; an unsupported edge's diagnostic follows the health one.
 */
export function clusterToProto(c: ClusterRecord, releases: EdgeReleases): MessageInitShape<typeof peeringv1.ClusterSchema> {
  const v = judgeEdgeVersion(c.edgeVersion, releases);
  return {
    id: c.id,
    tenantId: c.tenantId,
    name: c.name,
    tunnelIp: c.publicKey !== null && c.tunnelIp !== null ? c.tunnelIp : "",
    status: statusToProto(c.status),
    ...(c.lastHandshake ? { lastHandshake: timestampFromDate(c.lastHandshake) } : {}),
    edgeVersion: c.edgeVersion,
    apiReachable: c.apiReachable,
    diagnostic: withVersionDiagnostic(c.diagnostic, v),
    publicKey: c.publicKey ?? "",
    createdAt: timestampFromDate(c.createdAt),
    ...(c.enrolledAt ? { enrolledAt: timestampFromDate(c.enrolledAt) } : {}),
    statusSince: timestampFromDate(c.statusSince),
    openAlerts: c.openAlerts,
    edgeSupport: v.support ? SUPPORT[v.support] : peeringv1.EdgeSupport.UNSPECIFIED,
    updateAvailable: v.updateAvailable,
    latestEdgeVersion: releases.current,
    minEdgeVersion: releases.minimum,
    upgradeCommand: releases.upgradeCommand,
    homeNode: c.homeNode ?? "",
  };
}

export function subnetToProto(s: SubnetRecord): MessageInitShape<typeof peeringv1.TenantSubnetSchema> {
  return { cidr: s.cidr, hubIp: s.hubIp, capacity: s.capacity, allocated: s.allocated };
}

/** The wire form of an alert; `diagnostic` replaces the stored one (a resolution's current diagnostic). */
export function alertToProto(a: AlertRecord, clusterName: string, diagnostic = a.diagnostic): MessageInitShape<typeof peeringv1.AlertSchema> {
  return {
    id: a.id,
    tenantId: a.tenantId,
    clusterId: a.clusterId,
    clusterName,
    severity: peeringv1.AlertSeverity.CRITICAL,
    summary: a.summary,
    diagnostic,
    raisedAt: timestampFromDate(a.raisedAt),
    ...(a.resolvedAt ? { resolvedAt: timestampFromDate(a.resolvedAt) } : {}),
  };
}

type WireRule = { verbs: string[]; apiGroups: string[]; resources: string[]; resourceNames: string[] };

/** A rule off the wire (an empty resource_names means every object). */
export function ruleFromProto(r: WireRule): Rule {
  return { apiGroups: [...r.apiGroups], resources: [...r.resources], verbs: [...r.verbs], ...(r.resourceNames.length > 0 ? { resourceNames: [...r.resourceNames] } : {}) };
}

const ruleToProto = (r: Rule): WireRule => ({ verbs: r.verbs, apiGroups: r.apiGroups, resources: r.resources, resourceNames: r.resourceNames ?? [] });

export function rbacToProto(r: RbacRecord): MessageInitShape<typeof peeringv1.ClusterRbacSchema> {
  return {
    clusterId: r.clusterId,
    requestedScopes: r.requestedScopes,
    requestedCustomRules: r.requestedCustomRules.map(ruleToProto),
    ...(r.requestedAt ? { requestedAt: timestampFromDate(r.requestedAt) } : {}),
    requestedBy: r.requestedBy,
    ...(r.effectiveAt ? { effectiveAt: timestampFromDate(r.effectiveAt) } : {}),
    effectiveRules: (r.effectiveRules ?? []).map(ruleToProto),
    effectiveIncomplete: r.effectiveIncomplete,
    effectiveError: r.effectiveError,
    ...(r.confirmedAt ? { confirmedAt: timestampFromDate(r.confirmedAt) } : {}),
  };
}
