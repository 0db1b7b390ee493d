/**
 * The diagnostic blob of one cluster: what an engineer needs to see why a
 * tunnel is not green, as a typed message (peeringv1.ClusterDiagnostics).
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { peeringv1 } from "@daalu/proto";
import { fingerprint, type PeerStatus } from "@daalu/wireguard";
import type { ClusterRecord } from "../adapters/pg/store.js";
import { judgeEdgeVersion, withVersionDiagnostic, type EdgeReleases } from "../domain/edge-release.js";
import type { HealthState } from "../domain/health.js";
import { ClusterNotFoundError } from "../errors.js";
import type { HubNodeConfig } from "./config.js";
import type { ProbeReport } from "./prober.js";
import type { Tracked } from "./tracked.js";

const STATUS: Record<HealthState, peeringv1.ClusterStatus> = {
  pending_enrollment: peeringv1.ClusterStatus.PENDING_ENROLLMENT,
  awaiting_handshake: peeringv1.ClusterStatus.AWAITING_HANDSHAKE,
  connected: peeringv1.ClusterStatus.CONNECTED,
  disconnected: peeringv1.ClusterStatus.DISCONNECTED,
  error: peeringv1.ClusterStatus.ERROR,
};

export interface DiagnosticsInput {
  now: number;
  clusterId: string;
  tenantId: string;
  name: string;
  state: HealthState;
  since: number;
  diagnostic: string;
  publicKey: string | undefined;
  tunnelIp: string | undefined;
  /** As the device reports it; undefined when the node holds no such peer. */
  peer: PeerStatus | undefined;
  lastHandshakeMs: number;
  probe: ProbeReport | undefined;
  errors: Array<{ at: number; message: string }>;
  alert: { id: string; summary: string; diagnostic: string; raisedAt: number } | undefined;
  nodeName: string;
  iface: string;
  disconnectAfterMs: number;
  alertAfterMs: number;
}

export function buildDiagnostics(d: DiagnosticsInput): peeringv1.ClusterDiagnostics {
  const init: MessageInitShape<typeof peeringv1.ClusterDiagnosticsSchema> = {
    clusterId: d.clusterId,
    tenantId: d.tenantId,
    clusterName: d.name,
    status: STATUS[d.state],
    statusSince: timestampFromMs(d.since),
    diagnostic: d.diagnostic,
    publicKey: d.publicKey ?? "",
    peerFingerprint: d.publicKey ? fingerprint(d.publicKey) : "",
    tunnelIp: d.tunnelIp ?? "",
    allowedIps: d.peer?.allowedIps ?? [],
    endpoint: d.peer?.endpoint ?? "",
    handshakeAgeSeconds: BigInt(d.lastHandshakeMs > 0 ? Math.floor((d.now - d.lastHandshakeMs) / 1000) : -1),
    rxBytes: BigInt(d.peer?.rxBytes ?? 0),
    txBytes: BigInt(d.peer?.txBytes ?? 0),
    lastErrors: d.errors.map((e) => ({ at: timestampFromMs(e.at), message: e.message })),
    hubNode: d.nodeName,
    interface: d.iface,
    generatedAt: timestampFromMs(d.now),
    disconnectAfterSeconds: Math.round(d.disconnectAfterMs / 1000),
    alertAfterSeconds: Math.round(d.alertAfterMs / 1000),
  };
  if (d.lastHandshakeMs > 0) init.lastHandshake = timestampFromMs(d.lastHandshakeMs);
  if (d.probe) {
    init.lastProbe = {
      ok: d.probe.ok,
      error: d.probe.error,
      at: timestampFromMs(d.probe.at),
      edgeVersion: d.probe.edgeVersion,
      kubernetesVersion: d.probe.kubernetesVersion,
      nodeCount: d.probe.nodeCount,
      nodesReady: d.probe.nodesReady,
      latencyMs: d.probe.latencyMs,
    };
  }
  if (d.alert) {
    init.openAlert = {
      id: d.alert.id,
      tenantId: d.tenantId,
      clusterId: d.clusterId,
      clusterName: d.name,
      severity: peeringv1.AlertSeverity.CRITICAL,
      summary: d.alert.summary,
      diagnostic: d.alert.diagnostic,
      raisedAt: timestampFromMs(d.alert.raisedAt),
    };
  }
  return create(peeringv1.ClusterDiagnosticsSchema, init);
}

/** Where a cluster's diagnostics come from: the node's tracked state, else the row. */
export interface DiagnosticsSource {
  now: number;
  clusterId: string;
  tenantId: string;
  /** The cluster as this node tracks it (enrolled, a peer here). */
  tracked: Tracked | undefined;
  /** Why the tenant's subnet is not routed into the tunnel (a host route it would shadow). */
  routeConflict: { at: number; message: string } | undefined;
  /** The row of a cluster of `tenantId` (throws NotFound for another tenant's). */
  getCluster(clusterId: string, tenantId: string): Promise<ClusterRecord>;
  config: HubNodeConfig;
  /** An unsupported edge's diagnostic says so here too, as on the row. */
  releases: EdgeReleases;
}

/** The diagnostic blob of a cluster of `tenantId` (NotFound for another tenant's). */
export async function clusterDiagnostics(d: DiagnosticsSource): Promise<peeringv1.ClusterDiagnostics> {
  const { config, now, clusterId, tenantId } = d;
  const tenantErrors = d.routeConflict ? [d.routeConflict] : [];
  const node = { nodeName: config.nodeName, iface: config.interface, disconnectAfterMs: config.disconnectAfterMs, alertAfterMs: config.alertAfterMs };
  const t = d.tracked;
  if (t && t.tenantId === tenantId) {
    return buildDiagnostics({
      now,
      clusterId,
      tenantId,
      name: t.name,
      state: t.state,
      since: t.since,
      diagnostic: withVersionDiagnostic(t.diagnostic, judgeEdgeVersion(t.edgeVersion, d.releases)),
      publicKey: t.publicKey,
      tunnelIp: t.tunnelIp,
      peer: t.peer,
      lastHandshakeMs: t.lastHandshakeMs,
      probe: t.probe,
      errors: [...tenantErrors, ...t.errors],
      alert: t.alert ? { id: t.alert.id, summary: t.alert.summary, diagnostic: t.alert.diagnostic, raisedAt: t.alert.raisedAt.getTime() } : undefined,
      ...node,
    });
  }
  // Not a peer of this node (pending enrollment): what the row says. Throws NotFound across tenants.
  const c = await d.getCluster(clusterId, tenantId);
  if (!c) throw new ClusterNotFoundError(clusterId);
  return buildDiagnostics({
    now,
    clusterId,
    tenantId,
    name: c.name,
    state: c.status,
    since: c.statusSince.getTime(),
    diagnostic: withVersionDiagnostic(c.diagnostic, judgeEdgeVersion(c.edgeVersion, d.releases)),
    publicKey: c.publicKey ?? undefined,
    tunnelIp: c.tunnelIp ?? undefined,
    peer: undefined,
    lastHandshakeMs: c.lastHandshake?.getTime() ?? 0,
    probe: undefined,
    errors: tenantErrors,
    alert: undefined,
    ...node,
  });
}
