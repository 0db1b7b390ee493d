/**
 * Calls through the tunnel (issue 4): `kubectl get pods` as HTTP, through
 * gateway -> NATS -> tunnel-proxy -> edge -> API server (kube-double), versus
 * the same call direct to the API server, in one run, at fixed concurrency.
 *
 *   npm run bench -- proxy [--n 5000] [--warmup 500] [--concurrency 64] [--max-seconds 300]
 *
 * Topology (say so in the output): no WireGuard here — the edge's gRPC server
 * listens on loopback and the tunnel-proxy reaches it through
 * TUNNEL_PROXY_EDGE_ADDR_OVERRIDE. The tunnel-proxy runs as its own process
 * (main.ts, as in production); the gateway app, the edge's Proxy server, the
 * kube-double, peering, audit and the load generator share this process, so
 * the machine's 2 cores are shared by everything — overhead figures are upper
 * bounds for this box. Uses DATABASE_URL / NATS_URL like the tests.
 *
 * Ends with one line:
 *   RESULT {"bench":"proxy","direct_p50_ms":…,"tunnel_p50_ms":…,"overhead_p50_ms":…,"overhead_p99_ms":…,"calls_per_s":…,"audit_rows_missing":0}
 * audit_rows_missing counts tunnel calls (warm-up included) without a row in
 * audit.calls once the writer settled. Exit code 1 when it is not 0 or a call failed.
 */
import { performance } from "node:perf_hooks";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { Agent, Pool } from "undici";
import { CallerKind, invitev1, peeringv1 } from "@daalu/proto";
import { bindGrpc, createLogger, grpc, natsClient } from "@daalu/runtime";
import { setup, spawnService } from "@daalu/testing";
import { startKubeDouble } from "@daalu/kube-double";
import { createApiToken, createTenant, openGatewayStore } from "@daalu/gateway";
import { registerProxy } from "../edge/src/proxy/index.js";
import { Authenticator } from "../services/gateway/src/auth.js";
import { buildApp } from "../services/gateway/src/http/app.js";
import { k8sProxyPlugin } from "../services/gateway/src/http/k8s-proxy.js";

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a number`);
  return v;
}
const N = arg("n", 5000);
const WARMUP = arg("warmup", 500);
const CONCURRENCY = arg("concurrency", 64);
const MAX_SECONDS = arg("max-seconds", 300);
const deadline = Date.now() + MAX_SECONDS * 1000;
const log = (s: string) => process.stdout.write(`${s}\n`);
const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0);
const r2 = (x: number) => Math.round(x * 100) / 100;
const PATH = "/api/v1/namespaces/shop/pods";
const ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

async function load(count: number, call: () => Promise<number>): Promise<{ ms: number[]; failures: number; seconds: number }> {
  const ms: number[] = [];
  let failures = 0;
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next++ < count) {
      if (Date.now() > deadline) throw new Error(`bench exceeded --max-seconds ${MAX_SECONDS}`);
      const t = performance.now();
      const status = await call().catch(() => 0);
      ms.push(performance.now() - t);
      if (status !== 200) failures++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { ms: ms.sort((a, b) => a - b), failures, seconds: (performance.now() - t0) / 1000 };
}

async function main(): Promise<number> {
  const env = await setup();
  const quiet = { ...env.env, LOG_LEVEL: "warn" };
  const logger = createLogger("bench", "warn");
  const stops: (() => Promise<unknown>)[] = [];
  try {
    const store = await openGatewayStore(env.databaseUrl, { poolSize: 8 });
    stops.push(() => store.close());
    await createTenant(store, "bench");
    const token = (await createApiToken(store, "bench", "bencher", { role: "viewer" })).token;

    const peeringMod = await import("../services/peering/src/service.js");
    const peeringCfg = await import("../services/peering/src/config.js");
    const auditMod = await import("../services/audit/src/service.js");
    const auditCfg = await import("../services/audit/src/config.js");
    const peering = await peeringMod.start(peeringCfg.loadConfig({ ...quiet, PEERING_GRPC_ADDR: "off" }), logger);
    stops.push(() => peering.stop());
    const audit = await auditMod.start(auditCfg.loadConfig({ ...quiet, AUDIT_GRPC_ADDR: "off" }), logger);
    stops.push(() => audit.stop());

    const kube = await startKubeDouble();
    stops.push(() => kube.close());
    const edge = new grpc.Server();
    registerProxy(edge, { apiServer: { server: kube.url, ca: kube.ca!, token: "edge-token" }, logger });
    const edgeAddr = `127.0.0.1:${await bindGrpc(edge, "127.0.0.1:0")}`;
    stops.push(async () => edge.forceShutdown());

    const caller = { kind: CallerKind.SERVICE, id: "gateway" };
    const pc = natsClient(env.nc, peeringv1.PeeringService, { prefix: env.prefix, defaults: { caller } });
    const clusterId = (await pc.createCluster({ name: "bench" }, { tenantId: "bench" })).cluster!.id;

    const tp = spawnService("tunnel-proxy", { ...quiet, TUNNEL_PROXY_EDGE_ADDR_OVERRIDE: `${clusterId}=${edgeAddr}` });
    stops.push(() => tp.stop());
    await tp.ready;

    const auth = new Authenticator(store, 60_000, logger);
    const { app } = buildApp({ invite: natsClient(env.nc, invitev1.InviteService, { prefix: env.prefix, defaults: { caller } }), peering: pc, auth, logger, ready: async () => undefined, bodyLimit: 65536, bootstrapRate: 0, bootstrapBurst: 1 });
    await app.register(k8sProxyPlugin, { auth, peering: pc, nc: env.nc, natsPrefix: env.prefix, publicUrl: "http://127.0.0.1", logger });
    await app.listen({ host: "127.0.0.1", port: 0 });
    stops.push(() => app.close());
    const gwUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

    log(`proxy bench: n=${N} warmup=${WARMUP} concurrency=${CONCURRENCY} path=GET ${PATH} (Table, as kubectl get pods)`);
    log("topology: LOOPBACK, no WireGuard (edge gRPC on 127.0.0.1 via TUNNEL_PROXY_EDGE_ADDR_OVERRIDE); tunnel-proxy in its own process; gateway, edge, kube-double, peering, audit and the load generator share one process");

    const direct = new Pool(kube.url, { connections: CONCURRENCY, connect: { ca: kube.ca! } });
    const tunnel = new Pool(gwUrl, { connections: CONCURRENCY });
    stops.push(() => direct.close(), () => tunnel.close());
    const get = (p: Pool, path: string, auth: string) => async () => {
      const r = await p.request({ method: "GET", path, headers: { authorization: `Bearer ${auth}`, accept: ACCEPT, "user-agent": "kubectl/v1.32.4 (bench)" } });
      await r.body.arrayBuffer();
      return r.statusCode;
    };
    const callDirect = get(direct, PATH, "edge-token");
    const callTunnel = get(tunnel, `/k8s/clusters/${clusterId}${PATH}`, token);

    await load(WARMUP, callDirect);
    const w = await load(WARMUP, callTunnel);
    if (w.failures) throw new Error(`${w.failures} warm-up calls through the tunnel failed`);
    const d = await load(N, callDirect);
    const t = await load(N, callTunnel);
    const dp50 = pct(d.ms, 50), dp99 = pct(d.ms, 99), tp50 = pct(t.ms, 50), tp99 = pct(t.ms, 99);
    log(`direct: p50 ${r2(dp50)} ms  p99 ${r2(dp99)} ms  ${Math.round(N / d.seconds)} calls/s  failures ${d.failures}`);
    log(`tunnel: p50 ${r2(tp50)} ms  p99 ${r2(tp99)} ms  ${Math.round(N / t.seconds)} calls/s  failures ${t.failures}`);

    const expected = WARMUP + N;
    const db = new pg.Client({ connectionString: env.databaseUrl });
    await db.connect();
    let rows = 0;
    const until = Date.now() + 30_000;
    for (;;) {
      rows = (await db.query("select count(*)::int as n from audit.calls where cluster_id = $1", [clusterId])).rows[0].n;
      if (rows >= expected || Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await db.end();
    const missing = Math.max(0, expected - rows);
    log(`audit rows: ${rows} for ${expected} tunnel calls (extra ${Math.max(0, rows - expected)})`);
    const result = {
      bench: "proxy",
      direct_p50_ms: r2(dp50),
      tunnel_p50_ms: r2(tp50),
      overhead_p50_ms: r2(tp50 - dp50),
      overhead_p99_ms: r2(tp99 - dp99),
      calls_per_s: Math.round(N / t.seconds),
      audit_rows_missing: missing,
    };
    log(`RESULT ${JSON.stringify(result)}`);
    return missing === 0 && t.failures === 0 && d.failures === 0 ? 0 : 1;
  } finally {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    await env.cleanup().catch(() => undefined);
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
