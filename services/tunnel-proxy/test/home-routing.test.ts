/**
 * Several hub nodes: a tunnel-proxy with TUNNEL_PROXY_NODE_ID answers a
 * cluster's calls only while the cluster is homed on its node (HOME_CHANGED
 * events from peering's hub nodes), and stops the moment it moves away, so a
 * call is never answered by a node whose WireGuard device does not carry the
 * edge; a call in between gets 503 CLUSTER_MOVING (a tunnel-proxy runs, none
 * serves the cluster), never an answer from the wrong node. Real NATS,
 * peering, audit and tunnel-proxy; the edge on loopback gRPC.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { CallerKind, peeringv1 } from "@daalu/proto";
import { eventSubject } from "@daalu/runtime";
import { eventually, setup, type TestEnv } from "@daalu/testing";
import { proxyCall } from "../src/client.js";
import { startTunnelStack, type TunnelStack } from "./harness.js";

let env: TestEnv;
let stack: TunnelStack;
let cluster: string;

before(async () => {
  env = await setup();
  stack = await startTunnelStack(env, [{ tenant: "acme", name: "prod" }], { TUNNEL_PROXY_NODE_ID: "hub-a" });
  [cluster] = stack.clusterIds as [string];
});
after(async () => {
  await stack?.stop();
  await env?.cleanup();
});

const call = () =>
  proxyCall(env.nc, { method: "GET", path: "/api/v1/namespaces/default/pods", headers: [] }, { prefix: env.prefix, tenantId: "acme", clusterId: cluster, caller: { kind: CallerKind.USER, id: "alice" }, timeoutMs: 10_000 });

function homeChanged(homeNode: string, epoch: bigint, clusterId = cluster): void {
  const ev = create(peeringv1.ClusterEventSchema, { tenantId: "acme", clusterId, kind: peeringv1.ClusterEventKind.HOME_CHANGED, homeNode, homeEpoch: epoch });
  env.nc.publish(eventSubject(env.prefix, "acme", "cluster.home_changed"), toBinary(peeringv1.ClusterEventSchema, ev));
}

test("a cluster homed elsewhere (or nowhere) gets no responder; homed here, its calls are answered; moved away, no longer", { timeout: 60_000 }, async () => {
  assert.deepEqual(stack.proxy.homedClusters, [], "nothing homed on hub-a at start");
  // A tunnel-proxy runs but none serves the cluster: it is between hub nodes, not "no tunnel-proxy".
  await assert.rejects(call(), (e: Error & { reason?: string }) => e.reason === "CLUSTER_MOVING");

  homeChanged("hub-a", 1n);
  await eventually(() => assert.deepEqual(stack.proxy.homedClusters, [cluster]));
  const a = await call();
  assert.equal(a.status, 200);
  for await (const _ of a.body) void _;

  homeChanged("hub-b", 2n);
  await eventually(() => assert.deepEqual(stack.proxy.homedClusters, []));
  await assert.rejects(call(), (e: Error & { reason?: string }) => e.reason === "CLUSTER_MOVING");

  // A late event with an older epoch never brings the cluster back: once a later marker event is applied, it is still away.
  const marker = randomUUID();
  homeChanged("hub-a", 1n);
  homeChanged("hub-a", 1n, marker);
  await eventually(() => assert.deepEqual(stack.proxy.homedClusters, [marker]));
  homeChanged("hub-a", 3n);
  await eventually(() => assert.deepEqual(new Set(stack.proxy.homedClusters), new Set([marker, cluster])));
});
