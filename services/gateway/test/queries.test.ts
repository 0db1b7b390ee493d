import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { CallerKind } from "@daalu/proto";
import { eventually, setup, type TestEnv } from "@daalu/testing";
import { queryClient } from "@daalu/tunnel-proxy";
import { startTunnelStack, type TunnelStack } from "../../tunnel-proxy/test/harness.js";
import { queryRoutesPlugin } from "../src/http/queries.js";
import { botToken, http, seedTenant, type Tokens } from "./helpers.js";
import { startK8sGateway, type K8sGateway } from "./k8s-harness.js";

// The typed queries through gateway -> NATS (daalu.query.v1) -> tunnel-proxy
// -> NATS tunnel subject -> edge (loopback gRPC) -> kube-double, compared
// with what the real kubectl prints against the kube-double directly.

const run = promisify(execFile);
let env: TestEnv;
let stack: TunnelStack;
let gw: K8sGateway;
let acme: Tokens;
let globex: Tokens;
let assistant: string;
let cluster: string;
let dir: string;
let directCfg: string;

before(async () => {
  env = await setup();
  acme = await seedTenant(env, "acme");
  globex = await seedTenant(env, "globex");
  assistant = await botToken(env, "acme", "helper-bot", "assistant");
  stack = await startTunnelStack(env, [{ tenant: "acme", name: "prod" }]);
  cluster = stack.clusterIds[0]!;
  gw = await startK8sGateway(env, async ({ app, logger }) => {
    await app.register(queryRoutesPlugin, { queries: queryClient(env.nc, { prefix: env.prefix }), logger });
  });
  dir = mkdtempSync(path.join(tmpdir(), "queries-"));
  directCfg = path.join(dir, "direct.kubeconfig");
  writeFileSync(directCfg, stack.kube.kubeconfig({ token: "edge-proxy-token" }));
});
after(async () => {
  await gw?.close();
  await stack?.stop();
  await env?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function kubectl(args: string[]): Promise<string> {
  const r = await run("kubectl", ["--kubeconfig", directCfg, "--cache-dir", path.join(dir, "cache"), ...args], { timeout: 20_000 });
  return r.stdout;
}
const rows = (out: string) => out.trim().split("\n").map((l) => l.trim().split(/\s{2,}|\s+/));
const q = (p: string, token = acme.viewer) => http(gw.httpUrl, "GET", `/v1/clusters/${cluster}/queries/${p}`, { token });

test("unhealthy-pods lists exactly the pods kubectl shows as not Running, with kubectl's STATUS and READY", async () => {
  const direct = rows(await kubectl(["get", "pods", "-n", "shop", "--no-headers"]))
    .filter((c) => c[2] !== "Running" && c[2] !== "Completed")
    .map((c) => ({ name: c[0], ready: c[1], status: c[2] }));
  assert.ok(direct.length >= 3, "the fixtures hold Pending, CrashLoopBackOff and Failed pods");
  const r = await q("unhealthy-pods?namespace=shop");
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.pods.map((p: { name: string; ready: string; status: string }) => ({ name: p.name, ready: p.ready, status: p.status })), direct.sort((a, b) => a.name!.localeCompare(b.name!)));
  const crash = r.body.pods.find((p: { status: string }) => p.status === "CrashLoopBackOff");
  assert.match(crash.message, /back-off/);
  assert.ok(r.body.podsTotal > r.body.pods.length);
  const all = await q("unhealthy-pods");
  assert.ok(all.body.pods.length >= r.body.pods.length);
});

test("deployment-logs returns each pod's last N lines, as kubectl logs --tail does", async () => {
  const r = await q("deployment-logs?namespace=shop&name=web&tailLines=2", assistant);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.selector, "app=web");
  assert.equal(r.body.pods.length, 3);
  for (const p of r.body.pods) {
    const direct = await kubectl(["logs", "-n", "shop", p.pod, "-c", p.container, "--tail", "2"]);
    assert.deepEqual(p.lines, direct.split("\n").filter((l, i, a) => i < a.length - 1 || l !== ""));
    assert.ok(p.lines.length <= 2);
  }
});

test("rollout-status reads like kubectl rollout status, mid-rollout and done", async () => {
  for (const name of ["api", "web", "worker"]) {
    const direct = (await kubectl(["rollout", "status", "-n", "shop", `deployment/${name}`, "--watch=false"])).trim();
    const r = await q(`rollout-status?namespace=shop&name=${name}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.message, direct, name);
    assert.equal(r.body.done, name === "web" || name === "worker" ? direct.includes("successfully rolled out") : false);
  }
  const api = await q("rollout-status?namespace=shop&name=api");
  assert.deepEqual([api.body.state, api.body.desired, api.body.updated, api.body.ready, api.body.available, api.body.current], ["progressing", 2, 1, 2, 2, 3]);
});

test("nodes match kubectl get nodes (name, status, roles, version)", async () => {
  const direct = rows(await kubectl(["get", "nodes", "--no-headers"])).map((c) => ({ name: c[0], status: c[1], roles: c[2], version: c[4] }));
  const r = await q("nodes");
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.nodes.map((n: { name: string; status: string; roles: string[]; version: string }) => ({ name: n.name, status: n.status, roles: n.roles.join(",") || "<none>", version: n.version })), direct);
  assert.equal(typeof r.body.nodes[0].ready, "boolean");
});

test("every GET of a query is audited with the query's caller (assistant over REST, agent over NATS)", async () => {
  await eventually(() => assert.equal(stack.openRequests(), 0));
  const since = new Date().toISOString();
  const kube0 = stack.kube.requests.length;
  const r = await q("deployment-logs?namespace=shop&name=web&tailLines=1", assistant);
  assert.equal(r.status, 200);
  const calls = stack.kube.requests.length - kube0;
  assert.equal(calls, 1 + 1 + 3, "deployment, pod list, three logs");
  const asAssistant = () => stack.auditRows(cluster, `time >= '${since}' and caller_kind = ${CallerKind.ASSISTANT} and caller_id = 'helper-bot'`);
  await eventually(async () => assert.equal(await asAssistant(), calls));

  const agent = queryClient(env.nc, { prefix: env.prefix, defaults: { caller: { kind: CallerKind.AGENT, id: "night-watch" } } });
  const nodes = await agent.listNodes({ clusterId: cluster }, { tenantId: "acme" });
  assert.ok(nodes.nodes.length > 0);
  await eventually(async () => assert.equal(await stack.auditRows(cluster, `caller_kind = ${CallerKind.AGENT} and caller_id = 'night-watch' and resource = 'nodes'`), 1));
});

test("bad input is a problem; another tenant's cluster is 404; a missing object keeps the API server's message", async () => {
  const bad = await q("rollout-status?namespace=Shop_1&name=api");
  assert.equal(bad.status, 400);
  assert.match(bad.type, /^application\/problem\+json/);
  assert.equal(bad.body.reason, "INVALID_QUERY");
  const missing = await q("rollout-status?namespace=shop");
  assert.equal(missing.status, 400);
  const tail = await q("deployment-logs?namespace=shop&name=web&tailLines=0");
  assert.equal(tail.status, 400);
  const other = await q("nodes", globex.viewer);
  assert.equal(other.status, 404);
  assert.equal(other.body.reason, "CLUSTER_NOT_FOUND");
  const none = await q("rollout-status?namespace=shop&name=nope");
  assert.equal(none.status, 404);
  assert.equal(none.body.reason, "KUBERNETES_NOT_FOUND");
  assert.match(none.body.detail, /deployments.apps "nope" not found/);
  const noAuth = await http(gw.httpUrl, "GET", `/v1/clusters/${cluster}/queries/nodes`);
  assert.equal(noAuth.status, 401);
});
