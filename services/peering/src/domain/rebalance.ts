/**
 * Rebalancing between hub nodes (docs/architecture.md "Several hub nodes"):
 * which of this node's clusters to hand to which other node now. Pure; each
 * node plans only its own moves, from what it read of `hub_nodes` and the
 * clusters' homes.
 *
 * Live nodes that are not draining (and advertise an endpoint, so an edge can
 * be sent there) share the clusters homed on them. This node gives one
 * cluster to the node with the fewest homes while it carries at least two
 * more than that node (the target then has fewer than its share,
 * ceil(homed / nodes)), at most `perSecond` per call. So the nodes end within
 * one cluster of each other, a balanced set never moves, and each move makes
 * the spread strictly smaller (no back and forth). Moves already under way
 * count at their target.
 */

export interface RebalanceNode {
  id: string;
  draining: boolean;
  /** Where edges reach the node ("" = not advertised: never a target). */
  endpoint: string;
}

export interface RebalanceInput {
  self: string;
  /** Live nodes (their heartbeat is fresh), this one included. */
  live: readonly RebalanceNode[];
  /** Every cluster's home node (null: none yet). */
  homes: ReadonlyArray<{ clusterId: string; homeNode: string | null }>;
  /** Clusters homed here that may move now (their edge is connected here, no refusal or failure being waited out). */
  movable: ReadonlySet<string>;
  /** Moves under way: cluster → the node it is being handed to. */
  pending: ReadonlyMap<string, string>;
  /** At most this many moves (0: rebalancing off). */
  perSecond: number;
}

export interface PlannedMove {
  clusterId: string;
  to: string;
}

/** The moves this node starts now (at most `perSecond`); empty when balanced, alone, draining or off. */
export function planMoves(i: RebalanceInput): PlannedMove[] {
  if (i.perSecond <= 0) return [];
  const sharing = i.live.filter((n) => !n.draining);
  if (!sharing.some((n) => n.id === i.self)) return [];
  const targets = sharing.filter((n) => n.id !== i.self && n.endpoint !== "").map((n) => n.id).sort();
  if (targets.length === 0) return [];
  const counts = new Map<string, number>(sharing.map((n) => [n.id, 0]));
  for (const h of i.homes) {
    const at = i.pending.get(h.clusterId) ?? h.homeNode;
    if (at !== null && counts.has(at)) counts.set(at, counts.get(at)! + 1);
  }
  const candidates = i.homes
    .filter((h) => h.homeNode === i.self && i.movable.has(h.clusterId) && !i.pending.has(h.clusterId))
    .map((h) => h.clusterId)
    .sort();
  const moves: PlannedMove[] = [];
  while (moves.length < i.perSecond && candidates.length > 0) {
    const to = targets.reduce((best, id) => (counts.get(id)! < counts.get(best)! ? id : best));
    if (counts.get(i.self)! - counts.get(to)! < 2) break;
    moves.push({ clusterId: candidates.shift()!, to });
    counts.set(i.self, counts.get(i.self)! - 1);
    counts.set(to, counts.get(to)! + 1);
  }
  return moves;
}

/** ceil(clusters homed on sharing nodes / sharing nodes): the most any node carries once balanced. */
export function shareOf(live: readonly RebalanceNode[], homes: ReadonlyArray<{ homeNode: string | null }>): number {
  const sharing = new Set(live.filter((n) => !n.draining).map((n) => n.id));
  if (sharing.size === 0) return 0;
  return Math.ceil(homes.filter((h) => h.homeNode !== null && sharing.has(h.homeNode)).length / sharing.size);
}
