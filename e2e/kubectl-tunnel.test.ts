/**
 * The real kubectl through the hub and the real WireGuard tunnel:
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
 * The cases are the loopback suite's (services/gateway/test/kubectl-cases.ts):
 * every command of the issue compared with kubectl straight at the API server,
 * Forbidden verbatim, one audit row per call, `logs -f` and `get -w` cancelled
 * by killing kubectl (the API server's request ends). On top: tenant B's user
 * refused tenant A's cluster, the bytes crossing the WireGuard interface, and
 * an audit row for every request kubectl logged through the hub.
 *
 * Peering probes the edge (GetStatus: GET /version and a node list, with the
 * edge's token) at a random point of PEERING_PROBE_INTERVAL; the interval is
 * an hour so probes stay out of the way, and any probe that still lands is
 * told apart from proxied calls by its node list without `limit`.
 */
import { after, before, describe, test } from "node:test";
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
import { Kubectl, kubectlCases, type KubectlCasesContext } from "../services/gateway/test/kubectl-cases.js";
import { startEdgeRun, WG_PORT } from "./edge-host.js";
import { freePort, startHubStack } from "./hub-stack.js";
import { e2eSkipReason, HUB_UNDERLAY_IP, Netns } from "./netns.js";

const skip = e2eSkipReason();

interface World {
  cases: KubectlCasesContext;
  clusterId: string;
  /** https URL of the TLS gateway kubectl talks to. */
  gatewayUrl: string;
  dispatcher: Agent;
  /** Tenant A's (acme) viewer token, in the hub kubeconfig. */
  viewerToken: string;
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
}

/** Everything stopped in reverse order of start, each step even if an earlier one fails. */
const cleanups: (() => unknown)[] = [];

async function startWorld(): Promise<World> {
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
      await createTenant(store, "globex");
      const other = (await createApiToken(store, "globex", "e2e-globex-admin", { role: "admin" })).token;
      return { viewer, other };
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
  const { viewer, other } = await tokens;

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
    viewerToken: viewer,
    otherTenantToken: other,
    net,
    hubIface,
    dir,
    readyAt,
    tunnelProxy,
    audit,
    sql,
  };
  process.stderr.write(`# world up: ${marks.join(", ")}\n`);
  return world;
}

/** A service's log lines at warn level and above. */
const warnings = (p: ServiceProcess) =>
  p
    .output()
    .split("\n")
    .filter((l) => /"level":[4-6]\d/.test(l))
    .join("\n")
    .slice(-4000);

/** rx/tx bytes of the hub's WireGuard interface (all peers). */
async function wgTransfer(w: World): Promise<{ rx: number; tx: number }> {
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

describe("kubectl through the hub and a real WireGuard tunnel", { skip }, () => {
  let w: World;
  before(async () => {
    w = await startWorld();
  }, { timeout: 180_000 });
  after(async () => {
    for (const f of cleanups.reverse()) {
      try {
        await f();
      } catch {
        // keep cleaning up
      }
    }
  });

  test("the calls cross the WireGuard interface", async () => {
    const before = await wgTransfer(w);
    const r = await w.cases.hub.run(["get", "pods", "-A", "-o", "yaml"]);
    assert.equal(r.code, 0, r.err);
    const after = await wgTransfer(w);
    // The hub receives the answer through the tunnel: at least its payload in rx.
    assert.ok(after.rx - before.rx >= r.out.length, `rx grew by ${after.rx - before.rx} bytes for ${r.out.length} bytes of output`);
    assert.ok(after.tx > before.tx, "requests went out through the tunnel");
  });

  kubectlCases(() => w.cases);

  test("tenant B's user is refused tenant A's cluster (404), by kubectl too", async () => {
    const raw = await request(`${w.gatewayUrl}/k8s/clusters/${w.clusterId}/api/v1/pods`, { dispatcher: w.dispatcher, headers: { authorization: `Bearer ${w.otherTenantToken}` } });
    const body = (await raw.body.json()) as { kind: string; details: { causes: { reason: string }[] } };
    assert.equal(raw.statusCode, 404);
    assert.equal(body.kind, "Status");
    assert.equal(body.details.causes[0]!.reason, "CLUSTER_NOT_FOUND");
    const kc = await request(`${w.gatewayUrl}/v1/clusters/${w.clusterId}/kubeconfig`, { dispatcher: w.dispatcher, headers: { authorization: `Bearer ${w.otherTenantToken}` } });
    await kc.body.dump();
    assert.equal(kc.statusCode, 404);

    // Tenant A's kubeconfig with tenant B's token: kubectl gets the same 404.
    const mine = readFileSync(w.cases.hub.kubeconfig, "utf8");
    assert.ok(mine.includes(w.viewerToken));
    const theirs = path.join(w.dir, "other-tenant.kubeconfig");
    writeFileSync(theirs, mine.replace(w.viewerToken, w.otherTenantToken), { mode: 0o600 });
    const refused = await new Kubectl(theirs, path.join(w.dir, "other.cache")).run(["get", "pods"]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.err, /NotFound|could not find the requested resource/, refused.err);
    assert.equal(refused.out, "");
    // Refused at the gateway: nothing went through the tunnel for tenant B.
    assert.equal((await w.sql("select count(*)::int as n from audit.calls where tenant_id = 'globex'")).rows[0].n, 0);
  });

  test("every request kubectl made through the hub has its audit row", async (t) => {
    const logged = w.cases.hub.requests;
    assert.ok(logged.length > 50, `kubectl logged ${logged.length} requests`);
    const prefix = `/k8s/clusters/${w.clusterId}`;
    const want = new Map<string, number>();
    for (const q of logged) {
      assert.ok(q.path.startsWith(prefix), q.path);
      const key = `${q.method} ${q.path.slice(prefix.length)} ${q.status}`;
      want.set(key, (want.get(key) ?? 0) + 1);
    }
    const rowsOf = async () => {
      const r = await w.sql("select verb, path, status_code from audit.calls where cluster_id = $1 and time >= $2", [w.clusterId, w.readyAt]);
      const got = new Map<string, number>();
      for (const row of r.rows as { verb: string; path: string; status_code: number }[]) {
        const key = `GET ${row.path} ${row.status_code}`;
        got.set(key, (got.get(key) ?? 0) + 1);
      }
      return got;
    };
    const got = await eventually(async () => {
      const g = await rowsOf();
      for (const [k, n] of want) assert.ok((g.get(k) ?? 0) >= n, `${k}: ${n} logged by kubectl, ${g.get(k) ?? 0} audit rows`);
      return g;
    }).catch((err) => {
      // A missing row is worth the services' own account of it.
      throw new Error(`${(err as Error).message}\n--- audit warnings:\n${warnings(w.audit)}\n--- tunnel-proxy warnings:\n${warnings(w.tunnelProxy)}`);
    });
    // Beyond kubectl's own log, only GET /version: the kubectl dispatcher (some
    // packagings) asks the server's version with a client that does not log.
    let extra = 0;
    for (const [k, n] of got) {
      if ((want.get(k) ?? 0) === n) continue;
      assert.match(k, /^GET \/version 200$/, `unexpected audit rows: ${k} ×${n - (want.get(k) ?? 0)}`);
      extra += n - (want.get(k) ?? 0);
    }
    t.diagnostic(`${logged.length} requests logged by kubectl through the hub, each with its audit row; ${extra} more rows for the dispatcher's GET /version`);
  });
});
