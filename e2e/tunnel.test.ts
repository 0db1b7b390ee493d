/**
 * The full tunnel flow with the hub's own WireGuard node (peering with
 * PEERING_WG=true) running in the hub namespace, PostgreSQL and NATS reached
 * through relays, edges in their own namespaces.
 *
 * The first case walks one cluster through enrollment, connection, an edge
 * crash and restart, and deletion; it reports todo if peering does not start
 * the hub node. The remaining cases are todo with their reasons.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { EDGE_USER, defaultPolicy } from "@daalu/kube-double";
import { eventually, setup } from "@daalu/testing";
import { ExitCode } from "../edge/src/index.js";
import { runEdge, secretData, startKube } from "../edge/test/helpers.js";
import { getStatusFrom, readyz, startEdgeRun, WG_PORT } from "./edge-host.js";
import { spawnServiceIn, startHubStack } from "./hub-stack.js";
import { e2eSkipReason, HUB_UNDERLAY_IP, Netns } from "./netns.js";

const skip = e2eSkipReason();
const HUB_NODE_STARTED = "hub WireGuard node started";

test("tunnel: awaiting_handshake → connected; edge killed and restarted → back within seconds; cluster deleted → tunnel dead, address free", { skip, timeout: 240_000 }, async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  const net = await Netns.create(1);
  t.after(() => net.cleanup());
  const db = new URL(env.databaseUrl);
  const nats = new URL(env.natsUrl);
  await net.hub.forward(Number(db.port || 5432), { host: db.hostname, port: Number(db.port || 5432) });
  await net.hub.forward(Number(nats.port || 4222), { host: nats.hostname, port: Number(nats.port || 4222) });
  const hub = await startHubStack(env, net.dir, {
    hubEndpoint: `${HUB_UNDERLAY_IP}:${WG_PORT}`,
    peeringEnv: {
      PEERING_WG: "true",
      PEERING_WG_INTERFACE: net.ifname("dh"),
      PEERING_WG_BACKEND: "wireguard-go",
      PEERING_WG_PORT: String(WG_PORT),
      PEERING_HEALTH_INTERVAL: "300ms",
      PEERING_PROBE_INTERVAL: "1s",
    },
    spawnPeering: (e) => spawnServiceIn(net.hub, "peering", e),
  });
  t.after(() => hub.stop());
  if (!hub.services[0]!.output().includes(HUB_NODE_STARTED)) {
    t.todo("peering does not start the hub WireGuard node yet (PEERING_WG is not wired into services/peering/src/config.ts + main.ts)");
    return;
  }

  const k = await startKube();
  t.after(() => k.close());
  k.kube.setRbac(EDGE_USER, [...defaultPolicy()[EDGE_USER]!, { apiGroups: [""], resources: ["secrets"], resourceNames: ["daalu-edge-tunnel"], verbs: ["get"], namespaces: ["daalu-edge"] }]);
  const created = await hub.api("POST", "/v1/clusters", { name: "prod-eu" });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const clusterId = created.body.cluster.id as string;
  const boot = await runEdge("bootstrap", { EDGE_KUBECONFIG: k.bootstrapKubeconfig, EDGE_NAMESPACE: "daalu-edge", EDGE_HUB_URL: hub.gatewayUrl, EDGE_BOOTSTRAP_TOKEN: created.body.token });
  assert.equal(boot.code, ExitCode.Ok, boot.output);
  const status = async () => String((await hub.api("GET", `/v1/clusters/${clusterId}`)).body.cluster.status).toUpperCase();
  assert.equal(await status(), "AWAITING_HANDSHAKE");

  const [edgeHost] = net.edges;
  await edgeHost!.forward(k.kube.port, { host: "127.0.0.1", port: k.kube.port });
  const kubeconfig = path.join(net.dir, "edge-kubeconfig.yaml");
  writeFileSync(kubeconfig, k.kube.kubeconfig({ token: "edge-token", namespace: "daalu-edge" }));
  const edgeEnv = { EDGE_KUBECONFIG: kubeconfig, EDGE_NAMESPACE: "daalu-edge", EDGE_WG_INTERFACE: net.ifname("de"), EDGE_PROBE_ADDR: "127.0.0.1:8081" };
  const started = Date.now();
  const agent = startEdgeRun(edgeHost!, edgeEnv);
  t.after(() => agent.stop("SIGKILL"));
  await eventually(async () => assert.equal(await status(), "CONNECTED"), { timeoutMs: 15_000, intervalMs: 200 });
  t.diagnostic(`edge start → CONNECTED in ${Date.now() - started} ms`);
  const config = JSON.parse(secretDataOf(k)["tunnel.json"]!) as { tunnelIp: string; hubTunnelIp: string };

  // Crash: SIGKILL leaves the interface (and wireguard-go) behind; the new process takes it over.
  await agent.stop("SIGKILL");
  const restarted = Date.now();
  const again = startEdgeRun(edgeHost!, edgeEnv);
  t.after(() => again.stop("SIGKILL"));
  await again.ready;
  await eventually(async () => assert.equal((await readyz(edgeHost!)).status, 200), { timeoutMs: 10_000, intervalMs: 200 });
  // A probe that hit the restart window shows ERROR (the edge did not answer); the next one clears it.
  await eventually(async () => assert.equal(await status(), "CONNECTED"), { timeoutMs: 10_000, intervalMs: 200 });
  assert.equal((await getStatusFrom(net.hub, config)).ok, true, "the hub reaches the restarted edge");
  const backMs = Date.now() - restarted;
  t.diagnostic(`edge restart → handshaken and serving in ${backMs} ms`);
  assert.ok(backMs < 10_000, `back within seconds (${backMs} ms)`);

  // Deletion: the hub drops the peer, the tunnel is dead, the address returns to the pool.
  const del = await hub.api("DELETE", `/v1/clusters/${clusterId}`);
  assert.equal(del.status, 200, JSON.stringify(del.body));
  await eventually(async () => assert.equal((await getStatusFrom(net.hub, config)).ok, false), { timeoutMs: 10_000, intervalMs: 300 });
  const next = await hub.api("POST", "/v1/clusters", { name: "prod-eu-2" });
  assert.equal(next.status, 201, JSON.stringify(next.body));
  const boot2 = await runEdge("bootstrap", { EDGE_KUBECONFIG: k.bootstrapKubeconfig, EDGE_NAMESPACE: "daalu-edge", EDGE_SECRET_NAME: "second-tunnel", EDGE_HUB_URL: hub.gatewayUrl, EDGE_BOOTSTRAP_TOKEN: next.body.token });
  assert.equal(boot2.code, ExitCode.Ok, boot2.output);
  const reused = JSON.parse(secretDataOf(k, "second-tunnel")["tunnel.json"]!) as { tunnelIp: string };
  assert.equal(reused.tunnelIp, config.tunnelIp, "the deleted cluster's address was free again");
});

function secretDataOf(k: Awaited<ReturnType<typeof startKube>>, name?: string): Record<string, string> {
  const d = secretData(k.kube, name);
  assert.ok(d, "tunnel Secret exists");
  return d;
}

test("tunnel: egress cut → disconnected, one critical alert after the shortened threshold, then recovery", {
  todo: "not written yet: peering health is handshake-age only and WireGuard re-handshakes every ~2 min, so a PEERING_DISCONNECT_AFTER of seconds flaps a healthy tunnel; the test needs that settled with peering (thresholds above the rekey interval, or an rx-bytes liveness signal)",
});
test("tunnel: hub node restarted → every edge connected again within 10 s", {
  todo: "not written yet (time): the edge side exists (EDGE_HUB_SILENCE resets the session when the hub goes quiet; set it to ~3 s with PEERING_PROBE_INTERVAL=1s for the 10 s bound)",
});
