import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { CallerKind } from "@daalu/proto";
import { eventually, setup, type TestEnv } from "@daalu/testing";
import { startTunnelStack, type TunnelStack } from "../../tunnel-proxy/test/harness.js";
import { kubectlRunPlugin } from "../src/http/kubectl-run.js";
import { botToken, http, seedTenant, type Tokens } from "./helpers.js";
import { startK8sGateway, type K8sGateway } from "./k8s-harness.js";

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
let globex: Tokens;
let agent: string;
let cluster: string;
let dir: string;
let directCfg: string;

before(async () => {
  env = await setup();
  acme = await seedTenant(env, "acme");
  globex = await seedTenant(env, "globex");
  agent = await botToken(env, "acme", "runbook-bot", "agent");
  stack = await startTunnelStack(env, [{ tenant: "acme", name: "prod" }]);
  cluster = stack.clusterIds[0]!;
  gw = await startK8sGateway(env, async ({ app, auth, logger }) => {
    const { natsClient } = await import("@daalu/runtime");
    const { peeringv1 } = await import("@daalu/proto");
    const peering = natsClient(env.nc, peeringv1.PeeringService, { prefix: env.prefix, defaults: { caller: { kind: CallerKind.SERVICE, id: "gateway" } } });
    await app.register(kubectlRunPlugin, { auth, peering, logger, timeoutMs: TIME_LIMIT_MS, maxOutputBytes: OUTPUT_CAP, maxConcurrent: 3 });
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
const norm = (s: string) => s.replace(/\b\d+(s|m|h|d)(\d+(s|m|h))?\b/g, "<age>").replace(/\(x\d+ over <age>\)/g, "");
const kubectl = (argv: unknown, token = acme.viewer) => http(gw.httpUrl, "POST", `/v1/clusters/${cluster}/kubectl`, { token, json: { argv } });

const SAME = [
  ["get", "pods", "-n", "shop"],
  ["get", "pods", "-A", "-o", "wide"],
  ["describe", "deployment", "-n", "shop", "web"],
  ["logs", "nginx", "--tail", "3"],
  ["rollout", "status", "-n", "shop", "deployment/api", "--watch=false"],
  ["get", "nodes", "-o", "jsonpath={.items[*].metadata.name}"],
  ["get", "secrets", "-n", "shop"],
  ["get", "pods", "nope-no-such-pod"],
];

for (const argv of SAME) {
  test(`kubectl ${argv.join(" ")}: same output and exit code as kubectl against the API server`, async () => {
    const d = await direct(argv);
    const r = await kubectl(argv);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.exitCode, d.exitCode, JSON.stringify(r.body));
    assert.equal(norm(r.body.stdout), norm(d.stdout));
    assert.equal(norm(r.body.stderr), norm(d.stderr));
    assert.equal(r.body.truncated, false);
    assert.equal(r.body.timedOut, false);
  });
}

test("Forbidden reaches the caller verbatim with kubectl's exit code", async () => {
  const r = await kubectl(["get", "secrets", "-n", "shop"]);
  assert.equal(r.body.exitCode, 1);
  assert.match(r.body.stderr, /Error from server \(Forbidden\): secrets is forbidden: User "system:serviceaccount:daalu-edge:daalu-edge-proxy" cannot list resource "secrets"/);
});

test("every request kubectl makes is audited with the caller's kind and id", async () => {
  await eventually(() => assert.equal(stack.openRequests(), 0));
  const since = new Date().toISOString();
  const kube0 = stack.kube.requests.length;
  const r = await kubectl(["get", "pods", "-n", "shop"], agent);
  assert.equal(r.body.exitCode, 0, r.body.stderr);
  const calls = stack.kube.requests.length - kube0;
  assert.ok(calls >= 1);
  await eventually(async () => assert.equal(await stack.auditRows(cluster, `time >= '${since}' and caller_kind = ${CallerKind.AGENT} and caller_id = 'runbook-bot'`), calls));
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
  const extra = await http(gw.httpUrl, "POST", `/v1/clusters/${cluster}/kubectl`, { token: acme.viewer, json: { argv: ["get", "pods"], shell: true } });
  assert.equal(extra.status, 400);
  assert.equal(stack.kube.requests.length, kube0, "the API server saw nothing");
});

test("another tenant's cluster is 404 and no token is 401, before anything runs", async () => {
  const other = await kubectl(["get", "pods"], globex.viewer);
  assert.equal(other.status, 404);
  assert.equal(other.body.reason, "CLUSTER_NOT_FOUND");
  const anon = await http(gw.httpUrl, "POST", `/v1/clusters/${cluster}/kubectl`, { json: { argv: ["delete", "pod", "x"] } });
  assert.equal(anon.status, 401);
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
