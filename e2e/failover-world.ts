/**
 * The multi-hub world of issue 14 (e2e/hub-failover.test.ts, bench/failover.ts):
 * K hub nodes, each its own network namespace on the lan (192.0.2.1…) running
 * peering with its WireGuard node (PEERING_WG=on, PEERING_NODE_ID) and a
 * tunnel-proxy (TUNNEL_PROXY_NODE_ID), all with the one hub key and
 * PEERING_HUB_ENDPOINTS = every node in order; invite, audit and the gateway
 * as processes on loopback; one Kubernetes API-server double; N edges, each
 * bootstrapped and run as the chart does (tunnel-world.ts), so they start on
 * node 0. Nodes are killed (SIGKILL of everything in the namespace, the node's
 * wireguard-go included, or the namespace's link cut), restored and drained
 * (SIGTERM) here; `startLoad()` keeps GETs flowing through the gateway to every
 * cluster and counts what was answered, for the audit comparison.
 */
import assert from "node:assert/strict";
import pg from "pg";
import { peeringClient } from "@daalu/peering";
import { CallerKind, peeringv1 } from "@daalu/proto";
import { eventually, setup, type TestEnv } from "@daalu/testing";
import { ExitCode } from "@daalu/edge";
import { runEdge, secretData, startKube } from "../edge/test/helpers.js";
import { startEdgeRun, WG_PORT } from "./edge-host.js";
import { startHubStack, type HubStack } from "./hub-stack.js";
import { hubUnderlayIp, Netns, type NsHost } from "./netns.js";
import { edgeKubeAccess, latestHandshakes, secretName } from "./tunnel-world.js";

type Kube = Awaited<ReturnType<typeof startKube>>;

/** Why the failover itself cannot be exercised yet: the Cluster message has no home node (issue 14's peering not merged). */
export function homeNodeMissing(): string | undefined {
  return peeringv1.ClusterSchema.fields.some((f) => f.name === "home_node") ? undefined : "the Cluster message has no home_node yet (issue 14's hub-node failover in peering is not merged)";
}

export interface FailoverCluster {
  id: string;
  host: NsHost;
  agent: ReturnType<typeof startEdgeRun>;
}

export interface ClusterView {
  status: string;
  homeNode: string;
}

export interface FailoverWorld {
  env: TestEnv;
  net: Netns;
  hub: HubStack;
  kube: Kube;
  /** PEERING_NODE_ID of node i. */
  nodeIds: string[];
  /** Node i's WireGuard interface (in its namespace). */
  ifaces: string[];
  clusters: FailoverCluster[];
  /**
   * A cluster as peering's Cluster message has it, read as the tenant's operator (status CONNECTED, …; homeNode "" when none).
   * `timeoutMs` (default 10 s): a poll right after a kill may reach the dead node's peering before NATS has dropped its subscription.
   */
  view(clusterId: string, timeoutMs?: number): Promise<ClusterView>;
  /** One GET through the gateway's /k8s; resolves with the HTTP status (0: no answer within `timeoutMs`, default 10 s). */
  call(clusterId: string, timeoutMs?: number): Promise<number>;
  /** Rows in audit.calls for the cluster with a 2xx status. */
  auditOk(clusterId: string): Promise<number>;
  /** Node i dies: every process in its namespace SIGKILLed ("kill"), or its link cut ("cut"). */
  killNode(i: number, how?: "kill" | "cut"): Promise<void>;
  /** Brings node i back as killNode left it: its peering and tunnel-proxy started again (ready), or its link up. */
  restoreNode(i: number, how?: "kill" | "cut"): Promise<void>;
  /** SIGTERMs node i's peering (its drain), then its tunnel-proxy; resolves when both exited. */
  drainNode(i: number): Promise<void>;
  /** Peers node i's WireGuard interface holds, and the epoch ms of each one's latest handshake (0: never). */
  handshakes(i: number): Promise<Map<string, number>>;
  stop(): Promise<void>;
}

/** What the failover setup is tuned by (defaults: 2 hub nodes, 3 edges, the production edge timers). */
export interface FailoverOptions {
  hubs?: number;
  edges?: number;
  peeringEnv?: Record<string, string>;
  /** Node i's own peering settings, over `peeringEnv` (e.g. rebalancing on one node only). */
  peeringEnvOf?: (node: number) => Record<string, string>;
  edgeEnv?: Record<string, string>;
}

/** The GET the load and the re-home check issue: small, audited, answered by the double for any namespace. */
const LOAD_PATH = "/api/v1/namespaces/default/pods?limit=1";

/** A call's outcome with the gateway's Daalu-Error-Reason ("TIMEOUT": no answer in time; "" on success). */
export interface CallOutcome {
  status: number;
  reason: string;
}

/** One GET of the load through the gateway's /k8s (status 0 and reason TIMEOUT when nothing came back within `timeoutMs`). */
async function gatewayGet(hub: HubStack, clusterId: string, timeoutMs: number): Promise<CallOutcome> {
  try {
    const r = await fetch(`${hub.gatewayUrl}/k8s/clusters/${clusterId}${LOAD_PATH}`, { headers: { authorization: `Bearer ${hub.adminToken}` }, signal: AbortSignal.timeout(timeoutMs) });
    await r.arrayBuffer();
    return { status: r.status, reason: r.headers.get("daalu-error-reason") ?? "" };
  } catch (err) {
    return { status: 0, reason: (err as Error).name === "TimeoutError" ? "TIMEOUT" : String((err as Error).message) };
  }
}

/** Builds the world; on failure it removes what it made. `stop()` removes everything. */
export async function startFailoverWorld(o: FailoverOptions = {}): Promise<FailoverWorld> {
  const hubs = o.hubs ?? 2;
  const edges = o.edges ?? 3;
  const cleanups: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  };
  try {
    const env = await setup();
    cleanups.push(() => env.cleanup());
    const net = await Netns.create(edges, { hubs });
    cleanups.push(() => net.cleanup());
    await Promise.all(net.hubs.map((h) => h.forwardUrls(env.databaseUrl, env.natsUrl)));
    const nodeIds = net.hubs.map((_, i) => `node-${i}`);
    const ifaces = net.hubs.map((_, i) => net.ifname(`dh${i}`));
    const kube = await startKube();
    cleanups.push(() => kube.close());
    // Rebalancing off unless a test turns it on: every edge starts on node 0 and stays there until a node fails.
    const peeringEnv = { PEERING_HEALTH_INTERVAL: "300ms", PEERING_PROBE_INTERVAL: "2s", PEERING_REBALANCE_PER_SECOND: "0", ...o.peeringEnv };
    const peeringEnvOf = o.peeringEnvOf;
    const hub = await startHubStack(env, net.dir, {
      hubEndpoint: `${hubUnderlayIp(0)}:${WG_PORT}`,
      services: ["peering", "invite", "audit", "tunnel-proxy", "gateway"],
      wireguard: { backend: "wireguard-go", port: WG_PORT },
      hubNodes: net.hubs.map((h, i) => ({ id: nodeIds[i]!, endpoint: `${h.addr}:${WG_PORT}`, netns: h, wgInterface: ifaces[i]! })),
      peeringEnv,
      serviceEnv: { audit: { AUDIT_GRPC_ADDR: "off", AUDIT_BATCH_WAIT: "5ms" }, ...(peeringEnvOf ? { peering: (i: number) => ({ ...peeringEnv, ...peeringEnvOf(i) }) } : {}) },
    });
    cleanups.push(() => hub.stop());

    const kubeconfig = await edgeKubeAccess(net, kube, edges);

    const clusters: FailoverCluster[] = [];
    for (let i = 0; i < edges; i++) {
      const created = await hub.api("POST", "/v1/clusters", { name: `failover-${i}` });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const id = created.body.cluster.id as string;
      const boot = await runEdge("bootstrap", { EDGE_KUBECONFIG: kube.bootstrapKubeconfig, EDGE_NAMESPACE: "daalu-edge", EDGE_SECRET_NAME: secretName(i), EDGE_HUB_URL: hub.gatewayUrl, EDGE_BOOTSTRAP_TOKEN: created.body.token });
      assert.equal(boot.code, ExitCode.Ok, boot.output);
      assert.ok(secretData(kube.kube, secretName(i))?.["tunnel.json"], "tunnel Secret written");
      const host = net.edges[i]!;
      const agent = startEdgeRun(host, { EDGE_KUBECONFIG: kubeconfig, EDGE_NAMESPACE: "daalu-edge", EDGE_SECRET_NAME: secretName(i), EDGE_WG_INTERFACE: net.ifname(`de${i}`), EDGE_PROBE_ADDR: "127.0.0.1:8081", ...o.edgeEnv });
      cleanups.push(() => agent.kill());
      clusters.push({ id, host, agent });
    }

    // The Cluster message itself (home_node), as the gateway reads it for the REST API.
    const operator = peeringClient(env.nc, { prefix: env.prefix, defaults: { tenantId: hub.tenant, caller: { kind: CallerKind.USER, id: "failover-test" }, timeoutMs: 10_000 } });
    const pool = new pg.Pool({ connectionString: env.databaseUrl, max: 2 });
    pool.on("error", () => undefined); // the test database is dropped at cleanup
    cleanups.push(() => pool.end());

    return {
      env,
      net,
      hub,
      kube,
      nodeIds,
      ifaces,
      clusters,
      async view(clusterId, timeoutMs = 10_000) {
        const c = (await operator.getCluster({ clusterId }, { timeoutMs })).cluster!;
        return { status: peeringv1.ClusterStatus[c.status] ?? String(c.status), homeNode: (c as { homeNode?: string }).homeNode ?? "" };
      },
      async call(clusterId, timeoutMs = 10_000) {
        return (await gatewayGet(hub, clusterId, timeoutMs)).status;
      },
      async auditOk(clusterId) {
        return (await pool.query<{ n: number }>("select count(*)::int as n from audit.calls where cluster_id = $1 and status_code between 200 and 299", [clusterId])).rows[0]!.n;
      },
      async killNode(i, how = "kill") {
        if (how === "cut") await net.hubs[i]!.cutEgress();
        else await net.hubs[i]!.killProcesses();
      },
      async restoreNode(i, how = "kill") {
        if (how === "cut") return net.hubs[i]!.restoreEgress();
        await Promise.all([hub.respawn("peering", i).ready, hub.respawn("tunnel-proxy", i).ready]);
      },
      async drainNode(i) {
        await hub.process("peering", i).stop();
        await hub.process("tunnel-proxy", i).stop();
      },
      handshakes: (i) => latestHandshakes(net.hubs[i]!, ifaces[i]!),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Waits until every cluster is CONNECTED and answers a call; the error carries the edges' and node 0's logs.
 * A call is given 3 s: until tunnel-proxies subscribe by home node, one on a node without the tunnel takes
 * some calls and cannot answer them.
 */
export async function allConnected(w: FailoverWorld, timeoutMs = 90_000): Promise<void> {
  try {
    // Each cluster on its own: one slow call (a node not carrying the tunnel) does not restart the others.
    await Promise.all(
      w.clusters.map((c) =>
        eventually(
          async () => {
            assert.equal((await w.view(c.id)).status, "CONNECTED", `cluster ${c.id}`);
            assert.equal(await w.call(c.id, 3_000), 200, `a call to ${c.id}`);
          },
          { timeoutMs, intervalMs: 250 },
        ),
      ),
    );
  } catch (err) {
    const tail = (s: string) => s.slice(-3000);
    throw new Error(`${(err as Error).message}\n--- edge logs:\n${w.clusters.map((c) => tail(c.agent.output())).join("\n---\n")}\n--- peering-1 log:\n${tail(w.hub.process("peering", 0).output())}`, { cause: err });
  }
}

/** Issue 14's bound: from losing a node to its clusters answering through another. */
export const REHOME_LIMIT_MS = 30_000;

/**
 * From `from` (just before the kill) until the cluster's home is another node, it is CONNECTED and a call is answered.
 * Each read of the Cluster gets 2 s: the first one, right after a kill, can be queued to the killed node's peering
 * (its NATS subscription outlives it by a few ms) and never be answered; with the client's 10 s default that lost
 * request alone made a 7 s re-home read as 10 s in about half the rounds (bench failover, 2026-12-03).
 */
export async function rehomed(w: FailoverWorld, clusterId: string, killed: string, from: number, timeoutMs = REHOME_LIMIT_MS + 30_000): Promise<number> {
  let ms = 0;
  await eventually(
    async () => {
      const v = await w.view(clusterId, 2_000);
      assert.ok(v.homeNode && v.homeNode !== killed, `home of ${clusterId} is ${v.homeNode || "none"}`);
      assert.equal(v.status, "CONNECTED");
      assert.equal(await w.call(clusterId), 200);
      ms = Date.now() - from;
    },
    { timeoutMs, intervalMs: 100 },
  );
  return ms;
}

/** One call of the load. */
export interface LoadCall {
  clusterId: string;
  at: number;
  ms: number;
  status: number;
  /** The gateway's Daalu-Error-Reason of a failed call (TIMEOUT: none within the caller's 10 s). */
  reason?: string;
}

export interface Load {
  calls: LoadCall[];
  /** Calls answered 2xx for a cluster (all clusters without an id). */
  ok(clusterId?: string): number;
  /** Calls not answered 2xx since `from` (epoch ms). */
  failedSince(from: number, clusterId?: string): LoadCall[];
  /** Stops the callers; resolves when their last calls are answered. */
  stop(): Promise<void>;
}

/** One sequential caller per cluster, a GET every `gapMs` after the previous answer. */
export function startLoad(w: FailoverWorld, gapMs = 100): Load {
  const calls: LoadCall[] = [];
  let running = true;
  const loops = w.clusters.map(async (c) => {
    while (running) {
      const at = Date.now();
      const { status, reason } = await gatewayGet(w.hub, c.id, 10_000);
      calls.push({ clusterId: c.id, at, ms: Date.now() - at, status, ...(reason ? { reason } : {}) });
      await new Promise((r) => setTimeout(r, gapMs));
    }
  });
  const is2xx = (s: number) => s >= 200 && s < 300;
  return {
    calls,
    ok: (id) => calls.filter((c) => is2xx(c.status) && (!id || c.clusterId === id)).length,
    failedSince: (from, id) => calls.filter((c) => c.at >= from && !is2xx(c.status) && (!id || c.clusterId === id)),
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/**
 * Audit rows missing against the calls the load saw answered 2xx, per cluster, summed
 * (polled until none is missing or `timeoutMs` passes: the audit writer batches).
 */
export async function auditRowsMissing(w: FailoverWorld, load: Load, timeoutMs = 15_000): Promise<number> {
  const missing = async () => {
    let n = 0;
    for (const c of w.clusters) n += Math.max(0, load.ok(c.id) - (await w.auditOk(c.id)));
    return n;
  };
  const deadline = Date.now() + timeoutMs;
  let m = await missing();
  while (m > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    m = await missing();
  }
  return m;
}

/** A cluster's home node as seen at a time. */
export interface HomeSeen {
  at: number;
  node: string;
}

export interface HomeWatch {
  /** Per cluster, every change of its home node (Cluster.home_node), in order. */
  seen: Map<string, HomeSeen[]>;
  /** Each poll in which one cluster was listed by two nodes (peering's ListHomedClusters, where it exists). */
  violations: string[];
  /** Polls made (Cluster messages, and per node where ListHomedClusters exists). */
  polls: number;
  stop(): Promise<void>;
}

type ListHomed = (req: { nodeId: string }) => Promise<{ clusters: Array<{ clusterId: string; homeEpoch: bigint }> }>;

/**
 * Polls every cluster's home node (its Cluster message), and every node's list of
 * the clusters it carries (ListHomedClusters, the tunnel-proxies' source) when
 * peering has it: no cluster may ever be carried by two nodes at once.
 */
export function watchHomes(w: FailoverWorld, intervalMs = 150): HomeWatch {
  const seen = new Map<string, HomeSeen[]>(w.clusters.map((c) => [c.id, []]));
  const violations: string[] = [];
  const client = peeringClient(w.env.nc, { prefix: w.env.prefix, defaults: { caller: { kind: CallerKind.SERVICE, id: "tunnel-proxy" }, timeoutMs: 5_000 } });
  const listHomed = (client as unknown as { listHomedClusters?: ListHomed }).listHomedClusters;
  let running = true;
  const watch: HomeWatch = {
    seen,
    violations,
    polls: 0,
    async stop() {
      running = false;
      await loop;
    },
  };
  const loop = (async () => {
    while (running) {
      for (const c of w.clusters) {
        const home = (await w.view(c.id, 2_000).catch(() => undefined))?.homeNode;
        const list = seen.get(c.id)!;
        if (home && list.at(-1)?.node !== home) list.push({ at: Date.now(), node: home });
      }
      if (listHomed) {
        // The lists are read one node at a time, so a cluster that moves between two reads shows on both, each with
        // its own epoch (a move increments it). Two nodes carrying it at once is the same cluster, same epoch, twice.
        const carriers = new Map<string, string[]>();
        const lists = await Promise.all(w.nodeIds.map((nodeId) => listHomed.call(client, { nodeId }).catch(() => ({ clusters: [] }))));
        lists.forEach((l, i) => l.clusters.forEach((c) => carriers.set(`${c.clusterId} epoch ${c.homeEpoch}`, [...(carriers.get(`${c.clusterId} epoch ${c.homeEpoch}`) ?? []), w.nodeIds[i]!])));
        for (const [id, nodes] of carriers) if (nodes.length > 1) violations.push(`${new Date().toISOString()} ${id} carried by ${nodes.join(" and ")}`);
      }
      watch.polls++;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return watch;
}
