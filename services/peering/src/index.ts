/** @daalu/peering — public API: the typed client and the types callers need. */
export { hubNodeClient, peeringClient, peeringSender, type HubNodeClient, type PeeringClient, type PeeringSender } from "./client.js";
export { peeringv1 } from "@daalu/proto";
/** Cluster health evaluation (pure), for tooling that replays probe results (bench peers). */
export { DEFAULT_ALERT_AFTER_MS, DEFAULT_DISCONNECT_AFTER_MS, evaluateHealth, type HealthState } from "./domain/health.js";
/** The subject a draining hub node's tunnel-proxy answers once it let go of the node's clusters (tunnel-proxy's home routing). */
export { nodeReleaseSubject } from "./adapters/nats/node-release.js";
/** Rebalancing: the subject a node's tunnel-proxy answers ReleaseClustersRequest on (one cluster at a time let go). */
export { clusterReleaseSubject, requestClusterRelease, type ReleaseAnswer } from "./adapters/nats/cluster-release.js";
