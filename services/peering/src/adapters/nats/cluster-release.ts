/**
 * Rebalancing (docs/architecture.md "Several hub nodes"): before a hub node
 * hands one cluster's edge to another node, it asks its own node's
 * tunnel-proxy to let go of just that cluster (not the node-wide Release of a
 * drain, which an older tunnel-proxy would read as "let go of everything").
 * The tunnel-proxy refuses a cluster with an open session, holds a released
 * one unserved at most `holdMs` and serves it again unless a newer home came;
 * `resume` gives a cluster back at once when the move is given up.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { peeringv1 } from "@daalu/proto";
import { tunnelSubject, type NatsConnection } from "@daalu/runtime";

/** The subject node `nodeId`'s tunnel-proxies answer ReleaseClustersRequest on. */
export function clusterReleaseSubject(prefix: string, nodeId: string): string {
  return tunnelSubject(prefix, "_", nodeId, "ReleaseClusters");
}

export interface ClusterRef {
  tenantId: string;
  clusterId: string;
}

export interface ReleaseAnswer {
  released: ClusterRef[];
  refused: Array<ClusterRef & { reason: string }>;
}

/**
 * Sends the request to node `nodeId`'s tunnel-proxy and decodes its answer.
 * Throws when nobody answers in time (no tunnel-proxy, or an older one): the caller gives up the move.
 */
export async function requestClusterRelease(nc: NatsConnection, prefix: string, nodeId: string, req: { clusters: ClusterRef[]; holdMs?: number; resume?: boolean }, timeoutMs: number): Promise<ReleaseAnswer> {
  const msg = create(peeringv1.ReleaseClustersRequestSchema, { clusters: req.clusters, holdMs: req.holdMs ?? 0, resume: req.resume ?? false });
  const reply = await nc.request(clusterReleaseSubject(prefix, nodeId), toBinary(peeringv1.ReleaseClustersRequestSchema, msg), { timeout: timeoutMs });
  const r = fromBinary(peeringv1.ReleaseClustersResponseSchema, reply.data);
  return {
    released: r.released.map((c) => ({ tenantId: c.tenantId, clusterId: c.clusterId })),
    refused: r.refused.map((x) => ({ tenantId: x.cluster?.tenantId ?? "", clusterId: x.cluster?.clusterId ?? "", reason: x.reason })),
  };
}
