import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { eventually, setup, type TestEnv } from "@daalu/testing";
import { startTunnelStack, type TunnelStack } from "../../tunnel-proxy/test/harness.js";
import { http, seedTenant, type Tokens } from "./helpers.js";
import { startK8sGateway, type K8sGateway } from "./k8s-harness.js";

// The real kubectl through gateway -> NATS -> tunnel-proxy -> edge (loopback
// gRPC, no WireGuard) -> kube-double, compared with kubectl run directly
// against the kube-double with the edge's own token.

const run = promisify(execFile);
let env: TestEnv;
let stack: TunnelStack;
let gw: K8sGateway;
let acme: Tokens;
let globex: Tokens;
let cluster: string;
let dir: string;
let hubCfg: string;
let directCfg: string;

before(async () => {
  env = await setup();
  acme = await seedTenant(env, "acme");
  globex = await seedTenant(env, "globex");
  stack = await startTunnelStack(env, [{ tenant: "acme", name: "prod" }]);
  cluster = stack.clusterIds[0]!;
  gw = await startK8sGateway(env);
  dir = mkdtempSync(path.join(tmpdir(), "k8s-kubectl-"));
  const kc = await fetch(`${gw.httpUrl}/v1/clusters/${cluster}/kubeconfig?token=include`, { headers: { authorization: `Bearer ${acme.viewer}` } });
  assert.equal(kc.status, 200, await kc.clone().text());
  hubCfg = path.join(dir, "hub.kubeconfig");
  writeFileSync(hubCfg, await kc.text());
  directCfg = path.join(dir, "direct.kubeconfig");
  writeFileSync(directCfg, stack.kube.kubeconfig({ token: "edge-token" }));
});
after(async () => {
  await gw?.close();
  await stack?.stop();
  await env?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function kubectl(cfg: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await run("kubectl", ["--kubeconfig", cfg, "--cache-dir", path.join(dir, path.basename(cfg) + ".cache"), ...args], { timeout: 20_000 });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === "number" ? x.code : -1, out: x.stdout ?? "", err: x.stderr ?? "" };
  }
}

/** AGE columns and relative times differ by the second between the two runs. */
const norm = (s: string) => s.replace(/\b\d+(s|m|h|d)(\d+(s|m|h))?\b/g, "<age>").replace(/\(x\d+ over <age>\)/g, "");

const SAME = [
  ["get", "pods"],
  ["get", "pods", "-A"],
  ["get", "pods", "-A", "-o", "wide"],
  ["describe", "pod", "nginx"],
  ["get", "services", "-A"],
  ["describe", "services", "-n", "shop"],
  ["get", "deployments", "-A"],
  ["describe", "deployment", "-n", "shop", "web"],
  ["get", "statefulsets", "-n", "shop"],
  ["describe", "statefulset", "-n", "shop", "postgres"],
  ["get", "daemonsets", "-A"],
  ["describe", "daemonset", "-n", "kube-system", "kube-proxy"],
  ["get", "events", "-A"],
  ["get", "nodes"],
  ["describe", "nodes"],
  ["get", "pod", "nginx", "-o", "yaml"],
  ["logs", "nginx", "--tail", "3"],
  ["rollout", "status", "-n", "shop", "deployment/web", "--timeout", "5s"],
  ["get", "secrets", "-n", "shop"],
  ["get", "pods", "-n", "nope-no-such-ns", "nope"],
];

for (const args of SAME) {
  test(`kubectl ${args.join(" ")} through the tunnel equals direct`, async () => {
    const direct = await kubectl(directCfg, args);
    const hub = await kubectl(hubCfg, args);
    assert.equal(hub.code, direct.code, `exit codes differ:\nhub: ${hub.err}\ndirect: ${direct.err}`);
    assert.equal(norm(hub.out), norm(direct.out));
    assert.equal(norm(hub.err), norm(direct.err));
    if (args.join(" ") !== "get pods -n nope-no-such-ns nope") assert.ok(direct.out.length > 0 || direct.err.length > 0);
  });
}

test("Forbidden shows the API server's message verbatim", async () => {
  const hub = await kubectl(hubCfg, ["get", "secrets", "-n", "shop"]);
  assert.notEqual(hub.code, 0);
  assert.match(hub.err, /Error from server \(Forbidden\): secrets is forbidden: User "system:serviceaccount:daalu-edge:daalu-edge" cannot list resource "secrets" in API group "" in the namespace "shop"/);
});

test("one audit row per call", async () => {
  // Rows are counted by their call time, so records of earlier streams that end now do not count.
  await eventually(() => assert.equal(stack.openRequests(), 0));
  const since = new Date().toISOString();
  const kube0 = stack.kube.requests.length;
  const r = await kubectl(hubCfg, ["get", "pods", "-A"]);
  assert.equal(r.code, 0, r.err);
  const calls = stack.kube.requests.length - kube0;
  assert.ok(calls >= 1);
  const rows = () => stack.auditRows(cluster, `time >= '${since}'`);
  await eventually(async () => assert.equal(await rows(), calls));
  await new Promise((res) => setTimeout(res, 300));
  assert.equal(await rows(), calls, "no extra rows");
});

test("logs -f streams, and killing kubectl cancels the API server request", async () => {
  const open = () => stack.kube.requestCount((q) => q.subresource === "log" && q.status === undefined);
  assert.equal(open(), 0);
  const logRows = () => stack.auditRows(cluster, "subresource = 'log' and name = 'nginx' and path like '%/log'");
  const rows0 = await logRows();
  const p = spawn("kubectl", ["--kubeconfig", hubCfg, "--cache-dir", path.join(dir, "hub.cache"), "logs", "-f", "nginx", "--tail", "1"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  p.stdout.on("data", (b: Buffer) => (out += b.toString()));
  await eventually(() => assert.equal(open(), 1));
  const pod = stack.kube.store.get("pods", "default", "nginx") as unknown as { spec: { containers: { name: string }[] } };
  stack.kube.appendLog("default", "nginx", pod.spec.containers[0]!.name, "followed through the tunnel");
  await eventually(() => assert.match(out, /followed through the tunnel/));
  p.kill("SIGKILL");
  await eventually(() => assert.equal(open(), 0));
  // The stream's one record is written when it ends (here: cancelled by the caller).
  await eventually(async () => assert.equal((await logRows()) - rows0, 1));
});

test("get -w streams new objects", async () => {
  const p = spawn("kubectl", ["--kubeconfig", hubCfg, "--cache-dir", path.join(dir, "hub.cache"), "get", "services", "-n", "default", "-w"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  p.stdout.on("data", (b: Buffer) => (out += b.toString()));
  await eventually(() => assert.ok(stack.kube.requestCount((q) => q.verb === "watch" && q.resource === "services" && q.status === undefined) >= 1));
  stack.kube.store.put({ apiVersion: "v1", kind: "Service", metadata: { name: "watched-svc", namespace: "default" }, spec: { type: "ClusterIP", clusterIP: "10.0.0.77", ports: [{ port: 80, protocol: "TCP" }] } });
  await eventually(() => assert.match(out, /watched-svc/));
  p.kill("SIGKILL");
  await eventually(() => assert.equal(stack.kube.requestCount((q) => q.verb === "watch" && q.status === undefined), 0));
});

test("tenant B's user gets 404 for tenant A's cluster", async () => {
  const r = await http(gw.httpUrl, "GET", `/k8s/clusters/${cluster}/api/v1/pods`, { token: globex.admin });
  assert.equal(r.status, 404);
  assert.equal(r.body.kind, "Status");
  assert.equal(r.body.details.causes[0].reason, "CLUSTER_NOT_FOUND");
  const k = await http(gw.httpUrl, "GET", `/v1/clusters/${cluster}/kubeconfig`, { token: globex.admin });
  assert.equal(k.status, 404);
  const noToken = await http(gw.httpUrl, "GET", `/k8s/clusters/${cluster}/api/v1/pods`);
  assert.equal(noToken.status, 401);
});

test("the default kubeconfig holds no secret", async () => {
  const r = await http(gw.httpUrl, "GET", `/v1/clusters/${cluster}/kubeconfig`, { token: acme.viewer });
  assert.equal(r.status, 200);
  assert.ok(!String(r.body).includes(acme.viewer));
  assert.match(String(r.body), new RegExp(`server: "${gw.url}/k8s/clusters/${cluster}"`));
  assert.match(String(r.body), /certificate-authority-data: /);
});
