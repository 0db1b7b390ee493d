/**
 * The diagnostic blob of one cluster: what an engineer needs to see why a
 * tunnel is not green, as a typed message (peeringv1.ClusterDiagnostics) that
 * renders to readable JSON with `diagnosticsToJson`.
 */
import { create, toJson, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { peeringv1 } from "@daalu/proto";
import { fingerprint, type PeerStatus } from "@daalu/wireguard";
import type { HealthState } from "../domain/health.js";
import type { ProbeReport } from "./prober.js";

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

/** The blob as JSON (proto3 JSON names, enums by name) for GET /v1/clusters/{id}/diagnostics. */
export function diagnosticsToJson(d: peeringv1.ClusterDiagnostics): unknown {
  return toJson(peeringv1.ClusterDiagnosticsSchema, d);
}
