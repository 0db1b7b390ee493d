/**
 * Several hub nodes against real PostgreSQL and NATS: the claim of a cluster's
 * home (one winner however many nodes race, a late handshake never undoes a
 * newer one), the HOME_CHANGED event, which node evaluates a cluster as
 * heartbeats go stale, and ListHomedClusters. The WireGuard side of the same
 * story (two devices, an edge that moves) is in homes-wg.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fromBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { peeringv1 } from "@daalu/proto";
import { eventSubject, sql } from "@daalu/runtime";
import { eventually } from "@daalu/testing";
import { ClusterEvents } from "../src/adapters/nats/events.js";
import { drainNode } from "../src/wg-node/drain.js";
import { Homes } from "../src/wg-node/homes.js";
import { logger, newKey, serviceClient, withCluster } from "./harness.js";

const releases = { current: "0.1.0", minimum: "0.1.0", upgradeCommand: "helm upgrade daalu-edge …" };

async function enrolledCluster(t: { after(fn: () => Promise<unknown>): void }) {
  const { env, svc, acme, id } = await withCluster(t);
  const client = serviceClient(env);
  await client.reserveEnrollment({ clusterId: id, publicKey: newKey(), enrollmentId: "enr-1" }, { tenantId: "acme" });
  await client.commitEnrollment({ clusterId: id, enrollmentId: "enr-1" }, { tenantId: "acme" });
  return { env, svc, acme, id };
}

test("a claim wins only with a newer handshake, bumps the epoch once, and one of many racing nodes wins", { timeout: 60_000 }, async (t) => {
  const { svc, id } = await enrolledCluster(t);
  const homes = svc.store.homes;
  const t1 = new Date(Date.now() - 60_000);
  const a = await homes.claim(id, "hub-a", t1);
  assert.deepEqual([a?.homeNode, a?.homeEpoch, a?.previousHomeNode], ["hub-a", 1, null]);
  assert.equal(await homes.claim(id, "hub-b", new Date(t1.getTime() - 1_000)), undefined, "an older handshake (the edge left hub-b) never wins");
  assert.equal(await homes.claim(id, "hub-b", t1), undefined, "nor an equal one");
  assert.equal(await homes.claim(id, "hub-a", new Date(t1.getTime() + 5_000)), undefined, "the home does not claim itself again (its rekeys)");
  const b = await homes.claim(id, "hub-b", new Date(t1.getTime() + 1_000));
  assert.deepEqual([b?.homeNode, b?.homeEpoch, b?.previousHomeNode], ["hub-b", 2, "hub-a"]);

  // Sixteen nodes see the same newer handshake at once: exactly one wins, the epoch grows by one.
  const t3 = new Date(t1.getTime() + 2_000);
  const results = await Promise.all(Array.from({ length: 16 }, (_, i) => homes.claim(id, `hub-${String(i).padStart(2, "0")}`, t3)));
  const won = results.filter((r) => r !== undefined);
  assert.equal(won.length, 1, "one winner");
  assert.equal(won[0]!.homeEpoch, 3);
  assert.equal(won[0]!.previousHomeNode, "hub-b");
  const row = await homes.home(id);
  assert.equal(row?.homeNode, won[0]!.homeNode);
  assert.equal(row?.homeEpoch, 3);
  assert.equal(row?.homeSince?.getTime(), t3.getTime());
});

test("Homes: the winner publishes HOME_CHANGED; the row, GetCluster and ListHomedClusters show the home", { timeout: 60_000 }, async (t) => {
  const { env, svc, acme, id } = await enrolledCluster(t);
  const seen: peeringv1.ClusterEvent[] = [];
  const sub = env.nc.subscribe(eventSubject(env.prefix, "acme", "cluster.home_changed"), { callback: (_e, m) => void seen.push(fromBinary(peeringv1.ClusterEventSchema, m.data)) });
  t.after(() => sub.unsubscribe());
  await env.nc.flush();
  const events = new ClusterEvents(svc.nc, env.prefix, logger, releases);
  const node = (nodeId: string) => new Homes({ store: svc.store.homes, events, getCluster: (c) => svc.store.getCluster(c), nodeId, endpoint: `${nodeId}.example:51820`, staleAfterMs: 5_000, log: logger });
  const a = node("hub-a");
  const b = node("hub-b");
  // Each heartbeat reads the live nodes: a second round sees both.
  for (const n of [a, b, a]) await n.heartbeat();
  await Promise.all([a.refresh(), b.refresh()]);
  assert.equal(a.evaluates(id), true, "no home yet: the lowest live id evaluates");
  assert.equal(b.evaluates(id), false);

  const hs = Date.now() - 1_000;
  assert.equal(await b.maybeClaim(id, hs), true);
  assert.equal(await a.maybeClaim(id, hs - 500), false, "hub-a's older handshake loses");
  assert.equal(a.homeOf(id), "hub-b", "the loser learns the home from the row");
  await eventually(() => assert.equal(seen.length, 1));
  const ev = seen[0]!;
  assert.equal(ev.kind, peeringv1.ClusterEventKind.HOME_CHANGED);
  assert.deepEqual([ev.clusterId, ev.homeNode, ev.homeEpoch, ev.previousHomeNode, ev.cluster?.homeNode], [id, "hub-b", 1n, "", "hub-b"]);
  assert.equal(ev.homeSince && timestampDate(ev.homeSince).getTime(), hs, "the winning handshake travels with the event");
  assert.equal(b.evaluates(id), true);
  assert.equal(a.evaluates(id), false, "only the home evaluates");
  assert.equal((await acme.getCluster({ clusterId: id })).cluster!.homeNode, "hub-b");

  const svcClient = serviceClient(env);
  const listed = await svcClient.listHomedClusters({ nodeId: "hub-b" });
  assert.deepEqual(
    listed.clusters.map((c) => [c.tenantId, c.clusterId, c.homeEpoch]),
    [["acme", id, 1n]],
  );
  assert.deepEqual((await svcClient.listHomedClusters({ nodeId: "hub-a" })).clusters, []);
  await assert.rejects(acme.listHomedClusters({ nodeId: "hub-b" }), (e: Error & { reason?: string }) => e.reason === "INTERNAL_CALL_ONLY");

  // An event with an older epoch (a late delivery) never undoes what a node knows.
  a.onHomeChanged({ ...ev, homeNode: "hub-a", homeEpoch: 0n });
  assert.equal(a.homeOf(id), "hub-b");
});

test("a home whose heartbeat is stale hands evaluation to the lowest live node, a draining one last", { timeout: 60_000 }, async (t) => {
  const { env, svc, id } = await enrolledCluster(t);
  const events = new ClusterEvents(svc.nc, env.prefix, logger, releases);
  const node = (nodeId: string) => new Homes({ store: svc.store.homes, events, getCluster: (c) => svc.store.getCluster(c), nodeId, endpoint: "", staleAfterMs: 2_000, log: logger });
  const [a, b, c] = [node("hub-a"), node("hub-b"), node("hub-c")];
  for (const n of [a, b, c, a, b]) await n.heartbeat();
  assert.equal(await c.maybeClaim(id, Date.now()), true);
  await Promise.all([a.refresh(), b.refresh()]);
  assert.deepEqual([a.evaluates(id), b.evaluates(id), c.evaluates(id)], [false, false, true]);

  // hub-c stops heartbeating (its clock put back past the stale threshold): hub-a, the lowest live id, takes over.
  await sql`update hub_nodes set heartbeat_at = now() - interval '10 seconds' where id = 'hub-c'`.execute(svc.db);
  await Promise.all([a.heartbeat(), b.heartbeat()]);
  assert.deepEqual([a.evaluates(id), b.evaluates(id)], [true, false]);

  // A draining node takes no orphan while another live node does not drain.
  await a.drain();
  await b.heartbeat();
  assert.deepEqual([a.evaluates(id), b.evaluates(id)], [false, true]);
  assert.equal(await a.maybeClaim(id, Date.now()), false, "a draining node claims nothing");
  const rows = await svc.store.homes.liveNodes(2_000);
  assert.deepEqual(
    rows.map((r) => [r.id, r.draining]),
    [
      ["hub-a", true],
      ["hub-b", false],
    ],
  );
});

test("a node silent for a week is forgotten by the next heartbeat, unless a cluster is still homed on it", { timeout: 60_000 }, async (t) => {
  const { svc, id } = await enrolledCluster(t);
  const homes = svc.store.homes;
  await homes.claim(id, "hub-old-home", new Date(Date.now() - 60_000));
  await sql`
    insert into hub_nodes (id, endpoint, heartbeat_at, draining) values
      ('hub-gone', '', now() - interval '8 days', false),
      ('hub-old-home', '', now() - interval '8 days', false),
      ('hub-recent', '', now() - interval '6 days', false)`.execute(svc.db);
  await homes.heartbeat({ id: "hub-a", endpoint: "", draining: false }, 2_000);
  const r = await sql<{ id: string }>`select id from hub_nodes order by id`.execute(svc.db);
  assert.deepEqual(
    r.rows.map((x) => x.id),
    ["hub-a", "hub-old-home", "hub-recent"],
  );
});

test("PEERING_HUB_ENDPOINTS is handed out at enrollment in order, the first as hub_endpoint", { timeout: 60_000 }, async (t) => {
  const { env, id } = await withCluster(t, { PEERING_HUB_ENDPOINTS: "hub-a.example:51820, 192.0.2.2:51820", PEERING_HUB_ENDPOINT: "ignored.example:51820" });
  const res = await serviceClient(env).reserveEnrollment({ clusterId: id, publicKey: newKey(), enrollmentId: "enr-1" }, { tenantId: "acme" });
  assert.equal(res.hubEndpoint, "hub-a.example:51820");
  assert.deepEqual(res.hubEndpoints, ["hub-a.example:51820", "192.0.2.2:51820"]);
});

test("drain: a node hands its clusters away before it stops, is bounded by its timeout, and is a no-op alone", { timeout: 60_000 }, async (t) => {
  const { env, svc, id } = await enrolledCluster(t);
  const events = new ClusterEvents(svc.nc, env.prefix, logger, releases);
  const node = (nodeId: string) => new Homes({ store: svc.store.homes, events, getCluster: (c) => svc.store.getCluster(c), nodeId, endpoint: "", staleAfterMs: 5_000, log: logger });
  const [a, b] = [node("hub-a"), node("hub-b")];

  // Alone: nothing to hand over, so the device is never emptied and no time is spent.
  let emptied = 0;
  const order: string[] = [];
  assert.equal(await drainNode({ homes: a, log: logger, timeoutMs: 5_000, releaseTunnels: async () => void order.push("release"), emptyDevice: async () => void emptied++ }), 0);
  assert.equal(emptied, 0);
  assert.equal(order.length, 0, "alone, the tunnel-proxy keeps its clusters (nowhere else serves them)");

  const a2 = node("hub-a");
  for (const n of [a2, b, a2]) await n.heartbeat();
  assert.equal(await a2.maybeClaim(id, Date.now() - 10_000), true);
  // The edge, no longer answered by hub-a, handshakes with hub-b a moment later.
  const left = await drainNode({
    homes: a2,
    log: logger,
    timeoutMs: 10_000,
    pollMs: 50,
    releaseTunnels: async () => void order.push("release"),
    emptyDevice: async () => {
      order.push("empty");
      emptied++;
      setTimeout(() => void b.refresh().then(() => b.maybeClaim(id, Date.now())), 300);
    },
  });
  assert.equal(left, 0);
  assert.equal(emptied, 1);
  assert.deepEqual(order, ["release", "empty"], "the tunnel-proxy lets go (its calls done) before the peers leave the device");
  assert.equal((await svc.store.homes.home(id))?.homeNode, "hub-b");
  assert.deepEqual((await svc.store.homes.liveNodes(5_000)).map((n) => n.id), ["hub-b"], "a drained node leaves hub_nodes");

  // An edge that never moves: the drain gives up at its timeout.
  const c = node("hub-c");
  for (const n of [c, b, c]) await n.heartbeat();
  await c.refresh();
  assert.equal(await c.maybeClaim(id, Date.now()), true);
  const started = Date.now();
  assert.equal(await drainNode({ homes: c, log: logger, timeoutMs: 600, pollMs: 50, emptyDevice: async () => undefined }), 1);
  assert.ok(Date.now() - started < 3_000);
});
