/**
 * Whether the hub already knows a cluster's tunnel is not up, from its
 * peering row, and what to tell the person calling. Pure: no I/O. A cluster
 * whose edge never completed a WireGuard handshake, or whose last one is
 * older than peering's threshold, would only time out; saying so at once,
 * with the state and the last handshake, is what the caller can act on.
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { peeringv1 } from "@daalu/proto";

export type TunnelRefusal = { kind: "not-enrolled" | "not-connected"; message: string };

const HINT = "check that its edge agent runs and can reach the hub's WireGuard endpoint (UDP)";

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7_200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3_600)} h`;
  return `${Math.round(s / 86_400)} days`;
}

/** Why a call through this cluster's tunnel cannot work now, or undefined when it may. */
export function tunnelRefusal(c: peeringv1.Cluster, now: number): TunnelRefusal | undefined {
  const name = `cluster "${c.name || c.id}"`;
  if (!c.tunnelIp || c.status === peeringv1.ClusterStatus.PENDING_ENROLLMENT) {
    return { kind: "not-enrolled", message: `${name} has no tunnel yet: no edge has enrolled it (install the edge with the cluster's invite)` };
  }
  const last = c.lastHandshake ? timestampDate(c.lastHandshake) : undefined;
  if (c.status === peeringv1.ClusterStatus.AWAITING_HANDSHAKE) {
    const since = c.enrolledAt ? ` since enrollment at ${timestampDate(c.enrolledAt).toISOString()}` : "";
    return { kind: "not-connected", message: `${name} is awaiting its first WireGuard handshake (no handshake yet${since}); ${HINT}` };
  }
  if (c.status === peeringv1.ClusterStatus.DISCONNECTED) {
    const when = last ? `last handshake at ${last.toISOString()}, ${ago(now - last.getTime())} ago` : "no handshake yet";
    return { kind: "not-connected", message: `${name} is disconnected (${when}); ${HINT}` };
  }
  return undefined;
}
