/**
 * `daalu clusters add NAME --wait` end to end: the real CLI bin adds a cluster
 * through the gateway, prints the helm command and waits; the edge (bootstrap
 * with the printed token, `edge run` in its own network namespace with
 * wireguard-go) dials the hub's WireGuard node (peering in the hub namespace);
 * the CLI exits 0 once the hub reports the cluster connected, with the
 * connected cluster as JSON. Needs root and wireguard-go, like every e2e test.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { EDGE_USER, defaultPolicy, startKubeDouble } from "@daalu/kube-double";
import { createLogger } from "@daalu/runtime";
import { setup } from "@daalu/testing";
import { bootstrap, KubeAccess, loadConfig, type BootstrapConfig } from "@daalu/edge";
import { buildBin, daalu } from "../packages/cli/test/run-cli.js";
import { startEdgeRun, WG_PORT } from "./edge-host.js";
import { startHubStack } from "./hub-stack.js";
import { e2eSkipReason, HUB_UNDERLAY_IP, Netns } from "./netns.js";

const skip = e2eSkipReason();

test("daalu clusters add --wait: helm command first, then exit 0 when the edge's tunnel is up and its API probed", { skip, timeout: 240_000 }, async (t) => {
  buildBin();
  const env = await setup();
  t.after(() => env.cleanup());
  const net = await Netns.create(1);
  t.after(() => net.cleanup());
  const kube = await startKubeDouble();
  t.after(() => kube.close());
  const dir = mkdtempSync(path.join(tmpdir(), "cli-wait-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await net.hub.forwardUrls(env.databaseUrl, env.natsUrl);
  const hub = await startHubStack(env, net.dir, {
    hubEndpoint: `${HUB_UNDERLAY_IP}:${WG_PORT}`,
    peeringEnv: { PEERING_WG: "true", PEERING_WG_INTERFACE: net.ifname("dh"), PEERING_WG_BACKEND: "wireguard-go", PEERING_WG_PORT: String(WG_PORT), PEERING_HEALTH_INTERVAL: "200ms", PEERING_PROBE_INTERVAL: "300ms" },
    peeringIn: net.hub,
  });
  t.after(() => hub.stop());

  // The customer's side, as helm installs it: the agent is up, waiting for its Secret.
  kube.setRbac(EDGE_USER, [...defaultPolicy()[EDGE_USER]!, { apiGroups: [""], resources: ["secrets"], verbs: ["get"], namespaces: ["daalu-edge"] }]);
  const edgeKubeconfig = path.join(net.dir, "edge.yaml");
  writeFileSync(edgeKubeconfig, kube.kubeconfig({ token: "edge-token", namespace: "daalu-edge" }));
  const bootKubeconfig = path.join(dir, "bootstrap.yaml");
  writeFileSync(bootKubeconfig, kube.kubeconfig({ token: "bootstrap-token", namespace: "daalu-edge" }));
  const [edgeHost] = net.edges;
  await edgeHost!.forward(kube.port, { host: "127.0.0.1", port: kube.port });
  const agent = startEdgeRun(edgeHost!, {
    EDGE_KUBECONFIG: edgeKubeconfig,
    EDGE_NAMESPACE: "daalu-edge",
    EDGE_WG_INTERFACE: net.ifname("de"),
    EDGE_PROBE_ADDR: "127.0.0.1:8081",
    EDGE_RETRY_BACKOFF: "100ms",
    EDGE_RETRY_BACKOFF_MAX: "200ms",
    LOG_LEVEL: "warn",
  });
  t.after(() => agent.stop());

  // The operator: `daalu clusters add --wait`; the helm command (stderr with -o json) carries the token.
  let booted: Promise<unknown> | undefined;
  const startedAt = Date.now();
  let tokenAt = 0;
  const run = await daalu(["clusters", "add", "cli-e2e", "--wait", "--timeout", "120s", "--poll-interval", "200ms", "-o", "json"], {
    env: { DAALU_HUB: hub.gatewayUrl, DAALU_TOKEN: hub.adminToken, DAALU_CONFIG: path.join(dir, "none.json"), NO_COLOR: "1" },
    timeoutMs: 180_000,
    onStderr: (all) => {
      const m = /--set bootstrap\.token=(dfi1_[A-Za-z0-9_-]+)/.exec(all);
      if (!m || booted) return;
      tokenAt = Date.now();
      // The bootstrap Job, with the token the CLI printed.
      const cfg = loadConfig("bootstrap", { EDGE_KUBECONFIG: bootKubeconfig, EDGE_NAMESPACE: "daalu-edge", EDGE_HUB_URL: hub.gatewayUrl, EDGE_BOOTSTRAP_TOKEN: m[1]! }) as BootstrapConfig;
      booted = KubeAccess.open(cfg.kube).then((store) => bootstrap(cfg, createLogger("bootstrap", "silent"), { store }));
    },
  });
  assert.ok(booted, `the helm command was printed before the CLI ended:\n${run.stderr}`);
  await booted;
  assert.equal(run.code, 0, `${run.stderr}\n${agent.output().slice(-3000)}`);
  const out = JSON.parse(run.stdout) as { cluster: { name: string; status: string; tunnelIp: string; apiReachable: boolean }; helmCommand: string };
  assert.equal(out.cluster.name, "cli-e2e");
  assert.equal(out.cluster.status, "connected");
  assert.equal(out.cluster.apiReachable, true);
  assert.match(run.stderr, /cli-e2e connected/);
  const row = await hub.api("GET", "/v1/clusters");
  assert.equal(row.body.clusters[0].status, "connected");
  t.diagnostic(`helm command after ${tokenAt - startedAt} ms; connected and CLI done after ${Date.now() - tokenAt} ms from the bootstrap`);
});
