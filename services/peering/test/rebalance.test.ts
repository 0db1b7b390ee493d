/**
 * Rebalancing's hand-over from this node (hub-a) to another (hub-b), the
 * peering side (wg-node/rebalance.ts): against real NATS, with stand-ins for
 * the two nodes' tunnel-proxies (the ReleaseClusters subjects), the edge's
 * answer to the move request and the device. What is asserted is the order
 * of the steps and what happens when one does not confirm: the cluster is
 * given back at once and nothing touches the device.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { peeringv1 } from "@daalu/proto";
import { createLogger } from "@daalu/runtime";
import { eventually, setup } from "@daalu/testing";
import { clusterReleaseSubject } from "../src/adapters/nats/cluster-release.js";
import type { Homes } from "../src/wg-node/homes.js";
import type { EdgeProber } from "../src/wg-node/prober.js";
import { Rebalancer } from "../src/wg-node/rebalance.js";
import type { Tracked } from "../src/wg-node/tracked.js";

const logger = createLogger("rebalance-test", process.env["LOG_LEVEL"] ?? "silent");

async function world(t: { after(fn: () => Promise<unknown>): void }, o: { clusters: number; refuse?: boolean; confirm?: boolean; targetAnswers?: boolean; deviceHoldMs?: number }) {
  const env = await setup();
  t.after(() => env.cleanup());
  const steps: string[] = [];
  const home = new Map<string, string>();
  const tracked: Tracked[] = [];
  for (let i = 0; i < o.clusters; i++) {
    const id = randomUUID();
    home.set(id, "hub-a");
    tracked.push({ clusterId: id, tenantId: "acme", publicKey: `key-${i}`, tunnelIp: `10.0.0.${i + 2}`, state: "connected", peer: { lastHandshakeMs: Date.now() } } as unknown as Tracked);
  }
  const homes = {
    nodeId: "hub-a",
    isDraining: false,
    homeOf: (id: string) => home.get(id) ?? null,
    liveNodes: () => [
      { id: "hub-a", endpoint: "192.0.2.1:51820", draining: false, heartbeatAt: new Date() },
      { id: "hub-b", endpoint: "192.0.2.2:51820", draining: false, heartbeatAt: new Date() },
    ],
    all: () => [...home].map(([clusterId, homeNode]) => ({ clusterId, homeNode, tenantId: "acme", homeEpoch: 1, homeSince: null })),
  } as unknown as Homes;
  // hub-a's tunnel-proxy (releases or refuses), hub-b's (answers the readiness check unless told not to).
  const answer = (msg: { data: Uint8Array; respond(d: Uint8Array): boolean }, node: string) => {
    const req = fromBinary(peeringv1.ReleaseClustersRequestSchema, msg.data);
    const ids = req.clusters.map((c) => c.clusterId.slice(0, 8));
    steps.push(`${node} ${req.resume ? "resume" : req.clusters.length === 0 ? "ping" : "release"} ${ids.join(",")}`.trim());
    const res = create(peeringv1.ReleaseClustersResponseSchema, o.refuse ? { refused: req.clusters.map((c) => ({ cluster: c, reason: "SESSION_OPEN" })) } : { released: req.resume ? [] : req.clusters });
    msg.respond(toBinary(peeringv1.ReleaseClustersResponseSchema, res));
  };
  env.nc.subscribe(clusterReleaseSubject(env.prefix, "hub-a"), { callback: (_e, m) => answer(m, "hub-a") });
  if (o.targetAnswers !== false) env.nc.subscribe(clusterReleaseSubject(env.prefix, "hub-b"), { callback: (_e, m) => answer(m, "hub-b") });
  await env.nc.flush();
  const prober = {
    requestMove: async (ip: string, endpoints: string[], to: string) => {
      steps.push(`edge ${ip} move to ${to} (of ${endpoints.join(" ")})`);
      return o.confirm !== false;
    },
  } as unknown as EdgeProber;
  const sync = {
    withholdPeer: async (key: string) => void steps.push(`withhold ${key}`),
    restorePeer: async (key: string, _ip: string, put: boolean) => void steps.push(`restore ${key}${put ? "" : " (not put back)"}`),
  };
  const r = new Rebalancer({
    homes,
    nc: env.nc,
    prefix: env.prefix,
    perSecond: 2,
    prober,
    sync,
    log: logger,
    tracked: () => tracked,
    edgeEndpoints: () => ["192.0.2.1:51820", "192.0.2.2:51820"],
    keepsPeer: () => true,
    locked: (fn) => fn(),
    ...(o.deviceHoldMs ? { deviceHoldMs: o.deviceHoldMs } : {}),
  });
  t.after(async () => r.stop());
  return { r, steps, home, tracked };
}

test("3 clusters on hub-a, hub-b empty: one hand-over — target checked, released, edge asked, peer withheld; HOME_CHANGED puts the peer back; balanced after", { timeout: 30_000 }, async (t) => {
  const { r, steps, home, tracked } = await world(t, { clusters: 3 });
  await r.tick();
  const c = tracked.find((x) => steps.some((s) => s === `hub-a release ${x.clusterId.slice(0, 8)}`))!;
  assert.ok(c, steps.join("\n"));
  assert.deepEqual(steps, ["hub-b ping", `hub-a release ${c.clusterId.slice(0, 8)}`, `edge ${c.tunnelIp} move to 192.0.2.2:51820 (of 192.0.2.1:51820 192.0.2.2:51820)`, `withhold ${c.publicKey}`]);
  await r.tick();
  assert.equal(steps.length, 4, "the move under way counts at its target: 2 vs 1, nothing more");
  home.set(c.clusterId, "hub-b");
  await r.onHomeChanged(c.clusterId, "hub-b");
  assert.equal(steps.at(-1), `restore ${c.publicKey}`);
  await r.tick();
  assert.equal(steps.length, 5, "balanced: no further move");
});

test("an edge that does not confirm (an older edge): the cluster is served again at once, the device untouched, the edge not asked again soon", { timeout: 30_000 }, async (t) => {
  const { r, steps } = await world(t, { clusters: 2, confirm: false });
  await r.tick();
  assert.deepEqual(
    steps.map((s) => s.split(" ").slice(0, 2).join(" ").replace(/10\.0\.0\.\d/, "<ip>")),
    ["hub-b ping", "hub-a release", "edge <ip>", "hub-a resume"],
  );
  assert.ok(!steps.some((s) => s.startsWith("withhold")));
  const asked = steps[2]!.split(" ").slice(0, 2).join(" ");
  const n = steps.length;
  await r.tick();
  assert.ok(steps.slice(n).every((s) => !s.startsWith(asked)), "that edge is left alone");
});

test("a refused release (a session open) asks no edge; a target whose tunnel-proxy does not answer gets nothing", { timeout: 30_000 }, async (t) => {
  const refused = await world(t, { clusters: 2, refuse: true });
  await refused.r.tick();
  assert.deepEqual(refused.steps.map((s) => s.split(" ").slice(0, 2).join(" ")), ["hub-b ping", "hub-a release"]);
  const silent = await world(t, { clusters: 2, targetAnswers: false });
  await silent.r.tick();
  assert.deepEqual(silent.steps, [], "no release, no edge asked");
});

test("no new home within the hold: the peer comes back on this device", { timeout: 30_000 }, async (t) => {
  const { r, steps, tracked } = await world(t, { clusters: 2, deviceHoldMs: 300 });
  await r.tick();
  const c = tracked.find((x) => steps.at(-1) === `withhold ${x.publicKey}`);
  assert.ok(c, steps.join("\n"));
  await eventually(() => assert.equal(steps.at(-1), `restore ${c.publicKey}`, steps.join("\n")), { timeoutMs: 5_000 });
});
