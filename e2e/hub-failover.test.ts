/**
 * Issue 14: several WireGuard hub nodes; losing one moves its clusters to
 * another within 30 s with no customer action (docs/architecture.md "Scaling out").
 *
 * The world (failover-world.ts): 2 hub nodes, each its own namespace on the
 * lan running peering (PEERING_WG=on, PEERING_NODE_ID) and a tunnel-proxy
 * (TUNNEL_PROXY_NODE_ID), one hub key, PEERING_HUB_ENDPOINTS = both nodes; 3
 * edges bootstrapped and run as the chart does, with the production edge
 * timers (silence 6 s → next endpoint). A steady GET load runs through the
 * gateway's /k8s to every cluster the whole time. Rebalancing is off except
 * on node 1 in the failover test: the node that carries everything after the
 * failover hands the restored node its share.
 *
 * The failover test needs the Cluster message's home_node (peering's side of
 * issue 14); without it, it says so and skips, and only the world's smoke
 * test runs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { eventually } from "@daalu/testing";
import { allConnected, auditRowsMissing, homeNodeMissing, rehomed, REHOME_LIMIT_MS, startFailoverWorld, startLoad, watchHomes } from "./failover-world.js";
import { e2eSkipReason } from "./netns.js";

const skip = e2eSkipReason();

test("hub nodes: two nodes up with one hub key, every node holds every peer, edges connected through node 0, calls answered", { skip, timeout: 300_000 }, async (t) => {
  const w = await startFailoverWorld({ hubs: 2, edges: 3 });
  t.after(() => w.stop());
  for (let i = 0; i < 2; i++) {
    const env = w.hub.envOf("peering", i);
    assert.equal(env["PEERING_NODE_ID"], w.nodeIds[i]);
    assert.equal(env["PEERING_HUB_ENDPOINTS"], "192.0.2.1:51820,192.0.2.2:51820");
    assert.equal(env["PEERING_HUB_PRIVATE_KEY_FILE"], w.hub.envOf("peering", 0)["PEERING_HUB_PRIVATE_KEY_FILE"], "one hub key");
    assert.equal(w.hub.envOf("tunnel-proxy", i)["TUNNEL_PROXY_NODE_ID"], w.nodeIds[i]);
    assert.match(w.hub.process("peering", i).output(), /hub WireGuard node started/, `node ${i}'s WireGuard node`);
  }
  await allConnected(w);
  // Every node holds every peer; only node 0 (first in every edge's list) has handshaken.
  await eventually(async () => {
    for (let i = 0; i < 2; i++) assert.equal((await w.handshakes(i)).size, 3, `node ${i} holds the 3 peers`);
  });
  assert.ok([...(await w.handshakes(0)).values()].every((ts) => ts > 0), "every edge handshook with node 0");
  assert.ok([...(await w.handshakes(1)).values()].every((ts) => ts === 0), "no edge handshook with node 1");
  if (!homeNodeMissing()) for (const c of w.clusters) assert.equal((await w.view(c.id)).homeNode, "node-0");
});

test("hub failover: node carrying the clusters SIGKILLed → each on node 1 within 30 s, calls resume, every answered call audited; node 0 restored → it takes its share back (gradually, no failed call); node 1 drained → back on node 0 with no failed call", { skip: skip ?? homeNodeMissing(), timeout: 400_000 }, async (t) => {
  // Node 1 rebalances (2 clusters a second at most); node 0 does not, so the world starts as before: all on node 0.
  const w = await startFailoverWorld({ hubs: 2, edges: 3, peeringEnvOf: (i) => ({ PEERING_REBALANCE_PER_SECOND: i === 1 ? "2" : "0" }) });
  t.after(() => w.stop());
  await allConnected(w);
  for (const c of w.clusters) await eventually(async () => assert.equal((await w.view(c.id)).homeNode, "node-0"));
  const homes = watchHomes(w);
  const load = startLoad(w);
  t.after(() => load.stop());
  t.after(() => homes.stop());
  await eventually(() => assert.ok(w.clusters.every((c) => load.ok(c.id) >= 5), "the load is flowing to every cluster"), { timeoutMs: 20_000 });

  // Kill: peering, tunnel-proxy and wireguard-go of node 0, all at once.
  const killedAt = Date.now();
  await w.killNode(0);
  const times = await Promise.all(w.clusters.map((c) => rehomed(w, c.id, "node-0", killedAt)));
  t.diagnostic(`node 0 SIGKILLed → re-homed in ${times.join(", ")} ms`);
  for (const ms of times) assert.ok(ms <= REHOME_LIMIT_MS, `re-homed within 30 s (${ms} ms)`);
  for (const c of w.clusters) assert.equal((await w.view(c.id)).homeNode, "node-1");
  // Calls resume: the load's callers get answers again.
  const resumedFrom = Date.now();
  await eventually(
    () =>
      assert.ok(
        w.clusters.every((c) => load.calls.some((x) => x.clusterId === c.id && x.at >= resumedFrom && x.status === 200)),
        `calls since the re-home: ${JSON.stringify(load.calls.filter((x) => x.at >= resumedFrom).map((x) => `${x.clusterId.slice(0, 4)}:${x.status}`))}`,
      ),
    { timeoutMs: 10_000 },
  );
  const failedInMove = load.failedSince(killedAt);
  t.diagnostic(`calls failed during the move: ${failedInMove.length} (${[...new Set(failedInMove.map((f) => f.status))].join(", ")})`);

  // Node 0 back: node 1 hands it its share (3 clusters on 2 nodes: 2 and 1) under the load, with no failed call.
  const restoringAt = Date.now();
  await w.restoreNode(0);
  const restoredAt = Date.now();
  const homesNow = () => Promise.all(w.clusters.map(async (c) => (await w.view(c.id, 2_000)).homeNode));
  const spread = (now: string[]) => ({ node0: now.filter((h) => h === "node-0").length, node1: now.filter((h) => h === "node-1").length });
  const balanced = await eventually(
    async () => {
      const now = await homesNow();
      assert.deepEqual(spread(now), { node0: 1, node1: 2 }, "one cluster on node 0, two on node 1");
      return now;
    },
    { timeoutMs: REHOME_LIMIT_MS, intervalMs: 200 },
  );
  const rebalancedAt = Date.now();
  const moved = w.clusters.filter((_, i) => balanced[i] === "node-0");
  await eventually(() => assert.ok(moved.every((c) => load.calls.some((x) => x.clusterId === c.id && x.at >= rebalancedAt && x.status === 200)), "the moved cluster answers on node 0"), { timeoutMs: 15_000 });
  // A balanced set stays put: a few more seconds of rebalancing rounds move nothing.
  await new Promise((r) => setTimeout(r, 3_000));
  assert.deepEqual(await homesNow(), balanced, "no further move once balanced");
  const failedInRebalance = load.failedSince(restoringAt);
  const inRebalance = load.calls.filter((x) => x.at >= restoredAt && x.at < rebalancedAt);
  const gaps = [...w.hub.process("peering", 1).output().matchAll(/"gapMs":(\d+)/g)].map((m) => Number(m[1]));
  const moves = [...w.hub.process("peering", 1).output().matchAll(/rebalance: cluster released and its edge sent/g)].length;
  t.diagnostic(
    `rebalance: node 0 ready after ${restoredAt - restoringAt} ms; 1 of 3 clusters on node 0 ${rebalancedAt - restoredAt} ms after it was ready (${moves} hand-over(s)); release → new home per cluster: ${gaps.join(", ")} ms; ${inRebalance.length} calls started meanwhile, longest ${Math.max(0, ...inRebalance.map((x) => x.ms))} ms; failed: ${failedInRebalance.length}`,
  );
  assert.deepEqual(failedInRebalance.map((f) => `${f.clusterId.slice(0, 8)}: ${f.status} ${f.reason ?? ""} +${f.at - restoringAt} ms, took ${f.ms} ms`), [], "no call failed during the rebalance");
  assert.equal(moves, 1, "exactly one hand-over: no back and forth");

  // Drain node 1 (SIGTERM): its clusters move to node 0 and calls resume there.
  const drainedAt = Date.now();
  await w.drainNode(1);
  for (const c of w.clusters) await eventually(async () => assert.equal((await w.view(c.id)).homeNode, "node-0"), { timeoutMs: REHOME_LIMIT_MS });
  t.diagnostic(`node 1 drained → every cluster on node 0 after ${Date.now() - drainedAt} ms`);
  const movedBack = Date.now();
  await eventually(() => assert.ok(w.clusters.every((c) => load.calls.some((x) => x.clusterId === c.id && x.at >= movedBack && x.status === 200)), "calls answered on node 0 after the drain"), { timeoutMs: 15_000 });
  await load.stop();
  await homes.stop();
  // No failed call: the draining node's tunnel-proxy let go of its clusters (its calls done) before the device
  // emptied, and the gateway held each GET that met a cluster between nodes until the new home answered it.
  const failedInDrain = load.failedSince(drainedAt);
  const movedAt = w.clusters.map((c) => homes.seen.get(c.id)!.at(-1)!.at - drainedAt);
  const inDrain = load.calls.filter((x) => x.at >= drainedAt && x.at < movedBack);
  t.diagnostic(`drain: homes seen on node 0 at +${movedAt.join(", +")} ms; ${inDrain.length} calls started during the move, ${inDrain.filter((x) => x.status === 200).length} answered, longest ${Math.max(...inDrain.map((x) => x.ms))} ms`);
  assert.deepEqual(
    failedInDrain.map((f) => `${f.clusterId.slice(0, 8)}: ${f.status} ${f.reason ?? ""} started +${f.at - drainedAt} ms, took ${f.ms} ms (home seen on node 0 at +${homes.seen.get(f.clusterId)!.at(-1)!.at - drainedAt} ms)`),
    [],
    "no call failed during the drain",
  );

  assert.equal(await auditRowsMissing(w, load), 0, "every answered call has its audit row");
  assert.ok(homes.polls > 10, "the home watch polled");
  assert.deepEqual(homes.violations, [], "no cluster carried by two nodes at once");
  for (const c of w.clusters)
    assert.deepEqual(
      homes.seen.get(c.id)!.map((s) => s.node),
      ["node-0", "node-1", "node-0"],
      `cluster ${c.id} moved once per event, never back and forth`,
    );
  t.diagnostic(`load: ${load.ok()} calls answered, ${load.calls.length - load.ok()} failed (all during the kill)`);
});
