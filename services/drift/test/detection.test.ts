/**
 * Drift detection end to end without WireGuard: the drift service in this
 * process, reading through the real tunnel-proxy (NATS tunnel subject) → the
 * edge's Proxy on loopback gRPC → the kube-double, as the edge's proxy
 * account with its RBAC; peering and audit real, PostgreSQL and NATS real.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { CallerKind, driftv1, peeringv1 } from "@daalu/proto";
import { DaaluError, createLogger, eventSubject } from "@daalu/runtime";
import { EDGE_PROXY_USER, defaultPolicy } from "@daalu/kube-double";
import { eventually, setup, type TestEnv } from "@daalu/testing";
import { startTunnelStack, type TunnelStack } from "../../tunnel-proxy/test/harness.js";
import { driftClient, type DriftClient } from "../src/index.js";
import { loadConfig } from "../src/config.js";
import { start, type RunningDrift } from "../src/service.js";

const NS = "drift";
const deployment = (name: string, image: string) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, namespace: NS },
  spec: { replicas: 2, template: { spec: { containers: [{ name: "app", image }] } } },
});
const BUNDLE = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${NS}
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: app
          image: nginx:1.25
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: ${NS}
spec:
  replicas: 2
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: ${NS}
data:
  mode: fast
`;
const SECRET_BUNDLE = `apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: ${NS}
data:
  password: ${Buffer.from("desired-hunter3").toString("base64")}
`;

describe("drift detection through the tunnel", () => {
  let env: TestEnv;
  let stack: TunnelStack;
  let svc: RunningDrift;
  let client: DriftClient;
  let prod: string;
  let off: string;
  let now = Date.parse("2026-12-03T05:00:00Z");
  const logLines: string[] = [];
  const events: { kind: string; cluster: string; modified: number; missing: number }[] = [];
  const admin = { tenantId: "acme", caller: { kind: CallerKind.USER, id: "alice" } };
  const isDrift = (code: string) => (err: unknown) => err instanceof DaaluError && err.reason === code;

  before(async () => {
    env = await setup();
    stack = await startTunnelStack(env, [
      { tenant: "acme", name: "prod" },
      { tenant: "acme", name: "off" },
    ]);
    [prod, off] = stack.clusterIds as [string, string];
    stack.kube.store.put({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    stack.kube.store.put(deployment("web", "nginx:1.25"));
    stack.kube.store.put(deployment("api", "api:2"));
    stack.kube.store.put({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings", namespace: NS }, data: { mode: "fast" } });
    stack.kube.store.put({ apiVersion: "v1", kind: "Secret", metadata: { name: "db", namespace: NS }, data: { password: Buffer.from("live-hunter2").toString("base64") } });
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logLines.push(chunk.toString("utf8"));
        cb();
      },
    });
    svc = await start(loadConfig({ ...env.env, DRIFT_GRPC_ADDR: "off", DRIFT_SCHEDULE_TICK: "0" }), createLogger("drift", "debug", sink), { clock: () => now });
    client = driftClient(env.nc, { prefix: env.prefix });
    env.nc.subscribe(eventSubject(env.prefix, "acme", "drift.>"), {
      callback: (_err, m) => {
        const e = fromBinary(driftv1.DriftEventSchema, m.data);
        events.push({ kind: m.subject.split(".").at(-1)!, cluster: e.clusterId, modified: e.summary?.modified ?? 0, missing: e.summary?.missing ?? 0 });
      },
    });
    await env.nc.flush();
    for (const c of [prod, off]) await client.putDesiredState({ clusterId: c, yaml: BUNDLE }, admin);
  });
  after(async () => {
    await svc?.stop();
    await stack?.stop();
    await env?.cleanup();
  });

  it("off by default: no check on demand, on schedule or after a reconnect, and not one read through the tunnel", async () => {
    const before = stack.kube.requests.length;
    assert.equal((await client.getReconciliation({ clusterId: off }, admin)).reconciliation?.enabled, false);
    await assert.rejects(client.checkNow({ clusterId: off }, admin), isDrift("RECONCILIATION_OFF"));
    assert.equal(await svc.scheduler.tick(now + 86_400_000), 0);
    publishStatus(off, peeringv1.ClusterStatus.CONNECTED);
    // A request on the same connection after the event: drift has taken the event (and started whatever it starts)
    // before it answers, since it reads both in order from one socket.
    await client.getReconciliation({ clusterId: off }, admin);
    await svc.scheduler.idle();
    await assert.rejects(client.getDriftReport({ clusterId: off }, admin), isDrift("DRIFT_REPORT_NOT_FOUND"));
    assert.equal(stack.kube.requests.length, before, "the API server saw no request");
    assert.equal(await stack.auditRows(off), 0, "the tunnel-proxy carried no call");
  });

  it("turning it on is one audit row naming the admin; the settings are stored", async () => {
    const set = await client.setReconciliation({ clusterId: prod, enabled: true, intervalSeconds: 60 }, admin);
    assert.deepEqual([set.reconciliation?.enabled, set.reconciliation?.intervalSeconds, set.reconciliation?.updatedBy], [true, 60, "user:alice"]);
    await eventually(async () => assert.equal(await stack.auditRows(prod, `verb = 'reconciliation' and caller_kind = ${CallerKind.USER} and caller_id = 'alice'`), 1));
    await assert.rejects(client.setReconciliation({ clusterId: prod, enabled: true, intervalSeconds: 5 }, admin), isDrift("RECONCILIATION_INVALID"));
    assert.equal((await client.getReconciliation({ clusterId: prod }, admin)).reconciliation?.intervalSeconds, 60);
  });

  it("one list per kind and namespace; a Forbidden kind is unknown with the API server's words and the grant; every read audited as agent:reconciler", async () => {
    const { report } = await client.checkNow({ clusterId: prod }, admin);
    assert.ok(report);
    const states = report.objects.map((o) => [o.kind, o.name, driftv1.ObjectDriftState[o.state]]);
    assert.deepEqual(states, [
      ["Deployment", "web", "IN_SYNC"],
      ["Deployment", "api", "IN_SYNC"],
      ["ConfigMap", "settings", "UNKNOWN"],
    ]);
    const cm = report.objects[2]!;
    assert.match(cm.error, /^configmaps(\.)? "?settings"? is forbidden: User "system:serviceaccount:.*" cannot (get|list) resource "configmaps"/);
    assert.equal(cm.scope, 'grant get/list on configmaps (scope "configmaps")');
    // deployments: one list; configmaps: the list (403), then a GET of the one object (403).
    assert.equal(report.reads, 3);
    assert.equal(report.drifted, false);
    assert.deepEqual(report.summary, create(driftv1.DriftSummarySchema, { inSync: 2, unknown: 1 }));
    await eventually(async () => assert.equal(await stack.auditRows(prod, `caller_kind = ${CallerKind.AGENT} and caller_id = 'reconciler'`), 3));
    assert.equal(await stack.auditRows(prod, `caller_kind = ${CallerKind.AGENT} and verb <> 'list' and verb <> 'get'`), 0);
  });

  it("a changed image is modified and a deleted object missing: one drift.detected; fixed: one drift.resolved", async () => {
    stack.kube.store.put(deployment("web", "nginx:1.26"));
    let r = (await client.checkNow({ clusterId: prod }, admin)).report!;
    assert.equal(driftv1.ObjectDriftState[r.objects[0]!.state], "MODIFIED");
    assert.deepEqual(JSON.parse(r.objects[0]!.patch), [{ op: "replace", path: "/spec/template/spec/containers/0/image", value: "nginx:1.25" }]);
    assert.equal(r.drifted, true);
    stack.kube.store.delete("deployments", NS, "api");
    r = (await client.checkNow({ clusterId: prod }, admin)).report!;
    assert.equal(driftv1.ObjectDriftState[r.objects[1]!.state], "MISSING");
    await eventually(() => assert.deepEqual(events, [{ kind: "detected", cluster: prod, modified: 1, missing: 0 }]));
    // Fixed, and the edge may now read config maps: every object in sync.
    stack.kube.store.put(deployment("web", "nginx:1.25"));
    stack.kube.store.put(deployment("api", "api:2"));
    stack.kube.setRbac(EDGE_PROXY_USER, [...defaultPolicy()[EDGE_PROXY_USER]!, { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"] }]);
    r = (await client.checkNow({ clusterId: prod }, admin)).report!;
    assert.deepEqual(r.summary, create(driftv1.DriftSummarySchema, { inSync: 3 }));
    assert.equal(r.drifted, false);
    await client.checkNow({ clusterId: prod }, admin);
    await eventually(() => assert.deepEqual(events.map((e) => e.kind), ["detected", "resolved"]));
    assert.deepEqual((await client.getDriftReport({ clusterId: prod }, admin)).report?.summary, r.summary);
  });

  it("on schedule at the cluster's due time (clock injected), once per due time; and after a reconnect", async () => {
    now += 61_000;
    assert.equal(await svc.scheduler.tick(now), 1);
    assert.equal(await svc.scheduler.tick(now), 0, "claimed once");
    await svc.scheduler.idle();
    assert.equal((await client.getDriftReport({ clusterId: prod }, admin)).report?.trigger, driftv1.CheckTrigger.SCHEDULE);
    publishStatus(prod, peeringv1.ClusterStatus.CONNECTED);
    await eventually(async () => assert.equal((await client.getDriftReport({ clusterId: prod }, admin)).report?.trigger, driftv1.CheckTrigger.RECONNECT));
  });

  it("a Secret's values appear in no report, response or log line, live or desired", async () => {
    stack.kube.setRbac(EDGE_PROXY_USER, [...defaultPolicy()[EDGE_PROXY_USER]!, { apiGroups: [""], resources: ["secrets"], verbs: ["get", "list"] }]);
    await client.putDesiredState({ clusterId: prod, yaml: SECRET_BUNDLE }, admin);
    const r = (await client.checkNow({ clusterId: prod }, admin)).report!;
    assert.equal(driftv1.ObjectDriftState[r.objects[0]!.state], "MODIFIED");
    const text = JSON.stringify(r, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v)) + logLines.join("");
    for (const secret of ["live-hunter2", "desired-hunter3"]) {
      assert.doesNotMatch(text, new RegExp(secret));
      assert.doesNotMatch(text, new RegExp(Buffer.from(secret).toString("base64")));
    }
    assert.match(r.objects[0]!.patch, /sha256:[0-9a-f]{64}/);
  });

  function publishStatus(clusterId: string, status: peeringv1.ClusterStatus): void {
    const e = create(peeringv1.ClusterEventSchema, { tenantId: "acme", clusterId, kind: peeringv1.ClusterEventKind.STATUS_CHANGED, cluster: { id: clusterId, status } });
    env.nc.publish(eventSubject(env.prefix, "acme", "cluster.status_changed"), toBinary(peeringv1.ClusterEventSchema, e));
  }
});
