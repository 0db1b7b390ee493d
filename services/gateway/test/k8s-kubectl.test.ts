import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { eventually, setup, type TestEnv } from "@daalu/testing";
import { startTunnelStack, type TunnelStack } from "../../tunnel-proxy/test/harness.js";
import { http, seedTenant, type Tokens } from "./helpers.js";
import { edgeAsPod, startK8sGateway, type K8sGateway } from "./k8s-harness.js";
import { Kubectl, kubectlCases } from "./kubectl-cases.js";
import { tunnelSecretCases } from "./kubectl-secret-cases.js";
import { kubectlParityCases, kubectlTimings } from "./kubectl-parity-cases.js";

// The real kubectl through gateway -> NATS -> tunnel-proxy -> edge (loopback
// gRPC, no WireGuard) -> kube-double, compared with kubectl run directly
// against the kube-double as the edge's proxy ServiceAccount. The edge gets
// its credentials as in a pod: its KubeAccess, logged in as the pod's own
// account, mints the proxy account's token (TokenRequest). The cases are shared
// with e2e/kubectl-tunnel.test.ts, which runs them through real WireGuard.

let env: TestEnv;
let stack: TunnelStack;
let gw: K8sGateway;
let acme: Tokens;
let globex: Tokens;
let cluster: string;
let dir: string;
let hub: Kubectl;
let direct: Kubectl;

before(async () => {
  env = await setup();
  acme = await seedTenant(env, "acme");
  globex = await seedTenant(env, "globex");
  dir = mkdtempSync(path.join(tmpdir(), "k8s-kubectl-"));
  const edgeApiServer = edgeAsPod(dir);

  stack = await startTunnelStack(env, [{ tenant: "acme", name: "prod" }], {}, { edgeApiServer });
  cluster = stack.clusterIds[0]!;
  gw = await startK8sGateway(env);
  const kc = await fetch(`${gw.httpUrl}/v1/clusters/${cluster}/kubeconfig?token=include`, { headers: { authorization: `Bearer ${acme.viewer}` } });
  assert.equal(kc.status, 200, await kc.clone().text());
  writeFileSync(path.join(dir, "hub.kubeconfig"), await kc.text());
  writeFileSync(path.join(dir, "direct.kubeconfig"), stack.kube.kubeconfig({ token: "edge-proxy-token" }));
  hub = new Kubectl(path.join(dir, "hub.kubeconfig"), path.join(dir, "hub.cache"));
  direct = new Kubectl(path.join(dir, "direct.kubeconfig"), path.join(dir, "direct.cache"));
});
after(async () => {
  await gw?.close();
  await stack?.stop();
  await env?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const ctx = () => ({ hub, direct, kube: stack.kube, auditRows: (where?: string) => stack.auditRows(cluster, where), rawPrefix: `/k8s/clusters/${cluster}` });
kubectlCases(ctx);
kubectlParityCases(ctx);

tunnelSecretCases(() => ({
  hub,
  direct,
  kube: stack.kube,
  rawPrefix: `/k8s/clusters/${cluster}`,
  async hubGet(p, accept) {
    const r = await fetch(`${gw.httpUrl}/k8s/clusters/${cluster}${p}`, { headers: { authorization: `Bearer ${acme.viewer}`, accept } });
    return { status: r.status, contentType: r.headers.get("content-type") ?? "", body: await r.text() };
  },
}));

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

test("an access review through the hub is one audit row, recorded as a read", async () => {
  const since = new Date().toISOString();
  const r = await hub.run(["auth", "can-i", "get", "pods"]);
  assert.equal(r.out, "yes\n", r.err);
  await eventually(async () => assert.equal(await stack.auditRows(cluster, `time >= '${since}' and verb = 'get' and resource = 'selfsubjectaccessreviews' and api_group = 'authorization.k8s.io' and ok`), 1));
});

test("the default kubeconfig holds no secret", async () => {
  const r = await http(gw.httpUrl, "GET", `/v1/clusters/${cluster}/kubeconfig`, { token: acme.viewer });
  assert.equal(r.status, 200);
  assert.ok(!String(r.body).includes(acme.viewer));
  assert.match(String(r.body), new RegExp(`server: "${gw.url}/k8s/clusters/${cluster}"`));
  assert.match(String(r.body), /certificate-authority-data: /);
});

kubectlTimings(ctx);
