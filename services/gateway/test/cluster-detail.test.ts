/**
 * The cluster detail page's reads through the whole path: gateway → NATS →
 * peering (history, alerts, the row's update badge) and → tunnel-proxy →
 * tunnel subject → edge (loopback gRPC) → kube-double (rollouts; the edge
 * agent's own GetStatus).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import pg from "pg";
import { CallerKind, peeringv1 } from "@daalu/proto";
import { natsClient } from "@daalu/runtime";
import { EDGE_VERSION } from "@daalu/edge";
import { eventually, type TestEnv } from "@daalu/testing";
import type { TunnelStack } from "../../tunnel-proxy/test/harness.js";
import { startEdgeWorld } from "./edge-agent.js";
import { chartVersion } from "../src/http/charts.js";
import { DEFAULT_GATEWAY_EDGE_CHART_DIR } from "../src/config.js";
import type { RunningGateway } from "../src/service.js";
import { assertProblem, http, type Tokens } from "./helpers.js";

let env: TestEnv;
let stack: TunnelStack;
let gw: RunningGateway;
let acme: Tokens;
let globex: Tokens;
let cluster: string;
let db: pg.Pool;

before(async () => {
  // The real edge agent's GetStatus, against the same kube-double its Proxy uses.
  ({ env, acme, globex, stack, cluster, gw } = await startEdgeWorld());
  db = new pg.Pool({ connectionString: env.databaseUrl, max: 2 });
  db.on("error", () => undefined);
});
after(async () => {
  await gw?.close();
  await stack?.stop();
  await db?.end();
  await env?.cleanup();
});

const get = (p: string, token = acme.viewer) => http(gw.url, "GET", p, { token });

test("rollouts: every deployment, statefulset and daemonset with kubectl's verdict, failed and rolling first", { timeout: 60_000 }, async () => {
  const r = await get(`/v1/clusters/${cluster}/queries/rollouts`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const key = (x: { kind: string; namespace: string; name: string }) => `${x.kind}/${x.namespace}/${x.name}`;
  const kinds = { Deployment: "deployments", StatefulSet: "statefulsets", DaemonSet: "daemonsets" } as const;
  const inStore = Object.entries(kinds).flatMap(([kind, plural]) => stack.kube.store.list(plural).map((o) => `${kind}/${o.metadata?.namespace}/${o.metadata?.name}`));
  assert.deepEqual(r.body.rollouts.map(key).sort(), inStore.sort());
  assert.equal(r.body.total, inStore.length);
  const api = r.body.rollouts.find((x: { name: string }) => x.name === "api");
  assert.deepEqual([api.kind, api.state, api.desired, api.updated], ["Deployment", "progressing", 2, 1]);
  assert.equal(api.message, 'Waiting for deployment "api" rollout to finish: 1 out of 2 new replicas have been updated...');
  const web = r.body.rollouts.find((x: { name: string }) => x.name === "web");
  assert.deepEqual([web.state, web.generation <= web.observedGeneration], ["done", true]);
  const states = r.body.rollouts.map((x: { state: string }) => x.state);
  assert.deepEqual(states, [...states].sort((a: string, b: string) => ["failed", "progressing", "done"].indexOf(a) - ["failed", "progressing", "done"].indexOf(b)), "failed, then progressing, then done");

  // A deployment past its progress deadline comes first, with its condition's message.
  stack.kube.store.update("deployments", "shop", "worker", (o) => {
    const s = o as { status?: { conditions?: object[] } };
    s.status = { ...s.status, conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded", message: 'ReplicaSet "worker-7d9" has timed out progressing.', lastUpdateTime: new Date().toISOString() }] };
  });
  const after = await get(`/v1/clusters/${cluster}/queries/rollouts?namespace=shop&limit=2`);
  assert.equal(after.status, 200, JSON.stringify(after.body));
  assert.equal(after.body.rollouts.length, 2);
  assert.deepEqual([after.body.rollouts[0].name, after.body.rollouts[0].state, after.body.rollouts[0].conditionMessage], ["worker", "failed", 'ReplicaSet "worker-7d9" has timed out progressing.']);
  assert.ok(after.body.rollouts.every((x: { namespace: string }) => x.namespace === "shop"));
  // The query's GETs are audited like any call through the tunnel.
  await eventually(async () => assert.ok((await stack.auditRows(cluster)) >= 6, "three GETs per query, audited"));
  assertProblem(await get(`/v1/clusters/${cluster}/queries/rollouts?limit=501`), 400, "INVALID_QUERY");
  assertProblem(await get(`/v1/clusters/${cluster}/queries/rollouts`, globex.viewer), 404, "CLUSTER_NOT_FOUND");
});

test("edge: the edge agent's own health through the tunnel; a tunnel that is down is 503 at once", { timeout: 60_000 }, async () => {
  const r = await get(`/v1/clusters/${cluster}/edge`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.version, EDGE_VERSION);
  assert.equal(r.body.apiServer, stack.kube.url);
  assert.equal(r.body.apiReachable, true);
  assert.equal(typeof r.body.uptimeSeconds, "number");
  assert.equal(typeof r.body.handshakeAgeSeconds, "number");
  assert.ok(Math.abs(Date.parse(r.body.lastProbeAt) - Date.now()) < 60_000);
  assert.ok(r.body.nodeCount > 0);
  assertProblem(await get(`/v1/clusters/${cluster}/edge`, globex.viewer), 404, "CLUSTER_NOT_FOUND");

  // Not enrolled: no tunnel at all. Enrolled but no handshake yet: the tunnel is down. Neither dials the edge.
  const pc = natsClient(env.nc, peeringv1.PeeringService, { prefix: env.prefix, defaults: { caller: { kind: CallerKind.SERVICE, id: "invite" } } });
  const fresh = (await pc.createCluster({ name: "fresh" }, { tenantId: "acme" })).cluster!.id;
  assertProblem(await get(`/v1/clusters/${fresh}/edge`), 503, "CLUSTER_NOT_CONNECTED");
  const pub = generateKeyPairSync("x25519").publicKey.export({ format: "der", type: "spki" }).subarray(-32).toString("base64");
  await pc.reserveEnrollment({ clusterId: fresh, publicKey: pub, enrollmentId: "e1" });
  await pc.commitEnrollment({ clusterId: fresh, enrollmentId: "e1" });
  assertProblem(await get(`/v1/clusters/${fresh}/edge`), 503, "TUNNEL_NOT_CONNECTED");
});

test("history and alerts of a cluster, newest first; the row counts open alerts and says when its edge is behind", { timeout: 60_000 }, async () => {
  const latest = await chartVersion(DEFAULT_GATEWAY_EDGE_CHART_DIR);
  // What the hub node writes (health-store.ts updateHealth): status changes, each one a history row.
  for (const [status, diagnostic] of [["awaiting_handshake", ""], ["connected", ""], ["disconnected", "no WireGuard handshake for 3m"]]) {
    await db.query("update peering.clusters set status = $2, status_since = now(), diagnostic = $3 where id = $1", [cluster, status, diagnostic]);
  }
  const h = await get(`/v1/clusters/${cluster}/history?limit=2`);
  assert.equal(h.status, 200, JSON.stringify(h.body));
  assert.deepEqual(h.body.transitions.map((x: { from: string; to: string; diagnostic: string | null }) => [x.from, x.to, x.diagnostic]), [
    ["connected", "disconnected", "no WireGuard handshake for 3m"],
    ["awaiting_handshake", "connected", null],
  ]);
  assert.ok(!Number.isNaN(Date.parse(h.body.transitions[0].at)));
  assert.equal((await get(`/v1/clusters/${cluster}/history`)).body.transitions.length, 3);
  assertProblem(await get(`/v1/clusters/${cluster}/history`, globex.viewer), 404, "CLUSTER_NOT_FOUND");
  assertProblem(await get(`/v1/clusters/${cluster}/history?limit=501`), 400, "INVALID_REQUEST");

  await db.query("insert into peering.cluster_alerts (tenant_id, cluster_id, severity, summary, diagnostic, raised_at, resolved_at) values ('acme', $1, 'critical', 'no WireGuard handshake for 15m', 'd1', now() - interval '2 hours', now() - interval '1 hour')", [cluster]);
  await db.query("insert into peering.cluster_alerts (tenant_id, cluster_id, severity, summary, diagnostic, raised_at) values ('acme', $1, 'critical', 'no WireGuard handshake for 15m', 'd2', now())", [cluster]);
  const a = await get(`/v1/clusters/${cluster}/alerts`);
  assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.deepEqual(a.body.alerts.map((x: { diagnostic: string; resolvedAt: string | null; clusterName: string; severity: string }) => [x.diagnostic, x.resolvedAt === null, x.clusterName, x.severity]), [
    ["d2", true, "prod", "critical"],
    ["d1", false, "prod", "critical"],
  ]);
  assertProblem(await get(`/v1/clusters/${cluster}/alerts`, globex.viewer), 404, "CLUSTER_NOT_FOUND");

  const row = async () => (await get(`/v1/clusters/${cluster}`)).body.cluster;
  assert.equal((await row()).openAlerts, 1);
  assert.equal((await get("/v1/clusters")).body.clusters.find((c: { id: string }) => c.id === cluster).openAlerts, 1);
  // The hub's defaults: the current release is the chart it serves, and also the oldest it supports.
  const upgrade: string = (await row()).upgradeCommand;
  assert.match(upgrade, new RegExp(`^helm upgrade daalu-edge daalu-edge --repo http://127\\.0\\.0\\.1:\\d+/charts --version ${latest.replaceAll(".", "\\.")} -n daalu-edge --reuse-values$`));
  const edgeFields = async () => {
    const c = await row();
    return [c.edgeVersion, c.latestEdgeVersion, c.minEdgeVersion, c.updateAvailable, c.edgeSupport, c.diagnostic];
  };
  assert.deepEqual(await edgeFields(), [null, latest, latest, false, null, "no WireGuard handshake for 3m"]);
  await db.query("update peering.clusters set edge_version = '0.0.1' where id = $1", [cluster]);
  const unsupported = `edge 0.0.1 is older than the oldest supported ${latest}: upgrade with ${upgrade}`;
  assert.deepEqual(await edgeFields(), ["0.0.1", latest, latest, true, "unsupported", `no WireGuard handshake for 3m; ${unsupported}`]);
  const listed = (await get("/v1/clusters")).body.clusters.find((c: { id: string }) => c.id === cluster);
  assert.deepEqual([listed.edgeSupport, listed.updateAvailable, listed.upgradeCommand], ["unsupported", true, upgrade], "the list carries the same judgement");
  await db.query("update peering.clusters set edge_version = $2, diagnostic = '' where id = $1", [cluster, latest]);
  assert.deepEqual(await edgeFields(), [latest, latest, latest, false, "current", null]);
  await db.query("update peering.clusters set edge_version = 'dev-build' where id = $1", [cluster]);
  assert.deepEqual((await edgeFields()).slice(3, 5), [false, null], "not SemVer: no claim either way");
});
