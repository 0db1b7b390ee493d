/**
 * The world the tunnel e2e tests share: their own database and subject
 * prefix, namespaces (a hub with peering's WireGuard node, N edges), the hub
 * services as processes, a Kubernetes API-server double reached from every
 * edge namespace, and `enroll()` to add a cluster and start its edge as the
 * chart would (bootstrap, then run). Everything is removed in `t.after`.
 */
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { EDGE_USER, defaultPolicy } from "@daalu/kube-double";
import { eventually, setup, type ServiceProcess, type TestEnv } from "@daalu/testing";
import { ExitCode } from "@daalu/edge";
import { runEdge, secretData, startKube } from "../edge/test/helpers.js";
import { startEdgeRun, WG_PORT } from "./edge-host.js";
import { startHubStack, type HubStack } from "./hub-stack.js";
import { HUB_UNDERLAY_IP, Netns, type NsHost } from "./netns.js";

type Kube = Awaited<ReturnType<typeof startKube>>;
export type EdgeRun = ReturnType<typeof startEdgeRun>;

export interface Enrolled {
  clusterId: string;
  host: NsHost;
  config: { tunnelIp: string; hubTunnelIp: string };
  edgeEnv: Record<string, string>;
  agent: EdgeRun;
}

export interface World {
  env: TestEnv;
  net: Netns;
  hub: HubStack;
  kube: Kube;
  hubIface: string;
  /** The peering process running the hub node now (replaced by restartPeering). */
  peering: ServiceProcess;
  status(clusterId: string): Promise<string>;
  /** Creates a cluster, bootstraps edge `i` with its token, starts `edge run`. */
  enroll(name: string, i: number, extraEdgeEnv?: Record<string, string>): Promise<Enrolled>;
  /** Starts peering again with the same settings; resolves when it is ready. */
  restartPeering(): Promise<void>;
}

export const secretName = (i: number) => `daalu-edge-tunnel-${i}`;

/**
 * What the chart gives edges 0…n-1 of `net` in the API-server double: read access to their
 * tunnel Secrets (secretName(i)), a kubeconfig file (returned) and the double on each edge's loopback.
 */
export async function edgeKubeAccess(net: Netns, kube: Kube, n: number): Promise<string> {
  const names = Array.from({ length: n }, (_, i) => secretName(i));
  kube.kube.setRbac(EDGE_USER, [...defaultPolicy()[EDGE_USER]!, { apiGroups: [""], resources: ["secrets"], resourceNames: names, verbs: ["get"] as string[], namespaces: ["daalu-edge"] }]);
  const kubeconfig = path.join(net.dir, "edge-kubeconfig.yaml");
  writeFileSync(kubeconfig, kube.kube.kubeconfig({ token: "edge-token", namespace: "daalu-edge" }));
  await Promise.all(net.edges.map((e) => e.forward(kube.kube.port, { host: "127.0.0.1", port: kube.kube.port })));
  return kubeconfig;
}

export async function startWorld(t: TestContext, edges: number, peeringExtra: Record<string, string> = {}): Promise<World> {
  const env = await setup();
  t.after(() => env.cleanup());
  const net = await Netns.create(edges);
  t.after(() => net.cleanup());
  await net.hub.forwardUrls(env.databaseUrl, env.natsUrl);
  const hubIface = net.ifname("dh");
  const kubeStarting = startKube();
  const hubStarting = startHubStack(env, net.dir, {
    hubEndpoint: `${HUB_UNDERLAY_IP}:${WG_PORT}`,
    peeringEnv: {
      PEERING_WG: "true",
      PEERING_WG_INTERFACE: hubIface,
      PEERING_WG_BACKEND: "wireguard-go",
      PEERING_WG_PORT: String(WG_PORT),
      PEERING_HEALTH_INTERVAL: "300ms",
      ...peeringExtra,
    },
    peeringIn: net.hub,
  });
  const [hub, kube] = await Promise.all([hubStarting, kubeStarting]).catch(async (err) => {
    // Whichever came up is stopped before failing.
    await Promise.allSettled([hubStarting.then((h) => h.stop()), kubeStarting.then((k) => k.close())]);
    throw err;
  });
  t.after(() => hub.stop());
  t.after(() => kube.close());
  const kubeconfig = await edgeKubeAccess(net, kube, edges);

  const w: World = {
    env,
    net,
    hub,
    kube,
    hubIface,
    peering: hub.process("peering"),
    async status(clusterId) {
      return String((await hub.api("GET", `/v1/clusters/${clusterId}`)).body.cluster.status).toUpperCase();
    },
    async enroll(name, i, extraEdgeEnv = {}) {
      const created = await hub.api("POST", "/v1/clusters", { name });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const clusterId = created.body.cluster.id as string;
      const boot = await runEdge("bootstrap", { EDGE_KUBECONFIG: kube.bootstrapKubeconfig, EDGE_NAMESPACE: "daalu-edge", EDGE_SECRET_NAME: secretName(i), EDGE_HUB_URL: hub.gatewayUrl, EDGE_BOOTSTRAP_TOKEN: created.body.token });
      assert.equal(boot.code, ExitCode.Ok, boot.output);
      const data = secretData(kube.kube, secretName(i));
      assert.ok(data, "tunnel Secret exists");
      const config = JSON.parse(data["tunnel.json"]!) as Enrolled["config"];
      const host = net.edges[i]!;
      const edgeEnv = { EDGE_KUBECONFIG: kubeconfig, EDGE_NAMESPACE: "daalu-edge", EDGE_SECRET_NAME: secretName(i), EDGE_WG_INTERFACE: net.ifname(`de${i}`), EDGE_PROBE_ADDR: "127.0.0.1:8081", ...extraEdgeEnv };
      const agent = startEdgeRun(host, edgeEnv);
      t.after(() => agent.kill());
      return { clusterId, host, config, edgeEnv, agent };
    },
    async restartPeering() {
      // Stopped with the hub stack.
      const p = hub.respawn("peering");
      w.peering = p;
      await p.ready;
    },
  };
  return w;
}

/**
 * Waits until every cluster's row says CONNECTED. The first connection is
 * bounded generously (bench/connect.ts measures it; a loaded CI machine starts
 * node processes slowly); on timeout the error carries the edges' and the
 * hub's recent logs.
 */
export async function connected(w: World, ids: string[], agents: EdgeRun[], timeoutMs = 30_000): Promise<void> {
  try {
    await eventually(
      async () => {
        for (const id of ids) assert.equal(await w.status(id), "CONNECTED", `cluster ${id}`);
      },
      { timeoutMs, intervalMs: 200 },
    );
  } catch (err) {
    const tail = (s: string) => s.slice(-3000);
    throw new Error(`${(err as Error).message}\n--- edge logs:\n${agents.map((a) => tail(a.output())).join("\n---\n")}\n--- peering log:\n${tail(w.peering.output())}`, { cause: err });
  }
}

/** Epoch ms of each peer's latest handshake on the hub interface. */
export function hubHandshakes(w: World): Promise<Map<string, number>> {
  return latestHandshakes(w.net.hub, w.hubIface);
}

/** Epoch ms of each peer's latest handshake (0: never) on WireGuard interface `iface` in `host`'s namespace. */
export async function latestHandshakes(host: NsHost, iface: string): Promise<Map<string, number>> {
  const out = await host.exec("wg", ["show", iface, "latest-handshakes"]);
  return new Map(
    out
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => {
        const [key, ts] = l.split("\t");
        return [key!, Number(ts) * 1000];
      }),
  );
}


/** The pid of the wireguard-go serving `iface` (unique to this run), from /proc. */
export function wireguardGoPid(iface: string): number | undefined {
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0");
      if (path.basename(argv[0] ?? "") === "wireguard-go" && argv.includes(iface)) return Number(d);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}
