/**
 * Rebalancing between hub nodes: peering asks its node's tunnel-proxy to let go
 * of single clusters (ReleaseClustersRequest on clusterReleaseSubject) before
 * it sends their edges to another node. The tunnel-proxy lets go of exactly
 * the clusters named, answers once their calls in flight are done, refuses a
 * cluster with an open session (a rebalance never cuts one) or whose calls
 * outlast the bounded wait, serves a released cluster again when its hold ends
 * without a newer home, keeps it released when a newer epoch moved it, and
 * serves it again at once on `resume`. Real NATS; the handlers are stand-ins
 * whose calls end when the test says so.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { peeringv1 } from "@daalu/proto";
import { requestClusterRelease } from "@daalu/peering";
import { createLogger, eventSubject, tunnelSubject } from "@daalu/runtime";
import { eventually, setup, type TestEnv } from "@daalu/testing";
import type { Msg } from "@nats-io/transport-node";
import { HomeRouting } from "../src/adapters/nats/home-routing.js";

const NODE = "hub-a";
let env: TestEnv;
let routing: HomeRouting;
/** Calls the stand-in handlers hold: resolve one to end that call. */
const holding = new Map<string, () => void>();

function holdCall(msg: Msg): Promise<void> {
  const id = new TextDecoder().decode(msg.data);
  return new Promise<void>((resolve) => holding.set(id, resolve)).then(() => void msg.respond(new TextEncoder().encode(`done ${id}`)));
}
/** Answers at once, unless the payload starts with "hold:". */
function proxy(_err: Error | null, msg: Msg): Promise<void> {
  if (new TextDecoder().decode(msg.data).startsWith("hold:")) return holdCall(msg);
  msg.respond(new TextEncoder().encode("ok"));
  return Promise.resolve();
}

before(async () => {
  env = await setup();
  routing = new HomeRouting({
    nc: env.nc,
    prefix: env.prefix,
    queue: "cluster-release-test",
    nodeId: NODE,
    peering: { listHomedClusters: async () => create(peeringv1.ListHomedClustersResponseSchema, {}) },
    handlers: { Proxy: proxy, Session: (_e, msg) => holdCall(msg) },
    settle: () => Promise.resolve(),
    logger: createLogger("cluster-release-test", process.env["LOG_LEVEL"] ?? "silent"),
  });
  await routing.start();
});
after(async () => {
  for (const r of holding.values()) r();
  await routing?.drain();
  await env?.cleanup();
});

const TENANT = "acme";
function homeChanged(clusterId: string, homeNode: string, epoch: bigint): void {
  const ev = create(peeringv1.ClusterEventSchema, { tenantId: TENANT, clusterId, kind: peeringv1.ClusterEventKind.HOME_CHANGED, homeNode, homeEpoch: epoch });
  env.nc.publish(eventSubject(env.prefix, TENANT, "cluster.home_changed"), toBinary(peeringv1.ClusterEventSchema, ev));
}
async function homedHere(...ids: string[]): Promise<void> {
  ids.forEach((id, i) => homeChanged(id, NODE, BigInt(i + 1)));
  await eventually(() => assert.ok(ids.every((id) => routing.clusters.includes(id)), "homed here"));
}
const ref = (clusterId: string) => ({ tenantId: TENANT, clusterId });
const release = (ids: string[], holdMs = 20_000) => requestClusterRelease(env.nc, env.prefix, NODE, { clusters: ids.map(ref), holdMs }, 8_000);
const send = (clusterId: string, method: string, payload = "") => env.nc.request(tunnelSubject(env.prefix, TENANT, clusterId, method), new TextEncoder().encode(payload), { timeout: 8_000 });
const noResponders = (e: Error & { code?: string }) => /no responders/i.test(e.message) || e.code === "503";

test("one cluster released, its call in flight finished first; the other cluster still served; an empty request is answered at once", { timeout: 30_000 }, async () => {
  const [c1, c2] = [randomUUID(), randomUUID()];
  await homedHere(c1, c2);
  assert.deepEqual(await requestClusterRelease(env.nc, env.prefix, NODE, { clusters: [] }, 2_000), { released: [], refused: [] }, "the liveness check peering makes of a target");

  const inFlight = send(c1, "Proxy", "hold:a");
  await eventually(() => assert.ok(holding.has("hold:a"), "the call reached the handler"));
  let answered = false;
  const answer = release([c1]).then((a) => ((answered = true), a));
  await eventually(() => assert.ok(!routing.clusters.includes(c1), "let go at once"));
  await assert.rejects(send(c1, "Proxy"), noResponders, "a new call finds nobody (the gateway retries a GET)");
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(answered, false, "no answer while the cluster's call is in flight");
  holding.get("hold:a")!();
  assert.equal(new TextDecoder().decode((await inFlight).data), "done hold:a", "the call in flight is answered");
  assert.deepEqual(await answer, { released: [ref(c1)], refused: [] });
  assert.equal(new TextDecoder().decode((await send(c2, "Proxy")).data), "ok", "the other cluster is untouched");
  assert.deepEqual(await release([randomUUID()]).then((a) => a.refused.map((r) => r.reason)), ["NOT_HOMED_HERE"]);
});

test("refused while a session is open (never cut), or while a call outlasts the bounded wait: served throughout or again", { timeout: 30_000 }, async () => {
  const [c1, c2] = [randomUUID(), randomUUID()];
  await homedHere(c1, c2);
  const session = send(c1, "Session", "session:1");
  await eventually(() => assert.ok(holding.has("session:1"), "the call reached the handler"));
  const a = await release([c1]);
  assert.deepEqual([a.released, a.refused.map((r) => r.reason)], [[], ["SESSION_OPEN"]]);
  assert.ok(routing.clusters.includes(c1), "still served");
  assert.equal(new TextDecoder().decode((await send(c1, "Proxy")).data), "ok");
  holding.get("session:1")!();
  await session;

  const watch = send(c2, "Proxy", "hold:watch");
  await eventually(() => assert.ok(holding.has("hold:watch"), "the call reached the handler"));
  const t0 = Date.now();
  const b = await release([c2]);
  assert.deepEqual([b.released, b.refused.map((r) => r.reason)], [[], ["CALLS_IN_FLIGHT"]]);
  assert.ok(Date.now() - t0 >= 2_500, "waited for the call (bounded) before giving up");
  assert.ok(routing.clusters.includes(c2), "served again");
  holding.get("hold:watch")!();
  await watch;
});

test("a released cluster is served again when its hold ends, at once on resume, and never after a newer epoch moved it", { timeout: 30_000 }, async () => {
  const [c1, c2, c3] = [randomUUID(), randomUUID(), randomUUID()];
  await homedHere(c1, c2, c3);
  assert.equal((await release([c1], 600)).released.length, 1);
  assert.ok(!routing.clusters.includes(c1));
  await eventually(() => assert.ok(routing.clusters.includes(c1), "the hold ended without a new home: served again"), { timeoutMs: 5_000 });
  assert.equal(new TextDecoder().decode((await send(c1, "Proxy")).data), "ok");

  assert.equal((await release([c2], 20_000)).released.length, 1);
  await requestClusterRelease(env.nc, env.prefix, NODE, { clusters: [ref(c2)], resume: true }, 2_000);
  assert.ok(routing.clusters.includes(c2), "the move was given up: served again at once");

  assert.equal((await release([c3], 600)).released.length, 1);
  homeChanged(c3, "hub-b", 10n);
  await new Promise((r) => setTimeout(r, 1_500));
  assert.ok(!routing.clusters.includes(c3), "homed on another node now: the hold's end serves nothing");
  await requestClusterRelease(env.nc, env.prefix, NODE, { clusters: [ref(c3)], resume: true }, 2_000);
  assert.ok(!routing.clusters.includes(c3), "nor does a late resume");
  await assert.rejects(send(c3, "Proxy"), noResponders);
});
