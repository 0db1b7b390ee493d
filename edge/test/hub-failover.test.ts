/**
 * Several hub nodes, the edge's side: on hub silence (EDGE_HUB_SILENCE) the
 * agent re-adds its hub peer at the NEXT endpoint (round-robin over the
 * Secret's hub_endpoints, a host name with several addresses counting as
 * several), and learns new endpoints from the hub's GetStatus probe without a
 * new Secret, and moves when the hub asks it to (rebalancing: GetStatusRequest.move_to_endpoint,
 * confirmed in the answer, applied after it). The device is a recording double (no WireGuard needed): what is
 * asserted is exactly what the agent asks the device for.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { edgev1 } from "@daalu/proto";
import { createLogger, grpcClient } from "@daalu/runtime";
import { eventually } from "@daalu/testing";
import { generateKeyPair, type PeerConfig, type PeerStatus, type WgDevice } from "@daalu/wireguard";
import { EdgeAgent } from "../src/agent.js";
import { loadConfig, type RunConfig } from "../src/config.js";
import type { TunnelConfig } from "../src/domain/tunnel-config.js";

const logger = createLogger("edge-test", "silent");
const hub = generateKeyPair();
const edgeKeys = generateKeyPair();

/** A device that records every endpoint the hub peer is given and never hears from the hub (silence), unless `hears`. */
function recordingDevice(resolved: Record<string, string> = {}, hears = false) {
  const endpoints: string[] = [];
  let peer: PeerConfig | undefined;
  let rx = 0;
  const record = (p: PeerConfig) => {
    if (hears && peer) endpoints.push("(peer replaced without removal)");
    peer = p;
    if (p.endpoint) endpoints.push(p.endpoint);
  };
  const device: WgDevice = {
    name: "dle-test",
    backend: "wireguard-go",
    configure: async (o) => o.peers?.forEach(record),
    setPeer: async (p) => record(p),
    setPeers: async (set) => set.forEach(record),
    removePeer: async () => {
      peer = undefined;
    },
    peers: async (): Promise<PeerStatus[]> =>
      peer ? [{ publicKey: peer.publicKey, endpoint: resolved[peer.endpoint ?? ""] ?? peer.endpoint, allowedIps: peer.allowedIps, lastHandshakeMs: hears ? Date.now() : 0, rxBytes: hears ? ++rx : 0, txBytes: 0, persistentKeepaliveSeconds: 25 }] : [],
    addAddress: async () => undefined,
    removeAddress: async () => undefined,
    addRoute: async () => undefined,
    addAddresses: async () => undefined,
    addRoutes: async () => new Map(),
    removeRoute: async () => undefined,
    close: async () => undefined,
  };
  return { device, endpoints };
}

function startAgent(t: { after(fn: () => Promise<unknown>): void }, hubEndpoints: string[], opts: { resolved?: Record<string, string>; resolve?: (l: readonly string[]) => Promise<string[]>; hearsHub?: boolean } = {}) {
  const grpcPort = 40_000 + Math.floor(Math.random() * 10_000);
  const cfg = loadConfig("run", { EDGE_KUBECONFIG: "/dev/null", EDGE_NAMESPACE: "daalu-edge", EDGE_HUB_SILENCE: "300ms", EDGE_HUB_NUDGE: "0", EDGE_HANDSHAKE_POLL: "50ms", EDGE_GRPC_PORT: String(grpcPort) }) as RunConfig;
  const config: TunnelConfig = {
    tenantId: "acme",
    clusterId: "0b6f3c0e-4d2a-4f7e-9a51-3c1f3f0a9d11",
    clusterName: "prod",
    // 127.0.0.2 plays the tunnel address; a loopback client from 127.0.0.1 plays the hub.
    tunnelIp: "127.0.0.2",
    subnet: "127.0.0.0/24",
    hubTunnelIp: "127.0.0.1",
    hubPublicKey: hub.publicKey,
    hubEndpoint: hubEndpoints[0]!,
    hubEndpoints,
    keepaliveSeconds: 25,
  };
  const { device, endpoints } = recordingDevice(opts.resolved, opts.hearsHub);
  const agent = new EdgeAgent(cfg, logger, {
    kube: {
      namespace: "daalu-edge",
      secretName: "daalu-edge-tunnel",
      readTunnelSecret: async () => ({ state: "complete", config, ...edgeKeys }),
      clusterFacts: async () => ({ kubernetesVersion: "v1.31.0", nodeCount: 1, nodesReady: 1 }),
    },
    openDevice: async () => device,
    replaceRoute: async () => undefined,
    nudge: async () => undefined,
    goodbye: async () => "",
    resolveEndpoints: opts.resolve ?? (async (l) => [...l]),
  });
  agent.start();
  t.after(() => agent.stop());
  return { agent, endpoints, grpcPort };
}

test("hub silence moves the edge to the next hub endpoint, round-robin", { timeout: 30_000 }, async (t) => {
  const { endpoints } = startAgent(t, ["192.0.2.1:51820", "192.0.2.2:51820", "192.0.2.3:51820"]);
  await eventually(() => assert.ok(endpoints.length >= 4, endpoints.join(" ")), { timeoutMs: 10_000, intervalMs: 50 });
  assert.deepEqual(endpoints.slice(0, 4), ["192.0.2.1:51820", "192.0.2.2:51820", "192.0.2.3:51820", "192.0.2.1:51820"]);
});

test("one endpoint: silence re-adds the same one (a restarted hub), as before several nodes", { timeout: 30_000 }, async (t) => {
  const { endpoints } = startAgent(t, ["192.0.2.1:51820"]);
  await eventually(() => assert.ok(endpoints.length >= 3), { timeoutMs: 10_000, intervalMs: 50 });
  assert.deepEqual(new Set(endpoints), new Set(["192.0.2.1:51820"]));
});

test("a host name with several addresses counts as several endpoints", { timeout: 30_000 }, async (t) => {
  const name = "hubs.example:51820";
  const { endpoints } = startAgent(t, [name], {
    // The device reports the address the driver resolved the name to.
    resolved: { [name]: "192.0.2.1:51820" },
    resolve: async (l) => l.flatMap((e) => (e === name ? ["192.0.2.1:51820", "192.0.2.2:51820"] : [e])),
  });
  await eventually(() => assert.ok(endpoints.length >= 3), { timeoutMs: 10_000, intervalMs: 50 });
  assert.deepEqual(endpoints.slice(0, 3), [name, "192.0.2.2:51820", "192.0.2.1:51820"]);
});

test("the hub's probe teaches the edge a new node's endpoint; the next silence may move there", { timeout: 30_000 }, async (t) => {
  const { endpoints, grpcPort } = startAgent(t, ["192.0.2.1:51820"]);
  await eventually(() => assert.ok(endpoints.length >= 1));
  const client = grpcClient(`127.0.0.2:${grpcPort}`, edgev1.EdgeService);
  t.after(async () => client.close());
  const s = await eventually(() => client.getStatus({ hubEndpoints: ["192.0.2.1:51820", "192.0.2.9:51820"] }), { timeoutMs: 10_000, intervalMs: 100 });
  assert.equal(s.apiReachable, true);
  const from = endpoints.length;
  await eventually(() => assert.ok(endpoints.slice(from).includes("192.0.2.9:51820"), endpoints.join(" ")), { timeoutMs: 10_000, intervalMs: 50 });
});

test("the hub asks the edge to move (rebalancing): confirmed in the answer, then the hub peer re-created at that endpoint; anything else changes nothing", { timeout: 30_000 }, async (t) => {
  const [a, b] = ["192.0.2.1:51820", "192.0.2.2:51820"];
  const { endpoints, grpcPort } = startAgent(t, [a, b], { hearsHub: true });
  await eventually(() => assert.ok(endpoints.length >= 1, "the tunnel is configured"));
  const client = grpcClient(`127.0.0.2:${grpcPort}`, edgev1.EdgeService);
  t.after(async () => client.close());
  const ask = (moveToEndpoint: string, hubEndpoints = [a, b]) => client.getStatus({ hubEndpoints, moveToEndpoint });
  await eventually(() => ask(""), { timeoutMs: 10_000, intervalMs: 100 });
  // An older hub (no field), an endpoint not in the request's list, the one in use, an empty list: the edge stays.
  for (const [to, list] of [["", [a, b]], ["192.0.2.9:51820", [a, b]], [a, [a, b]], [b, []]] as const) assert.equal((await ask(to, [...list])).movingToEndpoint, "", `asked to move to "${to}"`);
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(endpoints, [a], "nothing moved (the hub is heard: no silence move either)");

  const s = await ask(b);
  assert.equal(s.movingToEndpoint, b, "confirmed");
  assert.equal(s.apiReachable, true, "the usual status with it");
  assert.deepEqual(endpoints, [a], "not before the answer went out");
  await eventually(() => assert.deepEqual(endpoints, [a, b], "re-created (removed, then set) at the new endpoint"), { timeoutMs: 5_000, intervalMs: 20 });
  assert.equal((await ask(b)).movingToEndpoint, "", "already there");
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(endpoints, [a, b], "moved once");
});
