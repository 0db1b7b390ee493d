/**
 * The full tunnel flow with the hub's own WireGuard node (peering with
 * PEERING_WG=true) running in the hub namespace, PostgreSQL and NATS reached
 * through relays, edges in their own namespaces.
 *
 * Only the first case runs today, and only when peering's main starts the hub
 * node: until then (services/peering/src/wg-node exists but PEERING_WG is not
 * read by peering's config) it is reported as todo with that reason. The
 * remaining cases are todo with their reasons.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { EDGE_USER, defaultPolicy } from "@daalu/kube-double";
import { eventually, setup } from "@daalu/testing";
import { ExitCode } from "../edge/src/index.js";
import { runEdge, startKube } from "../edge/test/helpers.js";
import { startEdgeRun, WG_PORT } from "./edge-host.js";
import { spawnServiceIn, startHubStack } from "./hub-stack.js";
import { e2eSkipReason, HUB_UNDERLAY_IP, Netns } from "./netns.js";

const skip = e2eSkipReason();
const HUB_NODE_STARTED = "hub WireGuard node started";

test("tunnel: enrolled cluster goes awaiting_handshake → connected once the edge runs", { skip, timeout: 180_000 }, async (t) => {
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
  const started = Date.now();
  const agent = startEdgeRun(edgeHost!, { EDGE_KUBECONFIG: kubeconfig, EDGE_NAMESPACE: "daalu-edge", EDGE_WG_INTERFACE: net.ifname("de"), EDGE_PROBE_ADDR: "127.0.0.1:8081" });
  t.after(() => agent.stop("SIGKILL"));
  await eventually(async () => assert.equal(await status(), "CONNECTED"), { timeoutMs: 15_000, intervalMs: 200 });
  t.diagnostic(`edge start → CONNECTED in ${Date.now() - started} ms`);
});

const NO_HUB_NODE = "needs the hub WireGuard node running inside peering (PEERING_WG), not wired yet";
test("tunnel: edge killed and restarted → connected again within seconds", { todo: NO_HUB_NODE });
test("tunnel: egress cut → disconnected, one critical alert after the shortened threshold, then recovery", {
  todo: `${NO_HUB_NODE}; also, health is handshake-age only and WireGuard re-handshakes every ~2 min, so a PEERING_DISCONNECT_AFTER of seconds would flap a healthy tunnel: the threshold (or a rx-bytes liveness signal) must be settled with peering`,
});
test("tunnel: hub node restarted → every edge connected again within 10 s (edge resets its session after EDGE_HUB_SILENCE)", { todo: NO_HUB_NODE });
test("tunnel: cluster deleted → tunnel dead and the address back in the pool", { todo: NO_HUB_NODE });
