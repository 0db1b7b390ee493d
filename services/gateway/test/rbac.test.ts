/**
 * RBAC widening end to end, without WireGuard: gateway → peering (requested,
 * stored reports) and → tunnel-proxy → tunnel subject → a real edge agent's
 * GetStatus (loopback gRPC) → the kube-double. An admin generates a patch;
 * applying its manifest to the double through the API (as `kubectl apply`
 * would) flips the edge's effective scopes, and the hub shows them and
 * confirms the patch applied.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { KubeConfig, KubernetesObjectApi, type KubernetesObject } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { CallerKind } from "@daalu/proto";
import { peeringClient } from "@daalu/peering";
import type { TestEnv } from "@daalu/testing";
import type { TunnelStack } from "../../tunnel-proxy/test/harness.js";
import { startEdgeWorld } from "./edge-agent.js";
import type { RunningGateway } from "../src/service.js";
import { assertProblem, http, type Tokens } from "./helpers.js";

let env: TestEnv;
let stack: TunnelStack;
let gw: RunningGateway;
let acme: Tokens;
let globex: Tokens;
let cluster: string;
const HUB = "https://hub.example.com";

before(async () => {
  ({ env, acme, globex, stack, cluster, gw } = await startEdgeWorld({ GATEWAY_PUBLIC_URL: HUB }));
});
after(async () => {
  await gw?.close();
  await stack?.stop();
  await env?.cleanup();
});

type ScopeRow = { name: string; requested: boolean; effective: string; includesSecrets: boolean };
const rbac = async (token = acme.viewer) => {
  const r = await http(gw.url, "GET", `/v1/clusters/${cluster}/rbac`, { token });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const by = (n: string) => (r.body.scopes as ScopeRow[]).find((s) => s.name === n)!;
  return { body: r.body, by };
};
const patch = (body: unknown, token = acme.admin) => http(gw.url, "POST", `/v1/clusters/${cluster}/rbac/patch`, { token, json: body });

test("the patch applied to the cluster flips the edge's effective scopes, and the hub shows and confirms it", { timeout: 90_000 }, async () => {
  // Before: the chart's default, read-only; nothing requested.
  const first = await rbac();
  assert.equal(first.body.effective.source, "edge");
  assert.equal(first.body.requested, null);
  assert.deepEqual([first.by("read-only").effective, first.by("nodes-namespaces").effective], ["granted", "granted"]);
  for (const n of ["read-wide", "configmaps", "exec", "secrets"]) assert.equal(first.by(n).effective, "missing", n);
  assert.equal(first.by("secrets").includesSecrets, true);
  assert.equal(first.body.applied, false);

  // Only an admin generates; an unknown scope is a stable 400.
  assertProblem(await patch({ scopes: ["configmaps"] }, acme.viewer), 403, "ADMIN_REQUIRED");
  assertProblem(await patch({ scopes: ["cluster-admin"] }), 400, "RBAC_SCOPE_UNKNOWN");
  assertProblem(await patch({ scopes: ["custom-resources:*"] }), 400, "RBAC_SCOPE_INVALID");
  assertProblem(await patch({ scopes: ["configmaps"] }, globex.admin), 404, "CLUSTER_NOT_FOUND");

  const scopes = ["configmaps", "exec", "custom-resources:cert-manager.io"];
  const p = await patch({ scopes });
  assert.equal(p.status, 200, JSON.stringify(p.body));
  assert.equal(p.body.includesSecrets, false);
  assert.match(p.body.helmCommand, /^helm upgrade daalu-edge daalu-edge --repo https:\/\/hub\.example\.com\/charts --version \S+ --namespace daalu-edge --reuse-values /);
  assert.match(p.body.values, /extras:\n\s+- configmaps\n\s+- exec\n/);
  const objects = parseAllDocuments(p.body.manifest).map((d) => d.toJS() as KubernetesObject);
  assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata?.name}`), ["ClusterRole/daalu-edge-daalu-edge-read", "ClusterRoleBinding/daalu-edge-daalu-edge-read"]);

  // Requested, not yet effective: the hub applies nothing.
  const pending = await rbac();
  assert.deepEqual(pending.body.requested.scopes, scopes);
  assert.deepEqual([pending.by("configmaps").requested, pending.by("configmaps").effective], [true, "missing"]);
  assert.equal(pending.by("custom-resources:cert-manager.io").effective, "missing");
  assert.deepEqual([pending.body.applied, pending.body.confirmedAt], [false, null]);
  assert.equal(stack.kube.store.list("clusterroles").length, 0, "the hub never writes RBAC");

  // The customer applies the manifest (through the API, with a cluster admin's token).
  const kc = new KubeConfig();
  kc.loadFromString(stack.kube.kubeconfig({ token: "admin-token" }));
  const k8s = KubernetesObjectApi.makeApiClient(kc);
  for (const o of objects) await k8s.create(o);

  const after = await rbac();
  for (const n of scopes) assert.deepEqual([after.by(n).requested, after.by(n).effective], [true, "granted"], n);
  assert.equal(after.by("secrets").effective, "missing");
  assert.equal(after.by("read-wide").effective, "missing", "only what was asked for");
  assert.equal(after.body.applied, true);
  assert.ok(Math.abs(Date.parse(after.body.confirmedAt) - Date.now()) < 60_000);
  assert.ok(after.body.effective.rules.some((r: { resources: string[] }) => r.resources.includes("pods/exec")));
});

test("a cluster whose tunnel is down: every scope unknown, and the hub says why it could not ask", { timeout: 60_000 }, async () => {
  const pc = peeringClient(env.nc, { prefix: env.prefix, defaults: { caller: { kind: CallerKind.SERVICE, id: "invite" } } });
  const fresh = (await pc.createCluster({ name: "fresh" }, { tenantId: "acme" })).cluster!.id;
  const r = await http(gw.url, "GET", `/v1/clusters/${fresh}/rbac`, { token: acme.viewer });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual([r.body.effective.source, r.body.effective.at], ["stored", null]);
  assert.match(r.body.effective.liveError, /not connected|no tunnel|enroll/i);
  assert.ok(r.body.scopes.every((x: ScopeRow) => x.effective === "unknown" && !x.requested));
  assertProblem(await http(gw.url, "GET", `/v1/clusters/${fresh}/rbac`, { token: globex.viewer }), 404, "CLUSTER_NOT_FOUND");
});
