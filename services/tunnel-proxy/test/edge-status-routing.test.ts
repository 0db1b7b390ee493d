/**
 * GetEdgeStatus with several hub nodes: whichever tunnel-proxy takes the query
 * (one queue group for all), the edge is asked from the cluster's home node,
 * never from a node that does not carry its tunnel (packets from there make the
 * edge roam, or go nowhere). Two tunnel-proxies, hub-a and hub-b; only hub-a
 * can reach the edge (hub-b's address for it is a closed port), so every
 * answer while the cluster is homed on hub-a proves the query went there.
 * Real NATS, peering, audit and tunnel-proxies; the edge on loopback gRPC.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { create, toBinary } from "@bufbuild/protobuf";
import { CallerKind, edgev1, peeringv1 } from "@daalu/proto";
import { createLogger, eventSubject, type Running } from "@daalu/runtime";
import { eventually, setup, type TestEnv } from "@daalu/testing";
import { loadConfig, start, type RunningTunnelProxy } from "../src/index.js";
import { queryClient } from "../src/queries.js";
import { startTunnelStack, type TunnelStack } from "./harness.js";

const VERSION = "edge-status-routing-test";

let env: TestEnv;
let stack: TunnelStack;
let hubB: RunningTunnelProxy & Running;
let cluster: string;

before(async () => {
  env = await setup();
  stack = await startTunnelStack(env, [{ tenant: "acme", name: "prod" }], { TUNNEL_PROXY_NODE_ID: "hub-a" }, { edgeStatus: async () => async () => create(edgev1.GetStatusResponseSchema, { edgeVersion: VERSION, apiReachable: true }) });
  [cluster] = stack.clusterIds as [string];
  // Port 1 on loopback: nothing listens, so hub-b reaching the edge itself fails at once.
  const cfg = loadConfig({ ...env.env, LOG_LEVEL: "silent", TUNNEL_PROXY_NODE_ID: "hub-b", TUNNEL_PROXY_EDGE_ADDR_OVERRIDE: `${cluster}=127.0.0.1:1` });
  hubB = (await start(cfg, createLogger("tunnel-proxy-b", "silent"))) as RunningTunnelProxy & Running;
});
after(async () => {
  await hubB?.stop();
  await stack?.stop();
  await env?.cleanup();
});

function homeChanged(homeNode: string, epoch: bigint): void {
  const ev = create(peeringv1.ClusterEventSchema, { tenantId: "acme", clusterId: cluster, kind: peeringv1.ClusterEventKind.HOME_CHANGED, homeNode, homeEpoch: epoch });
  env.nc.publish(eventSubject(env.prefix, "acme", "cluster.home_changed"), toBinary(peeringv1.ClusterEventSchema, ev));
}

const status = () => queryClient(env.nc, { prefix: env.prefix }).getEdgeStatus({ clusterId: cluster }, { tenantId: "acme", caller: { kind: CallerKind.USER, id: "alice" }, timeoutMs: 5_000 });

/** Asks `n` times (the queue group spreads them over both nodes); the outcomes, as versions or reasons. */
async function ask(n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await status().then((r) => r.status?.edgeVersion ?? "", (e: Error & { reason?: string }) => e.reason ?? e.message));
  return out;
}

test("GetEdgeStatus is answered from the home node, whichever node takes the query; nobody home is CLUSTER_MOVING", { timeout: 60_000 }, async () => {
  homeChanged("hub-a", 1n);
  await eventually(() => {
    assert.deepEqual(stack.proxy.homedClusters, [cluster]);
    assert.deepEqual(hubB.homedClusters, []);
  });
  assert.deepEqual(new Set(await ask(20)), new Set([VERSION]), "every query answered by the edge, through hub-a");

  // Homed on hub-b, which cannot reach the edge: every query now fails there, whichever node took it.
  homeChanged("hub-b", 2n);
  await eventually(() => assert.deepEqual(hubB.homedClusters, [cluster]));
  assert.deepEqual(new Set(await ask(10)), new Set(["EDGE_UNAVAILABLE"]));

  // Homed on a node that is not running: no one serves the cluster, a move in progress.
  homeChanged("hub-c", 3n);
  await eventually(() => assert.deepEqual([...stack.proxy.homedClusters!, ...hubB.homedClusters!], []));
  assert.deepEqual(new Set(await ask(6)), new Set(["CLUSTER_MOVING"]));
});
