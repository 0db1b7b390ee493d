/**
 * The edge agent end to end, with the real hub services: a tenant admin adds a
 * cluster through the gateway (real invite + peering behind it), `edge
 * bootstrap` redeems the token against a kube-double, then `edge run` in its
 * own network namespace brings the tunnel up to a real WireGuard peer in the
 * hub namespace. Asserts: the handshake, GetStatus from the hub's tunnel
 * address, PERMISSION_DENIED from elsewhere, /readyz following the handshake
 * age, and a second edge with the same token refused.
 *
 * The hub side here is a plain wireguard-go interface configured with the
 * peering service's hub key; tunnel.test.ts runs the hub node itself.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { EDGE_USER, defaultPolicy } from "@daalu/kube-double";
import { eventually, setup } from "@daalu/testing";
import { ExitCode } from "@daalu/edge";
import { runEdge, secretData, startKube } from "../edge/test/helpers.js";
import { getStatusFrom, readyz, startEdgeRun, startPlainHubPeer, WG_PORT } from "./edge-host.js";
import { startHubStack } from "./hub-stack.js";
import { e2eSkipReason, HUB_UNDERLAY_IP, Netns } from "./netns.js";

const skip = e2eSkipReason();

test("edge: bootstrap through the real hub, tunnel up, GetStatus from the hub only, readiness follows the handshake", { skip, timeout: 180_000 }, async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  const net = await Netns.create(1);
  t.after(() => net.cleanup());
  const hub = await startHubStack(env, net.dir, { hubEndpoint: `${HUB_UNDERLAY_IP}:${WG_PORT}` });
  t.after(() => hub.stop());
  const k = await startKube();
  t.after(() => k.close());
  // The Deployment's Role: get on its own Secret (deploy/daalu-edge/templates/rbac-agent.yaml).
  k.kube.setRbac(EDGE_USER, [...defaultPolicy()[EDGE_USER]!, { apiGroups: [""], resources: ["secrets"], resourceNames: ["daalu-edge-tunnel"], verbs: ["get"], namespaces: ["daalu-edge"] }]);

  // Add cluster → token (what the UI shows once).
  const created = await hub.api("POST", "/v1/clusters", { name: "prod-eu" });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const token = created.body.token as string;
  const clusterId = created.body.cluster.id as string;

  const bootEnv = { EDGE_KUBECONFIG: k.bootstrapKubeconfig, EDGE_NAMESPACE: "daalu-edge", EDGE_HUB_URL: hub.gatewayUrl, EDGE_BOOTSTRAP_TOKEN: token };
  const boot = await runEdge("bootstrap", bootEnv);
  assert.equal(boot.code, ExitCode.Ok, boot.output);
  const data = secretData(k.kube)!;
  const config = JSON.parse(data["tunnel.json"]!) as { tunnelIp: string; hubTunnelIp: string; hubPublicKey: string; hubEndpoint: string; clusterId: string };
  assert.equal(config.clusterId, clusterId);
  assert.equal(config.hubPublicKey, hub.hubKeys.publicKey, "the hub key is peering's");
  assert.equal(config.hubEndpoint, `${HUB_UNDERLAY_IP}:${WG_PORT}`);

  // A second edge (another cluster's Secret) with the same token is refused.
  const second = await runEdge("bootstrap", { ...bootEnv, EDGE_SECRET_NAME: "second-edge-tunnel" });
  assert.equal(second.code, ExitCode.TokenAlreadyUsed, second.output);
  assert.match(second.output, /TOKEN_ALREADY_USED/);

  // Hub side: a real WireGuard peer with peering's key and the edge's public key.
  const hubPeer = await startPlainHubPeer(net, hub.hubKeys.privateKey, config.hubTunnelIp);
  await hubPeer.addPeer(data["public-key"]!, config.tunnelIp);

  // Edge side: `edge run` in the edge namespace, the kube-double reached through a relay on the same port.
  const [edgeHost] = net.edges;
  await edgeHost!.forward(k.kube.port, { host: "127.0.0.1", port: k.kube.port });
  const edgeKubeconfig = path.join(net.dir, "edge-kubeconfig.yaml");
  writeFileSync(edgeKubeconfig, k.kube.kubeconfig({ token: "edge-token", namespace: "daalu-edge" }));
  const agent = startEdgeRun(edgeHost!, {
    EDGE_KUBECONFIG: edgeKubeconfig,
    EDGE_NAMESPACE: "daalu-edge",
    EDGE_WG_INTERFACE: net.ifname("de"),
    EDGE_KEEPALIVE: "1",
    EDGE_HANDSHAKE_POLL: "200ms",
    EDGE_READY_MAX_HANDSHAKE_AGE: "4s",
    EDGE_PROBE_ADDR: "127.0.0.1:8081",
  });
  t.after(() => agent.kill());
  await agent.ready;

  await eventually(async () => assert.notEqual(await hubPeer.handshakeAgeS(data["public-key"]!), undefined, "hub saw a handshake"), { timeoutMs: 10_000, intervalMs: 200 });
  await eventually(async () => assert.equal((await readyz(edgeHost!)).status, 200), { timeoutMs: 5_000, intervalMs: 200 });

  // GetStatus from the hub's tunnel address works and reports the cluster.
  const fromHub = await getStatusFrom(net.hub, config);
  assert.equal(fromHub.ok, true, JSON.stringify(fromHub));
  assert.equal(fromHub.status!["apiReachable"], true);
  assert.ok(Number(fromHub.status!["nodeCount"]) > 0);
  assert.ok(Number(fromHub.status!["handshakeAgeSeconds"]) < 10);

  // From anywhere else (the edge's own namespace: source = the tunnel address) it is refused.
  const fromEdge = await getStatusFrom(edgeHost!, config);
  assert.deepEqual([fromEdge.ok, fromEdge.code], [false, "PermissionDenied"], JSON.stringify(fromEdge));

  // Egress cut: no more handshakes, /readyz goes 503 once the last one is older than 4 s.
  await edgeHost!.cutEgress();
  const notReady = await eventually(
    async () => {
      const r = await readyz(edgeHost!);
      assert.equal(r.status, 503);
      return r;
    },
    { timeoutMs: 20_000, intervalMs: 300 },
  );
  assert.match(notReady.body.reason, /last handshake \d+s ago \(limit 4s\)/);
  await edgeHost!.restoreEgress();

  // SIGTERM: exit 0 and the interface is gone (the tunnel dies with the pod).
  assert.equal(await agent.stop(), 0, agent.output());
  const links = await edgeHost!.exec("ip", ["-o", "link", "show"]);
  assert.ok(!links.includes(net.ifname("de")), "the edge interface was deleted");
});
