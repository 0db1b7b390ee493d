/**
 * A restored hub node is ready for the next failover round (bench failover)
 * when its heartbeat is live in `hub_nodes` (so the other node's probes tell
 * the edges about it again) and its WireGuard device holds every edge's peer
 * (so an edge that moves to it can handshake at once). Polled, not slept.
 */
import assert from "node:assert/strict";
import pg from "pg";
import { eventually } from "@daalu/testing";
import type { FailoverWorld } from "../../e2e/failover-world.js";

/** Resolves when node `i` heartbeats (within the last second) and its device has every cluster's peer. */
export async function nodeBack(w: FailoverWorld, i: number, timeoutMs = 30_000): Promise<void> {
  const client = new pg.Client({ connectionString: w.env.databaseUrl });
  await client.connect();
  try {
    await eventually(
      async () => {
        const r = await client.query<{ n: number }>("select count(*)::int as n from peering.hub_nodes where id = $1 and heartbeat_at > now() - interval '1 second'", [w.nodeIds[i]]);
        assert.equal(r.rows[0]!.n, 1, `${w.nodeIds[i]} heartbeats`);
        assert.ok((await w.handshakes(i)).size >= w.clusters.length, `${w.nodeIds[i]}'s device holds every edge's peer`);
      },
      { timeoutMs, intervalMs: 100 },
    );
  } finally {
    await client.end();
  }
}
