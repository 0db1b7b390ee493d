/**
 * The hub, the edge and the customer's API server for `bench proxy`, every
 * service a process of its own as in production.
 *
 * WireGuard (default): an e2e Netns with a hub namespace (the hub host) and
 * one edge namespace (the customer's cluster). The hub namespace runs a
 * nats-server of this run (JetStream), gateway (TLS), invite, peering with
 * the hub WireGuard node (wireguard-go), tunnel-proxy and audit, so NATS
 * traffic never leaves the namespace's loopback; PostgreSQL (the shared
 * server, a database of this run) is reached through e2e's relay, which
 * carries only audit batches and start-up queries. The edge namespace runs
 * the kube-double as the API server, then the real `edge bootstrap` (against
 * the gateway's public address over the underlay) and `edge run`
 * (wireguard-go); the tunnel-proxy dials the edge's tunnel address through
 * WireGuard.
 *
 * Loopback (`--loopback`): the same processes in the bench's namespace, no
 * WireGuard: the edge is its gRPC server alone (bench/lib/edge-proxy.ts) on
 * 127.0.0.1, which the tunnel-proxy reaches through
 * TUNNEL_PROXY_EDGE_ADDR_OVERRIDE.
 *
 * `compiled`: the hub's services and the edge run as the images run them
 * (scripts/build.sh's dist/, `node --conditions=daalu-dist
 * --enable-source-maps`), not through tsx; the caller builds first
 * (buildOnce). The kube-double and the bench's helpers stay on tsx.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import type { TLSSocket } from "node:tls";
import path from "node:path";
import { Pool } from "undici";
import { HUB_SERVICES, startStack, type StackOptions } from "@daalu/stack";
import { setup, type ServiceProcess } from "@daalu/testing";
import { EDGE_DIST_MAIN, EDGE_MAIN, startEdgeRun, WG_PORT } from "../../e2e/edge-host.js";
import { COMPILED_NODE_FLAGS, freePort } from "@daalu/runtime";
import { HUB_UNDERLAY_IP, Netns } from "../../e2e/netns.js";
import { findPids, type Watched } from "./cpu.js";
import { gatewayTls, type GatewayTlsFiles } from "./gateway-tls.js";
import { cleanUpOnExit, connector, nsPlace, readyFields, rootPlace, tlsDial, type Place } from "./places.js";

const TENANT = "bench";
const SECRET = "daalu-edge-tunnel";
const START_TIMEOUT_MS = 60_000;

export interface ProxyWorld {
  mode: "wireguard" | "loopback";
  topology: string[];
  clusterId: string;
  /** A viewer API token of the tenant (what a read-only kubectl user holds). */
  viewerToken: string;
  /** The tenant admin's API token (sessions need operator or admin). */
  adminToken: string;
  databaseUrl: string;
  /** The gateway over TLS: `/k8s/clusters/<id>/...`. */
  gateway: Pool;
  /** The API server over TLS, dialled where the edge runs. */
  apiServer: Pool;
  /** One fresh TLS connection to the gateway / the API server (for upgraded sessions), as the Pools dial theirs. */
  dialGateway(): Promise<TLSSocket>;
  dialApiServer(): Promise<TLSSocket>;
  /** Where the hub's services and the edge run, this run's nats-server, the edge's tunnel address (WireGuard only). */
  hub: Place;
  edge: Place;
  natsUrl: string;
  edgeTunnelIp?: string;
  /** The API server as the edge reaches it (inside `edge`), and the gateway's certificate files and CA. */
  kube: { url: string; caFile: string; ca: string; token: string };
  gatewayTls: GatewayTlsFiles;
  gatewayCa: string;
  /** Starts `entry` in `place` with the services' environment; listed in watched() and logs() as `label`, stopped with the world. */
  service(place: Place, label: string, entry: string, env: Record<string, string>): ServiceProcess;
  /** The processes whose CPU the bench reports (re-read each time: PostgreSQL backends come and go). */
  watched(): Watched[];
  /** Recent output of every service (or those whose label starts with `only`), for an error report. */
  logs(only?: string): string;
  stop(): Promise<void>;
}

async function within<T>(p: Promise<T>, what: string, logs: (only?: string) => string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`${what}: no answer within ${START_TIMEOUT_MS} ms\n${logs()}`)), START_TIMEOUT_MS)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(t);
  }
}

/** Polls until 127.0.0.1:port accepts connections inside `place`. */
async function listening(place: Place, port: number, what: string): Promise<void> {
  const until = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    try {
      (await place.dial(port)).destroy();
      return;
    } catch (err) {
      if (Date.now() > until) throw new Error(`${what} does not listen on ${port} in ${place.where}: ${(err as Error).message}`, { cause: err });
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * `sessions`: the API server also serves the bench's session targets
 * (kube-api.ts BENCH_KUBE_SESSIONS: exec and port-forward allowed to the
 * edge's proxy account, a blob server behind default/nginx port 80).
 */
export async function startProxyWorld(opts: { wireguard: boolean; concurrency: number; sessions?: boolean; compiled?: boolean }): Promise<ProxyWorld> {
  const stops: Array<() => Promise<unknown> | unknown> = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await Promise.resolve().then(s).catch(() => undefined);
  };
  const named: Array<{ label: string; where: string; p: ServiceProcess }> = [];
  const logs = (only?: string) =>
    named
      .filter((n) => !only || n.label.startsWith(only))
      .map((n) => `--- ${n.label}:\n${n.p.output().slice(-2500)}`)
      .join("\n");
  cleanUpOnExit();
  try {
    const env = await setup();
    stops.push(() => env.cleanup());
    // The bench process talks to no service over NATS; the services use this run's own server.
    await env.nc.drain();

    let net: Netns | undefined;
    let hub: Place;
    let edge: Place;
    let dir: string;
    let hubDialer: (() => number | undefined) | undefined;
    let edgeDialer: (() => number | undefined) | undefined;
    if (opts.wireguard) {
      net = await Netns.create(1);
      const n = net;
      stops.push(() => n.cleanup());
      const h = nsPlace(n.hub, `hub netns ${n.hub.ns}`);
      const e = nsPlace(n.edges[0]!, `edge netns ${n.edges[0]!.ns}`);
      hub = h;
      edge = e;
      hubDialer = h.dialerPid;
      edgeDialer = e.dialerPid;
      dir = n.dir;
      await n.hub.forwardUrls(env.databaseUrl);
    } else {
      hub = edge = rootPlace();
      const d = mkdtempSync(path.join(tmpdir(), "bench-proxy-"));
      const rm = () => rmSync(d, { recursive: true, force: true });
      // Also when the bench is interrupted (places.ts turns SIGINT/SIGTERM into exit).
      process.once("exit", rm);
      stops.push(() => {
        process.removeListener("exit", rm);
        rm();
      });
      dir = d;
    }

    // NATS of this run, on the hub's loopback.
    const natsPort = opts.wireguard ? 4222 : await freePort();
    const nats = hub.run("nats-server", ["-a", "127.0.0.1", "-p", String(natsPort), "-js", "-sd", path.join(dir, "nats")]);
    stops.push(() => nats.kill("SIGKILL"));
    await listening(hub, natsPort, "nats-server");
    const natsUrl = `nats://127.0.0.1:${natsPort}`;
    const base = { ...env.env, NATS_URL: natsUrl, LOG_LEVEL: "info" };
    const svc = (place: Place, label: string, entry: string, e: Record<string, string>) => {
      const p = place.service(entry, { ...base, ...e });
      named.push({ label, where: place.where, p });
      stops.push(() => p.stop());
      return p;
    };
    // The hub's services, in the hub's place (its namespace with WireGuard).
    const hubStack = (o: Pick<StackOptions, "services" | "serviceEnv" | "hubKeyDir" | "hubEndpoint" | "wireguard" | "gateway" | "tenant">) =>
      within(
        startStack({ databaseUrl: env.databaseUrl, natsUrl, prefix: env.prefix, env: base, compiled: opts.compiled ?? false, ...(net ? { netns: Object.fromEntries(HUB_SERVICES.map((h) => [h, net!.hub])) } : {}), readyTimeoutMs: START_TIMEOUT_MS, ...o }),
        `${o.services?.join(", ")}`,
        logs,
      ).then((st) => {
        stops.push(() => st.stop());
        for (const p of st.processes) named.push({ label: p.name.replace(/-1$/, ""), where: hub.where, p });
        return st;
      });

    const kube = svc(edge, "kube-double (API server)", "bench/lib/kube-api.ts", { BENCH_KUBE_DIR: dir, BENCH_KUBE_PORT: opts.wireguard ? "6443" : "0", ...(opts.sessions ? { BENCH_KUBE_SESSIONS: "1" } : {}) });
    const kubePort = Number((await within(readyFields(kube), "kube-double", logs))["port"]);
    const kubeCa = readFileSync(path.join(dir, "kube-ca.pem"), "utf8");

    const gwPort = opts.wireguard ? 8443 : await freePort();
    const publicUrl = `https://${opts.wireguard ? HUB_UNDERLAY_IP : "127.0.0.1"}:${gwPort}`;
    const tls = gatewayTls(dir, ["127.0.0.1", HUB_UNDERLAY_IP]);
    const gwCa = readFileSync(tls.caFile, "utf8");
    const hubIface = net?.ifname("dh");
    const edgeIface = net?.ifname("de");

    const hubServices = await hubStack({
      services: ["peering", "invite", "gateway", "audit"],
      hubKeyDir: dir,
      hubEndpoint: `${HUB_UNDERLAY_IP}:${WG_PORT}`,
      ...(hubIface ? { wireguard: { interface: hubIface, backend: "wireguard-go", port: WG_PORT } } : {}),
      gateway: { listen: `${opts.wireguard ? "0.0.0.0" : "127.0.0.1"}:${gwPort}`, publicUrl, tls },
      tenant: { id: TENANT, viewer: true },
    });
    const adminToken = hubServices.adminToken!;
    const viewerToken = hubServices.viewerToken!;

    const gateway = new Pool("https://127.0.0.1", { connections: opts.concurrency, connect: connector(hub, gwPort, gwCa) });
    stops.push(() => gateway.close());
    const apiServer = new Pool("https://127.0.0.1", { connections: opts.concurrency, connect: connector(edge, kubePort, kubeCa) });
    stops.push(() => apiServer.close());
    const api = async (method: "GET" | "POST", p: string, body?: unknown) => {
      const r = await gateway.request({ method, path: p, headers: { authorization: `Bearer ${adminToken}`, ...(body ? { "content-type": "application/json" } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
      return { status: r.statusCode, body: (await r.body.json()) as { cluster: { id: string; status: string; tunnelIp: string }; token: string } };
    };
    const created = await api("POST", "/v1/clusters", { name: "bench" });
    if (created.status !== 201) throw new Error(`create cluster: ${created.status} ${JSON.stringify(created.body)}`);
    const clusterId = created.body.cluster.id;

    const topology: string[] = [];
    let edgeTunnelIp: string | undefined;
    const tpEnv: Record<string, string> = {};
    if (net && edgeIface) {
      // The Job: redeems the invite over the underlay, writes the tunnel Secret.
      const boot = edge.run(process.execPath, [...(opts.compiled ? [...COMPILED_NODE_FLAGS, EDGE_DIST_MAIN] : ["--import", "tsx", EDGE_MAIN]), "bootstrap"], {
        EDGE_KUBECONFIG: path.join(dir, "kube-bootstrap.yaml"),
        EDGE_NAMESPACE: "daalu-edge",
        EDGE_SECRET_NAME: SECRET,
        EDGE_HUB_URL: publicUrl,
        EDGE_HUB_CA_FILE: tls.caFile,
        EDGE_BOOTSTRAP_TOKEN: created.body.token,
        LOG_LEVEL: "warn",
      });
      const code = await within(new Promise<number | null>((r) => boot.once("exit", r)), "edge bootstrap", logs);
      if (code !== 0) throw new Error(`edge bootstrap exited ${code}`);
      const edgeEnv = {
        EDGE_KUBECONFIG: path.join(dir, "kube-edge.yaml"),
        EDGE_NAMESPACE: "daalu-edge",
        EDGE_SECRET_NAME: SECRET,
        EDGE_WG_INTERFACE: edgeIface,
        EDGE_WG_BACKEND: "wireguard-go",
        EDGE_PROBE_ADDR: "127.0.0.1:8081",
      };
      const agent = startEdgeRun(net.edges[0]!, edgeEnv, { compiled: opts.compiled ?? false });
      named.push({ label: "edge run", where: edge.where, p: agent });
      stops.push(() => agent.stop());
      await within(agent.ready, "edge run", logs);
      const until = Date.now() + START_TIMEOUT_MS;
      let row: { status: string; tunnelIp: string };
      for (;;) {
        row = (await api("GET", `/v1/clusters/${clusterId}`)).body.cluster;
        if (String(row.status).toUpperCase() === "CONNECTED") break;
        if (Date.now() > until) throw new Error(`cluster not CONNECTED (status ${row.status})\n${logs()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      edgeTunnelIp = row.tunnelIp;
      topology.push(
        `topology: WIREGUARD (wireguard-go on both ends, no kernel module), every service its own process, the hub's and the edge ${opts.compiled ? "compiled (dist/, as the images run them)" : "through tsx"}`,
        `  ${hub.where} (underlay ${HUB_UNDERLAY_IP}): gateway (https :${gwPort}), nats-server of this run (JetStream), tunnel-proxy, audit, peering + hub WireGuard node (${hubIface}, udp ${WG_PORT}), invite (idle)`,
        `  ${edge.where} (underlay ${net.edges[0]!.addr}): edge run (${edgeIface}, tunnel ${row.tunnelIp}, gRPC :7443 on the tunnel address), kube-double API server (https 127.0.0.1:${kubePort})`,
        `  tunnel call: load generator -TLS-> gateway -> NATS -> tunnel-proxy -gRPC-> ${row.tunnelIp}:7443 over WireGuard (veth/bridge) -> edge -TLS-> API server`,
        `  direct call: load generator -TLS-> API server (sockets connected inside ${edge.where}; no relay), same token as the edge`,
        `  the load generator (this process) holds ${opts.concurrency} keep-alive connections per target, opened inside the target's namespace by a dial helper (no relay copies request bytes)`,
        `  PostgreSQL: the shared server (database ${new URL(env.databaseUrl).pathname.slice(1)}), reached from ${hub.where} through e2e's relay (relay.ts + this process): audit batches and start-up only`,
      );
    } else {
      const edgeProc = svc(edge, "edge gRPC server (no WireGuard)", "bench/lib/edge-proxy.ts", { BENCH_API_SERVER: `https://127.0.0.1:${kubePort}`, BENCH_API_CA_FILE: path.join(dir, "kube-ca.pem"), BENCH_API_TOKEN: "edge-proxy-token" });
      const edgePort = Number((await within(readyFields(edgeProc), "edge gRPC server", logs))["port"]);
      topology.push(
        `topology: LOOPBACK, no WireGuard, every service its own process in the bench's namespace, the hub's ${opts.compiled ? "compiled (dist/), the edge's gRPC server through tsx" : "through tsx"}`,
        `  gateway (https :${gwPort}), nats-server of this run (JetStream :${natsPort}), tunnel-proxy, audit, peering (no WireGuard node), invite (idle)`,
        `  edge: its gRPC server alone (startStatusServer + Proxy, bench/lib/edge-proxy.ts) on 127.0.0.1:${edgePort}, reached via TUNNEL_PROXY_EDGE_ADDR_OVERRIDE; kube-double API server (https 127.0.0.1:${kubePort})`,
        "  tunnel call: load generator -TLS-> gateway -> NATS -> tunnel-proxy -gRPC (loopback)-> edge -TLS-> API server",
        "  direct call: load generator -TLS-> API server, same token as the edge",
        "  PostgreSQL: the shared server (a database of this run)",
      );
      tpEnv["TUNNEL_PROXY_EDGE_ADDR_OVERRIDE"] = `${clusterId}=127.0.0.1:${edgePort}`;
    }
    const tp = (await hubStack({ services: ["tunnel-proxy"], serviceEnv: { "tunnel-proxy": tpEnv } })).process("tunnel-proxy");
    const overrides = (await readyFields(tp))["overrides"];
    topology.push(`  tunnel-proxy reports ${String(overrides)} TUNNEL_PROXY_EDGE_ADDR_OVERRIDE entr${overrides === 1 ? "y" : "ies"}`);
    topology.push("  the machine's cores are shared by every process above and by anything else running on it");

    const dbName = new URL(env.databaseUrl).pathname.slice(1);
    const sockDir = net?.dir;
    return {
      mode: opts.wireguard ? "wireguard" : "loopback",
      topology,
      clusterId,
      viewerToken,
      adminToken,
      dialGateway: () => tlsDial(hub, gwPort, gwCa),
      dialApiServer: () => tlsDial(edge, kubePort, kubeCa),
      databaseUrl: env.databaseUrl,
      hub,
      edge,
      natsUrl,
      ...(edgeTunnelIp ? { edgeTunnelIp } : {}),
      kube: { url: `https://127.0.0.1:${kubePort}`, caFile: path.join(dir, "kube-ca.pem"), ca: kubeCa, token: "edge-proxy-token" },
      gatewayTls: tls,
      gatewayCa: gwCa,
      service: svc,
      gateway,
      apiServer,
      watched() {
        const w: Watched[] = named.filter((n) => n.p.child.pid).map((n) => ({ label: n.label, where: n.where.split(" ").slice(0, 2).join(" "), pid: n.p.child.pid! }));
        const where = (p: Place) => p.where.split(" ").slice(0, 2).join(" ");
        w.push({ label: "nats-server", where: where(hub), pid: nats.pid! });
        for (const [iface, place] of [[hubIface, hub], [edgeIface, edge]] as const) {
          if (iface) for (const pid of findPids((c) => c.includes("wireguard-go") && c.includes(iface))) w.push({ label: `wireguard-go ${place === hub ? "hub" : "edge"}`, where: where(place), pid });
        }
        for (const pid of findPids((c) => c.startsWith("postgres:") && c.includes(` ${dbName} `))) w.push({ label: "postgres backends (this db)", where: "bench netns", pid });
        if (sockDir) for (const pid of findPids((c) => c.includes("e2e/relay.ts") && c.includes(sockDir))) w.push({ label: "PG relay (test plumbing)", where: where(hub), pid });
        for (const [d, role, place] of [[hubDialer, "hub", hub], [edgeDialer, "edge", edge]] as const) {
          const pid = d?.();
          if (pid) w.push({ label: `dial helper ${role} (test plumbing)`, where: where(place), pid });
        }
        w.push({ label: "bench (load generator)", where: "bench netns", pid: process.pid });
        return w;
      },
      logs,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
