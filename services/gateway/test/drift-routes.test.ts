/**
 * Drift over REST: gateway → NATS → drift (in this process) → tunnel-proxy →
 * edge (loopback gRPC) → kube-double; roles, tenant scoping, problem+json.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createLogger } from "@daalu/runtime";
import { driftClient } from "@daalu/drift";
import { driftService, type RunningDrift } from "@daalu/drift/service";
import { eventually, setup, type TestEnv } from "@daalu/testing";
import { startTunnelStack, type TunnelStack } from "../../tunnel-proxy/test/harness.js";
import { createApiToken, openGatewayStore } from "../src/admin.js";
import { driftRoutesPlugin } from "../src/http/drift-routes.js";
import { assertProblem, http, seedTenant, type Tokens } from "./helpers.js";
import { startK8sGateway, type K8sGateway } from "./k8s-harness.js";

let env: TestEnv;
let stack: TunnelStack;
let drift: RunningDrift;
let gw: K8sGateway;
let acme: Tokens;
let globex: Tokens;
let operator: string;
let cluster: string;

const YAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: rest
spec:
  replicas: 1
---
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: rest
stringData:
  password: rest-hunter2
`;

before(async () => {
  env = await setup();
  acme = await seedTenant(env, "acme");
  globex = await seedTenant(env, "globex");
  const store = await openGatewayStore(env.databaseUrl);
  operator = (await createApiToken(store, "acme", "oscar", { role: "operator" })).token;
  await store.close();
  stack = await startTunnelStack(env, [{ tenant: "acme", name: "prod" }]);
  cluster = stack.clusterIds[0]!;
  stack.kube.store.put({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "rest" }, spec: { replicas: 3 } });
  drift = await driftService.start(driftService.loadConfig({ ...env.env, DRIFT_GRPC_ADDR: "off", DRIFT_SCHEDULE_TICK: "0s" }), createLogger("drift", "silent"));
  gw = await startK8sGateway(env, async ({ app, auth }) => {
    const { peeringClient } = await import("@daalu/peering");
    await app.register(driftRoutesPlugin, { auth, drift: driftClient(env.nc, { prefix: env.prefix }), peering: peeringClient(env.nc, { prefix: env.prefix }) });
  });
});
after(async () => {
  await gw?.close();
  await drift?.stop();
  await stack?.stop();
  await env?.cleanup();
});

const yaml = (token: string, text: string, c = cluster) => http(gw.httpUrl, "PUT", `/v1/clusters/${c}/desired-state`, { token, raw: text, contentType: "application/yaml" });

test("desired state: admin uploads YAML, viewers read it back without Secret values; a bad upload names document and line", async () => {
  assertProblem(await yaml(acme.viewer, YAML), 403, "ADMIN_REQUIRED");
  const put = await yaml(acme.admin, YAML);
  assert.equal(put.status, 200, JSON.stringify(put.body));
  assert.deepEqual([put.body.bundle.version, put.body.created, put.body.bundle.uploadedBy], [1, true, "user:alice"]);
  const got = await http(gw.httpUrl, "GET", `/v1/clusters/${cluster}/desired-state`, { token: acme.viewer });
  assert.equal(got.status, 200);
  assert.deepEqual(got.body.objects.map((o: { kind: string; name: string; line: number }) => `${o.kind}/${o.name}@${o.line}`), ["Deployment/web@1", "Secret/db@9"]);
  assert.doesNotMatch(JSON.stringify(got.body), /rest-hunter2/);
  const bad = await yaml(acme.admin, "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n");
  assertProblem(bad, 400, "DESIRED_STATE_INVALID");
  assert.match(bad.body.detail, /document 1, line 1: metadata\.name is missing/);
  assertProblem(await http(gw.httpUrl, "PUT", `/v1/clusters/${cluster}/desired-state`, { token: acme.admin, json: { yaml: YAML } }), 400, "INVALID_REQUEST");
  assertProblem(await yaml(globex.admin, YAML), 404, "CLUSTER_NOT_FOUND");
});

test("reconciliation: off by default, check refused (409) with no read; the admin turns it on (audited), an operator checks, a viewer reads the report", async () => {
  const settings = await http(gw.httpUrl, "GET", `/v1/clusters/${cluster}/reconciliation`, { token: acme.viewer });
  assert.deepEqual([settings.status, settings.body.enabled, settings.body.intervalSeconds], [200, false, 300]);
  const before = stack.kube.requests.length;
  assertProblem(await http(gw.httpUrl, "POST", `/v1/clusters/${cluster}/drift/check`, { token: operator }), 409, "RECONCILIATION_OFF");
  assert.equal(stack.kube.requests.length, before);
  assertProblem(await http(gw.httpUrl, "PUT", `/v1/clusters/${cluster}/reconciliation`, { token: operator, json: { enabled: true } }), 403, "ADMIN_REQUIRED");
  assertProblem(await http(gw.httpUrl, "PUT", `/v1/clusters/${cluster}/reconciliation`, { token: acme.admin, json: { enabled: true, ignore: [{ kind: "Deployment", pointers: ["spec"] }] } }), 400, "RECONCILIATION_INVALID");
  const on = await http(gw.httpUrl, "PUT", `/v1/clusters/${cluster}/reconciliation`, { token: acme.admin, json: { enabled: true, intervalSeconds: 120, ignore: [{ kind: "Secret", pointers: ["/stringData"] }] } });
  assert.equal(on.status, 200, JSON.stringify(on.body));
  assert.deepEqual([on.body.enabled, on.body.intervalSeconds, on.body.updatedBy], [true, 120, "user:alice"]);
  await eventually(async () => assert.equal(await stack.auditRows(cluster, "verb = 'reconciliation' and caller_id = 'alice'"), 1));
  assertProblem(await http(gw.httpUrl, "POST", `/v1/clusters/${cluster}/drift/check`, { token: acme.viewer }), 403, "OPERATOR_REQUIRED");
  const check = await http(gw.httpUrl, "POST", `/v1/clusters/${cluster}/drift/check`, { token: operator });
  assert.equal(check.status, 200, JSON.stringify(check.body));
  assert.equal(check.body.trigger, "on_demand");
  assert.deepEqual(
    check.body.objects.map((o: { name: string; state: string }) => `${o.name}:${o.state}`),
    ["web:modified", "db:unknown"],
  );
  assert.deepEqual(check.body.objects[0].patch, [{ op: "replace", path: "/spec/replicas", value: 1 }]);
  assert.equal(check.body.objects[1].scope, 'grant get/list on secrets (scope "secrets")');
  assert.deepEqual(check.body.summary, { inSync: 0, modified: 1, missing: 0, unknown: 1 });
  const report = await http(gw.httpUrl, "GET", `/v1/clusters/${cluster}/drift`, { token: acme.viewer });
  assert.equal(report.status, 200);
  assert.equal(report.body.lastChecked, check.body.lastChecked);
  assert.doesNotMatch(JSON.stringify(report.body), /rest-hunter2/);
  assertProblem(await http(gw.httpUrl, "GET", `/v1/clusters/${cluster}/drift`, { token: globex.viewer }), 404, "DRIFT_REPORT_NOT_FOUND");
});
