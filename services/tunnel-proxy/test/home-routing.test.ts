/**
 * Several hub nodes: a tunnel-proxy with TUNNEL_PROXY_NODE_ID answers a
 * cluster's calls only while the cluster is homed on its node (HOME_CHANGED
 * events from peering's hub nodes), and stops the moment it moves away, so a
 * call is never answered by a node whose WireGuard device does not carry the
 * edge; a call in between gets 503 CLUSTER_MOVING (a tunnel-proxy runs, none
 * serves the cluster), never an answer from the wrong node. A GET that meets
 * the move waits for the new home (moving-retry.ts) and is answered once; a
 * POST gets the 503. A draining node's release (peering asks before it
 * empties its device) lets go of every cluster at once and is answered only
 * when the calls already taken are done. Real NATS, peering, audit and
 * tunnel-proxy; the edge on loopback gRPC.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import http, { type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { nodeReleaseSubject } from "@daalu/peering";
import { create, toBinary } from "@bufbuild/protobuf";
import { CallerKind, peeringv1 } from "@daalu/proto";
import { eventSubject } from "@daalu/runtime";
import { eventually, setup, type TestEnv } from "@daalu/testing";
import { proxyCall } from "../src/client.js";
import { startTunnelStack, type TunnelStack } from "./harness.js";

let env: TestEnv;
let stack: TunnelStack;
let cluster: string;
/** An in-cluster HTTP target that answers only when the test says so: a call held in flight. */
let slow: http.Server;
const held: ServerResponse[] = [];

before(async () => {
  env = await setup();
  slow = http.createServer((_req, res) => void held.push(res));
  await new Promise<void>((r) => slow.listen(0, "127.0.0.1", r));
  const slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
  stack = await startTunnelStack(env, [{ tenant: "acme", name: "prod" }], { TUNNEL_PROXY_NODE_ID: "hub-a" }, { edgeTargets: { slow: { url: slowUrl } } });
  [cluster] = stack.clusterIds as [string];
});
after(async () => {
  for (const r of held) r.destroy();
  slow?.close();
  await stack?.stop();
  await env?.cleanup();
});

const PODS = "/api/v1/namespaces/default/pods";
const callAs = (method: string, o: { retryWhileMoving?: boolean; timeoutMs?: number; target?: string; path?: string } = {}) =>
  proxyCall(env.nc, { method, path: o.path ?? PODS, headers: [], ...(o.target ? { target: o.target } : {}), ...(method === "POST" ? { body: new TextEncoder().encode("{}") } : {}) }, { prefix: env.prefix, tenantId: "acme", clusterId: cluster, caller: { kind: CallerKind.USER, id: "alice" }, timeoutMs: o.timeoutMs ?? 10_000, ...(o.retryWhileMoving ? { retryWhileMoving: true } : {}) });
const call = () => callAs("GET");
const isMoving = (e: Error & { reason?: string }) => e.reason === "CLUSTER_MOVING";

function homeChanged(homeNode: string, epoch: bigint, clusterId = cluster): void {
  const ev = create(peeringv1.ClusterEventSchema, { tenantId: "acme", clusterId, kind: peeringv1.ClusterEventKind.HOME_CHANGED, homeNode, homeEpoch: epoch });
  env.nc.publish(eventSubject(env.prefix, "acme", "cluster.home_changed"), toBinary(peeringv1.ClusterEventSchema, ev));
}

test("a cluster homed elsewhere (or nowhere) gets no responder; homed here, its calls are answered; moved away, no longer", { timeout: 60_000 }, async () => {
  assert.deepEqual(stack.proxy.homedClusters, [], "nothing homed on hub-a at start");
  // A tunnel-proxy runs but none serves the cluster: it is between hub nodes, not "no tunnel-proxy".
  await assert.rejects(call(), isMoving);

  homeChanged("hub-a", 1n);
  await eventually(() => assert.deepEqual(stack.proxy.homedClusters, [cluster]));
  const a = await call();
  assert.equal(a.status, 200);
  for await (const _ of a.body) void _;

  homeChanged("hub-b", 2n);
  await eventually(() => assert.deepEqual(stack.proxy.homedClusters, []));
  await assert.rejects(call(), isMoving);

  // A late event with an older epoch never brings the cluster back: once a later marker event is applied, it is still away.
  const marker = randomUUID();
  homeChanged("hub-a", 1n);
  homeChanged("hub-a", 1n, marker);
  await eventually(() => assert.deepEqual(stack.proxy.homedClusters, [marker]));
  homeChanged("hub-a", 3n);
  await eventually(() => assert.deepEqual(new Set(stack.proxy.homedClusters), new Set([marker, cluster])));
});

test("a GET that meets its cluster between nodes waits for the new home and is answered once; a POST gets 503 CLUSTER_MOVING at once; the wait ends at the deadline", { timeout: 60_000 }, async () => {
  homeChanged("hub-b", 10n);
  await eventually(() => assert.equal(stack.proxy.homedClusters?.includes(cluster), false));
  const since = new Date().toISOString();
  const get = callAs("GET", { retryWhileMoving: true });
  const postAt = Date.now();
  // Same option, but a write: never sent twice, so the caller gets the refusal and decides.
  await assert.rejects(callAs("POST", { retryWhileMoving: true }), isMoving);
  assert.ok(Date.now() - postAt < 2_000, "the POST is refused at once, not held");
  homeChanged("hub-a", 11n);
  const a = await get;
  assert.equal(a.status, 200);
  for await (const _ of a.body) void _;
  // One record per call the tunnel-proxy handled: the GET once, the POST never reached it.
  await eventually(async () => assert.equal(await stack.auditRows(cluster, `time >= '${since}'`), 1));
  assert.equal(await stack.auditRows(cluster, `time >= '${since}' and verb <> 'list'`), 0, "no write went through");

  // Nobody takes the cluster: the GET gives up with the refusal by its deadline, not later.
  homeChanged("hub-b", 12n);
  await eventually(() => assert.equal(stack.proxy.homedClusters?.includes(cluster), false));
  const t0 = Date.now();
  await assert.rejects(callAs("GET", { retryWhileMoving: true, timeoutMs: 1_500 }), isMoving);
  const took = Date.now() - t0;
  assert.ok(took >= 900 && took <= 2_000, `retried until near the 1.5 s deadline (${took} ms)`);
});

// Last in this file: a released node serves nothing more.
test("a draining node's release: every cluster let go at once, the answer only after the call in flight finished, and nothing taken back after", { timeout: 60_000 }, async () => {
  homeChanged("hub-a", 20n);
  await eventually(() => assert.equal(stack.proxy.homedClusters?.includes(cluster), true));
  const inFlight = callAs("GET", { target: "slow", path: "/hold" });
  await eventually(() => assert.equal(held.length, 1, "the call reached the edge's target"));

  let answered = false;
  const release = env.nc.request(nodeReleaseSubject(env.prefix, "hub-a"), new Uint8Array(0), { timeout: 8_000 }).then(() => void (answered = true));
  await eventually(() => assert.deepEqual(stack.proxy.homedClusters, [], "let go at once"));
  await assert.rejects(call(), isMoving, "a new call finds nobody: it waits for the new home (or is refused)");
  assert.equal(answered, false, "no answer while a call taken is in flight (peering would empty the device under it)");

  held[0]!.writeHead(200, { "content-type": "text/plain" }).end("done");
  const a = await inFlight;
  assert.equal(a.status, 200, "the call in flight is answered");
  for await (const _ of a.body) void _;
  await release;
  assert.equal(answered, true);

  // A later HOME_CHANGED to this node takes nothing back; the second release's answer comes after the event was read.
  homeChanged("hub-a", 21n);
  await env.nc.request(nodeReleaseSubject(env.prefix, "hub-a"), new Uint8Array(0), { timeout: 8_000 });
  assert.deepEqual(stack.proxy.homedClusters, []);
  await assert.rejects(call(), isMoving);
});
