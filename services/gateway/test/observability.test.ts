import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http, { type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { eventually, setup, type TestEnv } from "@daalu/testing";
import { parseHttpTargets } from "@daalu/edge/proxy";
import { startTunnelStack, type TunnelStack } from "../../tunnel-proxy/test/harness.js";
import { targetsPlugin } from "../src/http/targets.js";
import { http as call, seedTenant, type Tokens } from "./helpers.js";
import { startK8sGateway, type K8sGateway } from "./k8s-harness.js";

// An in-cluster "Prometheus" (a local server answering the real HTTP API
// shapes), registered on the edge as EDGE_HTTP_TARGETS would, queried through
// gateway -> NATS -> tunnel-proxy -> edge (loopback gRPC) -> the server.

let env: TestEnv;
let stack: TunnelStack;
let gw: K8sGateway;
let prom: http.Server;
let promUrl: string;
let acme: Tokens;
let globex: Tokens;
let cluster: string;
const seen: { url: string; headers: IncomingMessage["headers"] }[] = [];
const BIG = JSON.stringify({ status: "success", data: Array.from({ length: 4000 }, (_, i) => `series_${i}{job="node",instance="10.0.${i >> 8}.${i & 255}:9100"}`) });

/** Answers like Prometheus' HTTP API (https://prometheus.io/docs/prometheus/latest/querying/api/). */
function prometheus(req: IncomingMessage, res: http.ServerResponse): void {
  seen.push({ url: req.url ?? "", headers: req.headers });
  const u = new URL(req.url ?? "/", "http://x");
  res.setHeader("content-type", "application/json");
  if (u.pathname === "/api/v1/query") {
    const q = u.searchParams.get("query") ?? "";
    if (q !== "up") {
      res.writeHead(400).end(JSON.stringify({ status: "error", errorType: "bad_data", error: `invalid parameter "query": 1:1: parse error: unexpected character: '${q[0] ?? ""}'` }));
      return;
    }
    res.end(JSON.stringify({ status: "success", data: { resultType: "vector", result: [{ metric: { __name__: "up", instance: "localhost:9090", job: "prometheus" }, value: [1717243200.123, "1"] }, { metric: { __name__: "up", instance: "10.0.0.7:9100", job: "node" }, value: [1717243200.123, "0"] }] } }));
    return;
  }
  if (u.pathname === "/api/v1/series") {
    res.end(BIG);
    return;
  }
  res.writeHead(404).end("404 page not found\n");
}

before(async () => {
  env = await setup();
  acme = await seedTenant(env, "acme");
  globex = await seedTenant(env, "globex");
  prom = http.createServer(prometheus);
  await new Promise<void>((r) => prom.listen(0, "127.0.0.1", r));
  promUrl = `http://127.0.0.1:${(prom.address() as AddressInfo).port}`;
  const problems: string[] = [];
  const edgeTargets = parseHttpTargets(`prometheus=${promUrl.slice("http://".length)}`, problems);
  assert.deepEqual(problems, []);
  // A small unary buffer so that the large answer takes the streaming path.
  stack = await startTunnelStack(env, [{ tenant: "acme", name: "prod" }], { TUNNEL_PROXY_UNARY_BUFFER: "16384" }, { edgeTargets });
  cluster = stack.clusterIds[0]!;
  gw = await startK8sGateway(env, async ({ app, auth, logger }) => {
    await app.register(targetsPlugin, { auth, nc: env.nc, natsPrefix: env.prefix, logger });
  });
});
after(async () => {
  await gw?.close();
  await stack?.stop();
  prom?.close();
  await env?.cleanup();
});

async function raw(url: string, token?: string): Promise<{ status: number; type: string; body: Buffer }> {
  const r = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: r.status, type: r.headers.get("content-type") ?? "", body: Buffer.from(await r.arrayBuffer()) };
}
const through = (p: string, token = acme.viewer) => raw(`${gw.httpUrl}/v1/clusters/${cluster}/targets/prometheus${p}`, token);

test("a PromQL instant query returns what Prometheus returned, byte for byte, and is audited", async () => {
  const direct = await raw(`${promUrl}/api/v1/query?query=up`);
  const since = new Date().toISOString();
  const hub = await through("/api/v1/query?query=up");
  assert.equal(hub.status, 200);
  assert.equal(hub.type, direct.type);
  assert.ok(hub.body.equals(direct.body), hub.body.toString());
  const parsed = JSON.parse(hub.body.toString());
  assert.equal(parsed.data.resultType, "vector");
  assert.deepEqual(parsed.data.result.map((r: { value: [number, string] }) => r.value[1]), ["1", "0"]);
  // The query string reached Prometheus intact; the caller's token did not.
  const last = seen[seen.length - 1]!;
  assert.equal(last.url, "/api/v1/query?query=up");
  assert.equal(last.headers.authorization, undefined);
  await eventually(async () => assert.equal(await stack.auditRows(cluster, `time >= '${since}' and resource = 'prometheus' and path = '/api/v1/query' and status_code = 200 and caller_id = 'victor'`), 1));
});

test("Prometheus' own errors pass through unchanged", async () => {
  const q = `/api/v1/query?query=${encodeURIComponent("@@")}`;
  const direct = await raw(`${promUrl}${q}`);
  const hub = await through(q);
  assert.equal(hub.status, 400);
  assert.ok(hub.body.equals(direct.body));
  assert.equal(JSON.parse(hub.body.toString()).errorType, "bad_data");
});

test("an answer larger than the hub's unary buffer streams through unchanged", async () => {
  const hub = await through("/api/v1/series?match[]=up");
  assert.equal(hub.status, 200);
  assert.equal(hub.body.length, Buffer.byteLength(BIG));
  assert.ok(hub.body.equals(Buffer.from(BIG)));
});

test("a target the edge does not list, or a path outside its prefixes, is refused before anything is sent", async () => {
  const n = seen.length;
  const grafana = await call(gw.httpUrl, "GET", `/v1/clusters/${cluster}/targets/grafana/api/health`, { token: acme.viewer });
  assert.equal(grafana.status, 403);
  assert.match(grafana.type, /^application\/problem\+json/);
  assert.match(grafana.body.detail, /target "grafana" is not registered on this edge/);
  const admin = await call(gw.httpUrl, "GET", `/v1/clusters/${cluster}/targets/prometheus/api/v1/admin/tsdb/snapshot`, { token: acme.viewer });
  assert.equal(admin.status, 403);
  assert.match(admin.body.detail, /not allowed on target "prometheus"/);
  const escape = await call(gw.httpUrl, "GET", `/v1/clusters/${cluster}/targets/prometheus/api/v1/query/%2e%2e/admin`, { token: acme.viewer });
  assert.equal(escape.status, 403);
  const kube = await call(gw.httpUrl, "GET", `/v1/clusters/${cluster}/targets/kubernetes/api/v1/pods`, { token: acme.viewer });
  assert.equal(kube.status, 400);
  assert.equal(kube.body.reason, "NOT_AN_HTTP_TARGET");
  assert.equal(seen.length, n, "Prometheus saw none of these");
});

test("another tenant's cluster is 404 and no token is 401", async () => {
  const other = await call(gw.httpUrl, "GET", `/v1/clusters/${cluster}/targets/prometheus/api/v1/query?query=up`, { token: globex.viewer });
  assert.equal(other.status, 404);
  assert.equal(other.body.reason, "CLUSTER_NOT_FOUND");
  assert.equal((await through("/api/v1/query?query=up", "")).status, 401);
});
