/** EdgeLifecycleService.Goodbye: the edge tells the hub, through the tunnel, that it is leaving. */
import { CallerKind, edgev1 } from "@daalu/proto";
import { grpcClient } from "@daalu/runtime";

/**
 * One Goodbye call to the hub node at `hubTunnelIp:port` (routed into the
 * tunnel, so the hub sees this edge's tunnel address as the source, which is
 * how it knows the cluster). Resolves to the cluster id the hub matched;
 * rejects when the hub does not answer within `timeoutMs`.
 */
export async function sayGoodbye(hubTunnelIp: string, port: number, timeoutMs: number, edgeVersion: string): Promise<string> {
  const client = grpcClient(`${hubTunnelIp}:${port}`, edgev1.EdgeLifecycleService, { defaults: { caller: { kind: CallerKind.EDGE, id: "edge" }, timeoutMs } });
  try {
    const res = await client.goodbye({ reason: edgev1.GoodbyeReason.SHUTDOWN, edgeVersion });
    return res.clusterId;
  } finally {
    client.close();
  }
}
