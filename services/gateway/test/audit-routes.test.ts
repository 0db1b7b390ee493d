import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createAuditClient } from "@daalu/audit";
import { eventually, setup, type TestEnv } from "@daalu/testing";
import { startTunnelStack, type TunnelStack } from "../../tunnel-proxy/test/harness.js";
import { auditRoutesPlugin } from "../src/http/audit-routes.js";
import { botToken, http, seedTenant, type Tokens } from "./helpers.js";
import { startK8sGateway, type K8sGateway } from "./k8s-harness.js";

// Calls through gateway /k8s -> NATS -> tunnel-proxy -> edge -> kube-double
// leave audit rows (JetStream -> audit -> PostgreSQL); the REST routes read
// them back over NATS, tenant-scoped.

let env: TestEnv;
let stack: TunnelStack;
let gw: K8sGateway;
let acme: Tokens;
let globex: Tokens;
let agent: string;
let cluster: string;
const t0 = new Date(Date.now() - 1_000).toISOString();

before(async () => {
  env = await setup();
  acme = await seedTenant(env, "acme");
  globex = await seedTenant(env, "globex");
  agent = await botToken(env, "acme", "night-watch", "agent");
  stack = await startTunnelStack(env, [
    { tenant: "acme", name: "prod" },
    { tenant: "acme", name: "stage" },
  ]);
  cluster = stack.clusterIds[0]!;
  gw = await startK8sGateway(env, async ({ app, auth, logger }) => {
    await app.register(auditRoutesPlugin, { auth, audit: createAuditClient(env.nc, { prefix: env.prefix }), logger });
  });
  // 7 calls as the viewer on prod (5 lists, 2 forbidden), 3 as the agent on stage.
  const k8s = (token: string, c: string, p: string) => http(gw.httpUrl, "GET", `/k8s/clusters/${c}${p}`, { token });
  for (let i = 0; i < 5; i++) assert.equal((await k8s(acme.viewer, cluster, "/api/v1/namespaces/shop/pods")).status, 200);
  for (let i = 0; i < 2; i++) assert.equal((await k8s(acme.viewer, cluster, "/api/v1/namespaces/shop/secrets")).status, 403);
  for (let i = 0; i < 3; i++) assert.equal((await k8s(agent, stack.clusterIds[1]!, "/api/v1/nodes")).status, 200);
  await eventually(async () => assert.equal((await stack.auditRows(cluster)) + (await stack.auditRows(stack.clusterIds[1]!)), 10));
});
after(async () => {
  await gw?.close();
  await stack?.stop();
  await env?.cleanup();
});

const get = (p: string, token = acme.viewer) => http(gw.httpUrl, "GET", p, { token });

test("calls: newest first, one row per call, with caller, operation and outcome", async () => {
  const r = await get("/v1/audit/calls");
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.calls.length, 10);
  assert.equal(r.body.nextPageToken, null);
  const times = r.body.calls.map((c: { time: string }) => Date.parse(c.time));
  assert.deepEqual(times, [...times].sort((a, b) => b - a));
  const agentRow = r.body.calls[0];
  assert.deepEqual(agentRow.caller, { kind: "agent", id: "night-watch" });
  assert.deepEqual({ verb: agentRow.operation.verb, resource: agentRow.operation.resource }, { verb: "list", resource: "nodes" });
  assert.equal(agentRow.outcome.statusCode, 200);
  assert.ok(agentRow.bytesOut > 0);
  const forbidden = r.body.calls.find((c: { outcome: { statusCode: number } }) => c.outcome.statusCode === 403);
  assert.equal(forbidden.outcome.ok, false);
  assert.equal(forbidden.outcome.error, null, "an API server answer is not a hub error");
  assert.deepEqual(forbidden.caller, { kind: "user", id: "victor" });
});

test("calls: filters by cluster, caller, verb, outcome, status and time", async () => {
  const n = async (q: string) => {
    const r = await get(`/v1/audit/calls?${q}`);
    assert.equal(r.status, 200, `${q}: ${JSON.stringify(r.body)}`);
    return r.body.calls.length as number;
  };
  assert.equal(await n(`clusterId=${cluster}`), 7);
  assert.equal(await n(`clusterId=${stack.clusterIds[1]}`), 3);
  assert.equal(await n("callerKind=agent"), 3);
  assert.equal(await n("callerKind=user&callerId=victor"), 7);
  assert.equal(await n("callerId=nobody"), 0);
  assert.equal(await n("verb=list"), 10);
  assert.equal(await n("verb=get"), 0);
  assert.equal(await n("outcome=error"), 2);
  assert.equal(await n("outcome=ok"), 8);
  assert.equal(await n("status=403"), 2);
  assert.equal(await n(`from=${encodeURIComponent(t0)}`), 10);
  assert.equal(await n(`to=${encodeURIComponent(t0)}`), 0);
});

test("calls: cursor pages cover every row once", async () => {
  const seen: string[] = [];
  let token: string | null = null;
  let pages = 0;
  do {
    const r: { status: number; body: { calls: { id: string }[]; nextPageToken: string | null } } = await get(`/v1/audit/calls?pageSize=3${token ? `&pageToken=${encodeURIComponent(token)}` : ""}`);
    assert.equal(r.status, 200);
    seen.push(...r.body.calls.map((c) => c.id));
    token = r.body.nextPageToken;
    pages++;
  } while (token && pages < 10);
  assert.equal(pages, 4);
  assert.equal(seen.length, 10);
  assert.equal(new Set(seen).size, 10);
});

test("calls and usage are tenant-scoped", async () => {
  const r = await get("/v1/audit/calls", globex.viewer);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.calls, []);
  const from = new Date(Date.now() - 3_600_000).toISOString();
  const to = new Date(Date.now() + 3_600_000).toISOString();
  const u = await get(`/v1/usage?granularity=hour&from=${from}&to=${to}`, globex.viewer);
  assert.equal(u.status, 200);
  assert.equal(u.body.total.calls, 0);
});

test("usage: counts and bytes per hour and per day, per cluster when asked", async () => {
  // A bucket counts when it starts at or after `from` (audit's documented
  // semantics), so `from` sits on a UTC day boundary: yesterday's midnight
  // covers today's day bucket at any hour (and calls made just before midnight).
  const day = 86_400_000;
  const from = new Date(Math.floor(Date.now() / day) * day - day).toISOString();
  const to = new Date(Date.now() + 2 * 86_400_000).toISOString();
  const calls = (await get("/v1/audit/calls")).body.calls as { bytesOut: number; clusterId: string }[];
  const bytesOut = calls.reduce((s, c) => s + c.bytesOut, 0);
  for (const g of ["hour", "day"]) {
    const u = await get(`/v1/usage?granularity=${g}&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
    assert.equal(u.status, 200, JSON.stringify(u.body));
    assert.equal(u.body.total.calls, 10, g);
    assert.equal(u.body.total.errors, 2, g);
    assert.equal(u.body.total.bytesOut, bytesOut, g);
    assert.equal(u.body.buckets.reduce((s: number, b: { calls: number }) => s + b.calls, 0), 10);
  }
  const by = await get(`/v1/usage?granularity=day&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&byCluster=true`);
  const perCluster = new Map<string, number>();
  for (const b of by.body.buckets as { clusterId: string; calls: number }[]) perCluster.set(b.clusterId, (perCluster.get(b.clusterId) ?? 0) + b.calls);
  assert.deepEqual(Object.fromEntries(perCluster), { [cluster]: 7, [stack.clusterIds[1]!]: 3 });
  const one = await get(`/v1/usage?granularity=day&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&clusterId=${stack.clusterIds[1]}`);
  assert.equal(one.body.total.calls, 3);
});

test("bad queries are problems, and nothing is read without a token", async () => {
  const cases: [string, number, string][] = [
    ["/v1/audit/calls?callerKind=robot", 400, "INVALID_REQUEST"],
    ["/v1/audit/calls?pageSize=0", 400, "INVALID_PAGE_SIZE"],
    ["/v1/audit/calls?from=yesterday", 400, "INVALID_TIME"],
    ["/v1/audit/calls?from=2025-06-01T12:00:00", 400, "INVALID_TIME"],
    ["/v1/audit/calls?from=2025-06-02T00:00:00Z&to=2025-06-01T00:00:00Z", 400, "INVALID_TIME_RANGE"],
    ["/v1/audit/calls?pageToken=not-a-cursor", 400, "INVALID_PAGE_TOKEN"],
    ["/v1/audit/calls?bogus=1", 400, "INVALID_REQUEST"],
    ["/v1/usage?granularity=week&from=2025-06-01T00:00:00Z&to=2025-06-02T00:00:00Z", 400, "INVALID_REQUEST"],
    ["/v1/usage?granularity=hour", 400, "INVALID_REQUEST"],
    ["/v1/usage?granularity=hour&from=2020-01-01T00:00:00Z&to=2025-01-01T00:00:00Z", 400, "INVALID_AUDIT_QUERY"],
  ];
  for (const [p, status, reason] of cases) {
    const r = await get(p);
    assert.equal(r.status, status, `${p}: ${JSON.stringify(r.body)}`);
    assert.match(r.type, /^application\/problem\+json/, p);
    assert.equal(r.body.reason, reason, p);
  }
  assert.equal((await http(gw.httpUrl, "GET", "/v1/audit/calls")).status, 401);
});
