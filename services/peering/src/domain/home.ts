/**
 * Which hub node evaluates a cluster's health when several run
 * (docs/architecture.md "Several hub nodes"). Pure: the node passes what it
 * read of `hub_nodes` and `clusters.home_*`.
 */

/** A node as the heartbeat table shows it (only live ones are passed in). */
export interface LiveNode {
  id: string;
  draining: boolean;
}

/**
 * The node that evaluates a cluster homed on `homeNode`: its home while that
 * node's heartbeat is live; otherwise (no home yet, or its home is stale or
 * gone) the live node with the lowest id, preferring one that is not
 * draining, so a cluster whose edge is gone is still judged, by exactly one node.
 */
export function evaluatorOf(homeNode: string | null | undefined, live: readonly LiveNode[]): string | undefined {
  if (homeNode && live.some((n) => n.id === homeNode)) return homeNode;
  return orphanOwner(live);
}

/** The live node that evaluates clusters without a live home: lowest id, not draining if any such is live. */
export function orphanOwner(live: readonly LiveNode[]): string | undefined {
  const ids = (list: readonly LiveNode[]) => list.map((n) => n.id).sort();
  return ids(live.filter((n) => !n.draining))[0] ?? ids(live)[0];
}

/**
 * Whether `nodeId` should try to claim a cluster: its own device shows a
 * handshake newer than the one the current home won with, it is not the home
 * already, and it is not draining (a draining node hands its edges away).
 */
export function shouldClaim(a: { nodeId: string; draining: boolean; handshakeMs: number; homeNode: string | null | undefined; homeSinceMs: number }): boolean {
  return !a.draining && a.handshakeMs > 0 && a.homeNode !== a.nodeId && a.handshakeMs > a.homeSinceMs;
}

/**
 * The hub endpoints an edge is told about (with each probe): the configured
 * order first, then every live node's advertised endpoint not in it (a node
 * added without reconfiguring the others); a draining node's endpoint is left
 * out, so edges stop moving to it.
 */
export function edgeEndpoints(configured: readonly string[], live: ReadonlyArray<LiveNode & { endpoint: string }>): string[] {
  const draining = new Set(live.filter((n) => n.draining && n.endpoint).map((n) => n.endpoint));
  const extra = live.filter((n) => !n.draining && n.endpoint).map((n) => n.endpoint);
  return [...new Set([...configured, ...extra])].filter((e) => !draining.has(e));
}
