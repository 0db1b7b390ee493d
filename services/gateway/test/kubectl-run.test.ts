import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { CallerKind } from "@daalu/proto";
import { createAuditPublisher } from "@daalu/audit";
import { eventually, setup, type TestEnv } from "@daalu/testing";
import { startTunnelStack, type TunnelStack } from "../../tunnel-proxy/test/harness.js";
import { createApiToken, createUser, openGatewayStore } from "../src/admin.js";
import { sessionRoutesPlugin } from "../src/http/session-routes.js";
import { PASSWORD, signIn } from "./sign-in-harness.js";
import { kubectlRunPlugin } from "../src/http/kubectl-run.js";
import { http, seedTenant, type Res, type Tokens } from "./helpers.js";
import { startK8sGateway, type K8sGateway } from "./k8s-harness.js";
import { maskAge } from "./kubectl-cases.js";

// POST /v1/clusters/{id}/kubectl runs the real kubectl, which reaches the
// cluster through the gateway's own /k8s endpoint -> NATS -> tunnel-proxy ->
// edge (loopback gRPC) -> kube-double; compared with kubectl run directly.

const run = promisify(execFile);
const TIME_LIMIT_MS = 8_000;
const OUTPUT_CAP = 64 * 1024;
let env: TestEnv;
let stack: TunnelStack;
let gw: K8sGateway;
let acme: Tokens;
let agent: string;
let operator: string;
let globexOperator: string;
let cluster: string;
let globexCluster: string;
let globexB: string;
let dir: string;
let directCfg: string;
const runDirs: string[] = [];

before(async () => {
  env = await setup();
  acme = await seedTenant(env, "acme");
  await seedTenant(env, "globex");
  const store = await openGatewayStore(env.databaseUrl);
  try {
    // The panel needs the operator role (or admin); viewers are refused.
    operator = (await createApiToken(store, "acme", "olga", { role: "operator" })).token;
    agent = (await createApiToken(store, "acme", "runbook-bot", { role: "operator", kind: "agent" })).token;
    globexOperator = (await createApiToken(store, "globex", "gil", { role: "operator" })).token;
    globexB = (await createApiToken(store, "globex", "bea", { role: "admin" })).token;
    await createUser(store, "acme", "olivia", { role: "operator", password: PASSWORD });
  } finally {
    await store.close();
  }
  stack = await startTunnelStack(env, [{ tenant: "acme", name: "prod" }, { tenant: "globex", name: "staging" }]);
  [cluster, globexCluster] = stack.clusterIds as [string, string];
  gw = await startK8sGateway(env, async ({ app, auth, logger }) => {
    const { natsClient } = await import("@daalu/runtime");
    const { peeringv1 } = await import("@daalu/proto");
    const peering = natsClient(env.nc, peeringv1.PeeringService, { prefix: env.prefix, defaults: { caller: { kind: CallerKind.SERVICE, id: "gateway" } } });
    const audit = await createAuditPublisher(env.nc, { prefix: env.prefix, ensureStream: false });
    await app.register(sessionRoutesPlugin, { sessions: auth.sessions!, oidcLabel: undefined, publicUrl: "https://hub.example.test" });
    await app.register(kubectlRunPlugin, { auth, peering, logger, audit, timeoutMs: TIME_LIMIT_MS, maxOutputBytes: OUTPUT_CAP, limits: { total: 3, perTenant: 2, perCluster: 2 }, onRunDir: (d) => runDirs.push(d) });
  });
  dir = mkdtempSync(path.join(tmpdir(), "kubectl-run-"));
  directCfg = path.join(dir, "direct.kubeconfig");
  writeFileSync(directCfg, stack.kube.kubeconfig({ token: "edge-proxy-token" }));
});
after(async () => {
  await gw?.close();
  await stack?.stop();
  await env?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function direct(args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  try {
    const r = await run("kubectl", ["--kubeconfig", directCfg, "--cache-dir", path.join(dir, "cache"), ...args], { timeout: 20_000 });
    return { exitCode: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { exitCode: typeof x.code === "number" ? x.code : -1, stdout: x.stdout ?? "", stderr: x.stderr ?? "" };
  }
}
const kubectl = (argv: unknown, token = operator) => http(gw.httpUrl, "POST", `/v1/clusters/${cluster}/kubectl`, { token, json: { argv } });

const SAME = [
  // regression: --raw drops the server's path; it used to fail with "unknown or finished kubectl run"
  ["get", "--raw", "/api"],
  ["get", "--raw=/api/v1/namespaces/shop/pods"],
  ["get", "pods", "-n", "shop"],
  ["get", "pods", "-A", "-o", "wide"],
  ["describe", "deployment", "-n", "shop", "web"],
  ["logs", "nginx", "--tail", "3"],
  ["rollout", "status", "-n", "shop", "deployment/api", "--watch=false"],
  ["get", "nodes", "-o", "jsonpath={.items[*].metadata.name}"],
  ["get", "secrets", "-n", "shop"],
  ["get", "pods", "nope-no-such-pod"],
  // Access reviews (issue 15): answered for the edge's proxy account, as direct.
  ["auth", "can-i", "list", "pods", "-n", "shop"],
  ["auth", "can-i", "delete", "pods", "-n", "shop"],
  ["auth", "whoami"],
  ["get", "--raw", "/readyz?verbose"],
];

for (const argv of SAME) {
  test(`kubectl ${argv.join(" ")}: same output and exit code as kubectl against the API server`, async () => {
    const d = await direct(argv);
    const r = await kubectl(argv);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.exitCode, d.exitCode, JSON.stringify(r.body));
    assert.equal(maskAge(r.body.stdout), maskAge(d.stdout));
    assert.equal(maskAge(r.body.stderr), maskAge(d.stderr));
    assert.equal(r.body.truncated, false);
    assert.equal(r.body.timedOut, false);
  });
}

test("Forbidden reaches the caller verbatim with kubectl's exit code", async () => {
  const r = await kubectl(["get", "secrets", "-n", "shop"]);
  assert.equal(r.body.exitCode, 1);
  assert.match(r.body.stderr, /Error from server \(Forbidden\): secrets is forbidden: User "system:serviceaccount:daalu-edge:daalu-edge-proxy" cannot list resource "secrets"/);
});

test("a signed-in operator runs the panel through the session; kubectl's requests are audited as that person", async () => {
  await eventually(() => assert.equal(stack.openRequests(), 0));
  const since = new Date().toISOString();
  const kube0 = stack.kube.requests.length;
  const olivia = await signIn(gw.httpUrl, "olivia");
  const path = `/v1/clusters/${cluster}/kubectl`;
  const json = { argv: ["get", "pods", "-n", "shop"] };
  const noCsrf = await http(gw.httpUrl, "POST", path, { json, headers: { cookie: olivia.cookie } });
  assert.equal(noCsrf.status, 403);
  assert.equal(noCsrf.body.reason, "CSRF_TOKEN_INVALID");
  const r = await http(gw.httpUrl, "POST", path, { json, headers: { cookie: olivia.cookie, "x-csrf-token": olivia.csrf } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.exitCode, 0, r.body.stderr);
  const calls = stack.kube.requests.length - kube0;
  assert.ok(calls >= 1);
  await eventually(async () => assert.equal(await stack.auditRows(cluster, `time >= '${since}' and caller_kind = ${CallerKind.USER} and caller_id = 'olivia' and verb <> 'kubectl'`), calls));
  assert.equal(maskAge(r.body.stdout), maskAge((await direct(json.argv)).stdout));
});

test("every request kubectl makes is audited with the caller's kind and id", async () => {
  await eventually(() => assert.equal(stack.openRequests(), 0));
  const since = new Date().toISOString();
  const kube0 = stack.kube.requests.length;
  const r = await kubectl(["get", "pods", "-n", "shop"], agent);
  assert.equal(r.body.exitCode, 0, r.body.stderr);
  const calls = stack.kube.requests.length - kube0;
  assert.ok(calls >= 1);
  await eventually(async () => assert.equal(await stack.auditRows(cluster, `time >= '${since}' and caller_kind = ${CallerKind.AGENT} and caller_id = 'runbook-bot' and verb <> 'kubectl'`), calls));
  assert.equal(await stack.auditRows(cluster, `time >= '${since}' and caller_kind <> ${CallerKind.AGENT}`), 0);
});

test("refused before anything runs: writing verbs, target/credential/file flags, streams, bad argv", async () => {
  const kube0 = stack.kube.requests.length;
  const cases: [unknown, number, string][] = [
    [["delete", "pod", "nginx"], 403, "KUBECTL_VERB_NOT_ALLOWED"],
    [["exec", "nginx", "--", "sh"], 403, "KUBECTL_VERB_NOT_ALLOWED"],
    [["rollout", "restart", "deployment/web"], 403, "KUBECTL_VERB_NOT_ALLOWED"],
    [["get", "pods", "--server=https://evil.example"], 403, "KUBECTL_FLAG_NOT_ALLOWED"],
    [["get", "pods", "--kubeconfig", "/etc/kubernetes/admin.conf"], 403, "KUBECTL_FLAG_NOT_ALLOWED"],
    [["get", "pods", "--as=system:admin"], 403, "KUBECTL_FLAG_NOT_ALLOWED"],
    [["get", "-f", "/etc/passwd"], 403, "KUBECTL_FLAG_NOT_ALLOWED"],
    [["get", "pods", "-o", "go-template-file=/etc/passwd"], 403, "KUBECTL_FLAG_NOT_ALLOWED"],
    [["logs", "-f", "nginx"], 403, "KUBECTL_FLAG_NOT_ALLOWED"],
    [["get", "pods", "-w"], 403, "KUBECTL_FLAG_NOT_ALLOWED"],
    ["get pods", 400, "INVALID_KUBECTL_ARGV"],
    [[], 400, "INVALID_KUBECTL_ARGV"],
    [["get", 7], 400, "INVALID_KUBECTL_ARGV"],
  ];
  for (const [argv, status, reason] of cases) {
    const r = await kubectl(argv);
    assert.equal(r.status, status, `${JSON.stringify(argv)}: ${JSON.stringify(r.body)}`);
    assert.match(r.type, /^application\/problem\+json/);
    assert.equal(r.body.reason, reason, JSON.stringify(argv));
  }
  const extra = await http(gw.httpUrl, "POST", `/v1/clusters/${cluster}/kubectl`, { token: operator, json: { argv: ["get", "pods"], shell: true } });
  assert.equal(extra.status, 400);
  assert.equal(stack.kube.requests.length, kube0, "the API server saw nothing");
});

test("another tenant's cluster is 404 and no token is 401, before anything runs", async () => {
  const other = await kubectl(["get", "pods"], globexOperator);
  assert.equal(other.status, 404);
  assert.equal(other.body.reason, "CLUSTER_NOT_FOUND");
  const anon = await http(gw.httpUrl, "POST", `/v1/clusters/${cluster}/kubectl`, { json: { argv: ["delete", "pod", "x"] } });
  assert.equal(anon.status, 401);
});

test("regression: a viewer token may not run kubectl (403 OPERATOR_REQUIRED); admin and operator may", async () => {
  const kube0 = stack.kube.requests.length;
  const r = await kubectl(["get", "pods", "-n", "shop"], acme.viewer);
  assert.equal(r.status, 403, JSON.stringify(r.body));
  assert.match(r.type, /^application\/problem\+json/);
  assert.equal(r.body.reason, "OPERATOR_REQUIRED");
  assert.equal(stack.kube.requests.length, kube0, "nothing ran");
  for (const token of [operator, acme.admin]) assert.equal((await kubectl(["version", "--client", "-o", "json"], token)).body.exitCode, 0);
});

test("the output cap cuts a large answer and says so", async () => {
  const r = await kubectl(["get", "pods", "-A", "-o", "json"]);
  assert.equal(r.status, 200);
  assert.equal(r.body.truncated, true);
  assert.equal(r.body.exitCode, null);
  assert.equal(Buffer.byteLength(r.body.stdout), OUTPUT_CAP);
});

test("the time limit kills a command that would wait forever, and its API requests end", async () => {
  // rollout status watches until the rollout finishes; api's never does.
  const t0 = Date.now();
  const r = await kubectl(["rollout", "status", "-n", "shop", "deployment/api"]);
  assert.equal(r.status, 200);
  assert.equal(r.body.timedOut, true);
  assert.equal(r.body.exitCode, null);
  assert.match(r.body.stdout, /Waiting for deployment "api" rollout to finish/);
  assert.ok(Date.now() - t0 >= TIME_LIMIT_MS - 100);
  await eventually(() => assert.equal(stack.openRequests(), 0));
});

/** A listener that must never be contacted: what a smuggled --server would reach. */
async function trap(): Promise<{ url: string; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const s: Server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, hits, close: () => new Promise((r) => s.close(() => r())) };
}

test("regression: a boolean flag cannot smuggle the next argument (--namespaced --server=...)", async () => {
  const t = await trap();
  const probe = path.join(dir, "smuggled-profile");
  const fake = path.join(dir, "fake.kubeconfig");
  writeFileSync(fake, stack.kube.kubeconfig({ token: "edge-token" }).replace(/server: .*/, `server: ${t.url}`));
  try {
    for (const extra of [[`--server=${t.url}`], [`--kubeconfig=${fake}`], ["--profile=cpu", `--profile-output=${probe}`], [`--cache-dir=${path.join(dir, "smuggled-cache")}`], ["-v=8"], ["-s", t.url]]) {
      const r = await kubectl(["api-resources", "--namespaced", ...extra]);
      assert.equal(r.status, 403, `${extra.join(" ")}: ${JSON.stringify(r.body)}`);
      assert.match(r.type, /^application\/problem\+json/);
      assert.equal(r.body.reason, "KUBECTL_FLAG_NOT_ALLOWED");
    }
    assert.deepEqual(t.hits, [], "nothing reached the smuggled server");
    assert.equal(existsSync(probe), false, "no profile was written");
    assert.equal(existsSync(path.join(dir, "smuggled-cache")), false, "no cache was written");
  } finally {
    await t.close();
  }
});

test("each run leaves one audit record naming its command line, and its directory is gone", async () => {
  const argv = ["get", "pods", "-n", "shop", "-o", "jsonpath={.items[*].metadata.name}"];
  const n = runDirs.length;
  const r = await kubectl(argv, agent);
  assert.equal(r.body.exitCode, 0, r.body.stderr);
  const line = "kubectl get pods -n shop -o 'jsonpath={.items[*].metadata.name}'";
  await eventually(async () => assert.equal(await stack.auditRows(cluster, `verb = 'kubectl' and path = '${line.replaceAll("'", "''")}' and caller_kind = ${CallerKind.AGENT} and caller_id = 'runbook-bot' and ok`), 1));
  assert.equal(runDirs.length, n + 1);
  assert.equal(existsSync(runDirs.at(-1)!), false, "the run's directory was removed");
});

test("regression: a tenant that fills its share of kubectl slots does not give another tenant a 429", async () => {
  // rollout status of api waits until the time limit: each of these holds a slot for TIME_LIMIT_MS.
  const slow = () => http(gw.httpUrl, "POST", `/v1/clusters/${globexCluster}/kubectl`, { token: globexB, json: { argv: ["rollout", "status", "-n", "shop", "deployment/api"] } });
  await eventually(() => assert.equal(stack.openRequests(), 0));
  // B starts runs one by one until the gateway refuses it one: it then holds all it may.
  const held: Promise<Res>[] = [];
  let refused: Res | undefined;
  while (!refused && held.length < 6) {
    const p = slow();
    const open = held.length + 1;
    refused = await Promise.race([p, eventually(() => assert.equal(stack.openRequests(), open)).then(() => undefined, () => undefined)]);
    if (!refused) held.push(p);
  }
  const a = await kubectl(["get", "pods", "-n", "shop"]);
  assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.equal(a.body.exitCode, 0, a.body.stderr);
  assert.equal(refused?.status, 429);
  assert.equal(refused?.body.reason, "KUBECTL_TENANT_BUSY");
  assert.equal(held.length, 2);
  for (const r of await Promise.all(held)) assert.equal(r.body.timedOut, true);
});
