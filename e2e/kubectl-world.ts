/**
 * The world of the kubectl e2e tests (kubectl-tunnel, sessions-tunnel): the real kubectl through the hub and the
 * real WireGuard tunnel:
 *
 *   kubectl ─https─▶ gateway (GATEWAY_TLS_*) ─NATS─▶ tunnel-proxy (hub netns)
 *     ─gRPC over wireguard-go─▶ edge `run` (edge netns) ─▶ kube-double
 *
 * Every hub service is its own process: peering with its WireGuard hub node
 * and the tunnel-proxy in the hub namespace (PostgreSQL and NATS through
 * relays), invite, audit and two gateways on loopback (the hub stack's plain
 * one, which the edge bootstraps against, and a TLS one for kubectl, which
 * sends bearer tokens only over https). The tunnel-proxy runs without
 * TUNNEL_PROXY_EDGE_ADDR_OVERRIDE: it dials the cluster's tunnel address that
 * peering allocated, which only the WireGuard interface routes. The edge
 * reaches its API server (the kube-double, on the test's loopback) through a
 * relay on its namespace's loopback, like the other e2e tests.
 *
 * Peering probes the edge (GetStatus: GET /version and a node list, with the
 * edge's token) at a random point of PEERING_PROBE_INTERVAL; the interval is
 * an hour so probes stay out of the way, and any probe that still lands is
 * told apart from proxied calls by its node list without `limit`.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { Agent, request } from "undici";
import { EDGE_USER, defaultPolicy, selfSignedTls, type RequestRecord } from "@daalu/kube-double";
import { eventually, setup, spawnService, type ServiceProcess } from "@daalu/testing";
import { ExitCode } from "@daalu/edge";
import { runEdge, secretData, startKube } from "../edge/test/helpers.js";
import { createApiToken, createTenant, openGatewayStore } from "@daalu/gateway";
import { Kubectl, type KubectlCasesContext } from "../services/gateway/test/kubectl-cases.js";
import { startEdgeRun, WG_PORT } from "./edge-host.js";
import { freePort, startHubStack } from "./hub-stack.js";
import { HUB_UNDERLAY_IP, Netns } from "./netns.js";

export interface World {
  cases: KubectlCasesContext;
  clusterId: string;
  /** https URL of the TLS gateway kubectl talks to. */
  gatewayUrl: string;
  dispatcher: Agent;
  /** The TLS gateway's CA (kubectl trusts it through the hub kubeconfig). */
  ca: string;
  /** Tenant A's (acme) viewer token, in the hub kubeconfig; an operator's and an Assistant's (role operator). */
  viewerToken: string;
  operatorToken: string;
  assistantToken: string;
  /** Tenant B's (globex) admin token. */
  otherTenantToken: string;
  net: Netns;
  hubIface: string;
  dir: string;
  /** When the tunnel answered the first call; every audit row of the cases is newer. */
  readyAt: Date;
  tunnelProxy: ServiceProcess;
  audit: ServiceProcess;
  sql(q: string, params?: unknown[]): Promise<pg.QueryResult>;
  /** The hub kubeconfig with another token instead of the viewer's, written to `name`.kubeconfig in dir. */
  kubeconfigWith(token: string, name: string): string;
}

/** Everything stopped in reverse order of start, each step even if an earlier one fails. */
const cleanups: (() => unknown)[] = [];

/** Stops what startWorld started, in reverse order, each step even if an earlier one fails. */
export async function runCleanups(): Promise<void> {
  for (const f of cleanups.splice(0).reverse()) {
    try {
      await f();
    } catch {
      // keep cleaning up
    }
  }
}

export async function startWorld(): Promise<World> {
  const started = Date.now();
  const marks: string[] = [];
  const mark = (what: string) => marks.push(`${what} ${((Date.now() - started) / 1000).toFixed(1)}s`);
  const env = await setup();
  cleanups.push(() => env.cleanup());
  const net = await Netns.create(1);
  cleanups.push(() => net.cleanup());
  const dir = net.dir;
  await net.hub.forwardUrls(env.databaseUrl, env.natsUrl);
  const base = { ...env.env, LOG_LEVEL: "info" };
  const hubIface = net.ifname("dh");

  const kube = await startKube();
  cleanups.push(() => kube.close());
  // Every hub service a process: peering (with the hub node) and the tunnel-proxy in the hub namespace.
  const hub = await startHubStack(env, dir, {
    hubEndpoint: `${HUB_UNDERLAY_IP}:${WG_PORT}`,
    services: ["peering", "invite", "audit", "tunnel-proxy", "gateway"],
    peeringEnv: { PEERING_WG: "true", PEERING_WG_INTERFACE: hubIface, PEERING_WG_BACKEND: "wireguard-go", PEERING_WG_PORT: String(WG_PORT), PEERING_PROBE_INTERVAL: "1h" },
    serviceEnv: { audit: { AUDIT_GRPC_ADDR: "off", AUDIT_BATCH_WAIT: "5ms" } },
    netns: { peering: net.hub, "tunnel-proxy": net.hub },
  });
  cleanups.push(() => hub.stop());
  const audit = hub.process("audit");
  const tunnelProxy = hub.process("tunnel-proxy");
  mark("hub stack");

  // The gateway kubectl talks to: the same service with a certificate (the hub stack's serves plain http).
  const tls = selfSignedTls();
  writeFileSync(path.join(dir, "tls.crt"), tls.cert);
  writeFileSync(path.join(dir, "tls.key"), tls.key, { mode: 0o600 });
  writeFileSync(path.join(dir, "ca.crt"), tls.ca);
  const gatewayUrl = `https://127.0.0.1:${await freePort()}`;
  const tlsGateway = spawnService("gateway", {
    ...base,
    GATEWAY_LISTEN: new URL(gatewayUrl).host,
    GATEWAY_PUBLIC_URL: gatewayUrl,
    GATEWAY_TLS_CERT_FILE: path.join(dir, "tls.crt"),
    GATEWAY_TLS_KEY_FILE: path.join(dir, "tls.key"),
    GATEWAY_TLS_CA_FILE: path.join(dir, "ca.crt"),
  });
  cleanups.push(() => tlsGateway.stop());
  // Tokens straight in the gateway's store (what the admin CLI does), without a CLI process each.
  const tokens = (async () => {
    const store = await openGatewayStore(env.databaseUrl, { poolSize: 1 });
    try {
      const viewer = (await createApiToken(store, hub.tenant, "e2e-viewer", { role: "viewer" })).token;
      const operator = (await createApiToken(store, hub.tenant, "e2e-operator", { role: "operator" })).token;
      const assistant = (await createApiToken(store, hub.tenant, "e2e-assistant", { role: "operator", kind: "assistant" })).token;
      await createTenant(store, "globex");
      const other = (await createApiToken(store, "globex", "e2e-globex-admin", { role: "admin" })).token;
      return { viewer, other, operator, assistant };
    } finally {
      await store.close();
    }
  })();
  tokens.catch(() => undefined); // awaited below; a failure there fails the setup

  // Add cluster → bootstrap (the Job) → run (the Deployment) in the edge namespace.
  const secretName = "daalu-edge-tunnel";
  kube.kube.setRbac(EDGE_USER, [...defaultPolicy()[EDGE_USER]!, { apiGroups: [""], resources: ["secrets"], resourceNames: [secretName], verbs: ["get"], namespaces: ["daalu-edge"] }]);
  const created = await hub.api("POST", "/v1/clusters", { name: "prod-eu" });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const clusterId = created.body.cluster.id as string;
  const boot = await runEdge("bootstrap", { EDGE_KUBECONFIG: kube.bootstrapKubeconfig, EDGE_NAMESPACE: "daalu-edge", EDGE_SECRET_NAME: secretName, EDGE_HUB_URL: hub.gatewayUrl, EDGE_BOOTSTRAP_TOKEN: created.body.token });
  assert.equal(boot.code, ExitCode.Ok, boot.output);
  assert.ok(secretData(kube.kube, secretName)?.["tunnel.json"], "tunnel Secret written");
  mark("bootstrapped");
  const edgeHost = net.edges[0]!;
  await edgeHost.forward(kube.kube.port, { host: "127.0.0.1", port: kube.kube.port });
  const edgeKubeconfig = path.join(dir, "edge-kubeconfig.yaml");
  writeFileSync(edgeKubeconfig, kube.kube.kubeconfig({ token: "edge-token", namespace: "daalu-edge" }));
  const edge = startEdgeRun(edgeHost, { EDGE_KUBECONFIG: edgeKubeconfig, EDGE_NAMESPACE: "daalu-edge", EDGE_SECRET_NAME: secretName, EDGE_WG_INTERFACE: net.ifname("de"), EDGE_PROBE_ADDR: "127.0.0.1:8081" });
  cleanups.push(() => edge.kill());
  await Promise.all([edge.ready, tlsGateway.ready]);
  mark("all ready");
  // No override: the tunnel-proxy finds the edge at its tunnel address.
  assert.match(tunnelProxy.output(), /"overrides":0,"msg":"ready"/);
  const { viewer, other, operator, assistant } = await tokens;

  const dispatcher = new Agent({ connect: { ca: tls.ca } });
  cleanups.push(() => dispatcher.close());
  // The first call waits for the first WireGuard handshake (the edge dials out).
  await eventually(
    async () => {
      const r = await request(`${gatewayUrl}/k8s/clusters/${clusterId}/version`, { dispatcher, headers: { authorization: `Bearer ${viewer}` } });
      const body = await r.body.text();
      assert.equal(r.statusCode, 200, body);
    },
    { timeoutMs: 20_000, intervalMs: 200 },
  );
  const readyAt = new Date();
  mark("first call through the tunnel");

  const kc = await request(`${gatewayUrl}/v1/clusters/${clusterId}/kubeconfig?token=include`, { dispatcher, headers: { authorization: `Bearer ${viewer}` } });
  const kcText = await kc.body.text();
  assert.equal(kc.statusCode, 200, kcText);
  assert.ok(kcText.includes(`server: "${gatewayUrl}/k8s/clusters/${clusterId}"`), kcText);
  writeFileSync(path.join(dir, "hub.kubeconfig"), kcText, { mode: 0o600 });
  writeFileSync(path.join(dir, "direct.kubeconfig"), kube.kube.kubeconfig({ token: "edge-proxy-token" }), { mode: 0o600 });

  const pool = new pg.Pool({ connectionString: env.databaseUrl, max: 2 });
  pool.on("error", () => undefined); // the test database is dropped at cleanup
  cleanups.push(() => pool.end());
  const hubKubectl = new Kubectl(path.join(dir, "hub.kubeconfig"), path.join(dir, "hub.cache"));
  const direct = new Kubectl(path.join(dir, "direct.kubeconfig"), path.join(dir, "direct.cache"));

  // Peering's GetStatus probe: the edge's own calls, with the same token as the proxied ones.
  const probeNodeList = (q: RequestRecord) => q.path === "/api/v1/nodes" && Object.keys(q.query).length === 0;
  const proxiedRequestsSince = (from: number) => {
    const seen = kube.kube.requests.slice(from);
    const probes = seen.filter(probeNodeList).length;
    // Each probe is one GET /version and one node list.
    return seen.length - 2 * probes;
  };
  const sql = (q: string, params?: unknown[]) => pool.query(q, params);
  const auditRows = async (where?: string) => (await sql(`select count(*)::int as n from audit.calls where cluster_id = $1${where ? ` and (${where})` : ""}`, [clusterId])).rows[0].n as number;

  const world: World = {
    cases: { hub: hubKubectl, direct, kube: kube.kube, auditRows, proxiedRequestsSince },
    clusterId,
    gatewayUrl,
    dispatcher,
    ca: tls.ca,
    viewerToken: viewer,
    operatorToken: operator,
    assistantToken: assistant,
    otherTenantToken: other,
    net,
    hubIface,
    dir,
    readyAt,
    tunnelProxy,
    audit,
    sql,
    kubeconfigWith(token, name) {
      const file = path.join(dir, `${name}.kubeconfig`);
      writeFileSync(file, readFileSync(path.join(dir, "hub.kubeconfig"), "utf8").replace(viewer, token), { mode: 0o600 });
      return file;
    },
  };
  process.stderr.write(`# world up: ${marks.join(", ")}\n`);
  return world;
}

/** A service's log lines at warn level and above. */
export const warnings = (p: ServiceProcess) =>
  p
    .output()
    .split("\n")
    .filter((l) => /"level":[4-6]\d/.test(l))
    .join("\n")
    .slice(-4000);

/** rx/tx bytes of the hub's WireGuard interface (all peers). */
export async function wgTransfer(w: Pick<World, "net" | "hubIface">): Promise<{ rx: number; tx: number }> {
  const out = await w.net.hub.exec("wg", ["show", w.hubIface, "transfer"]);
  let rx = 0;
  let tx = 0;
  for (const l of out.trim().split("\n").filter(Boolean)) {
    const [, r, t] = l.split("\t");
    rx += Number(r);
    tx += Number(t);
  }
  return { rx, tx };
}

