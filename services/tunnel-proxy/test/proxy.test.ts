import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { jetstreamManager } from "@nats-io/jetstream";
import { CallerKind } from "@daalu/proto";
import { Code, DaaluError } from "@daalu/runtime";
import { eventually, setup, type TestEnv } from "@daalu/testing";
import { auditStreamName, ensureAuditStream } from "@daalu/audit";
import { proxyCall, type ProxyAnswer } from "../src/client.js";
import { startTunnelStack, type TunnelStack } from "./harness.js";

// A call through the tunnel-proxy: NATS -> tunnel-proxy -> gRPC -> edge ->
// kube-double, with the real peering and audit services.

let env: TestEnv;
let stack: TunnelStack;
let cluster: string;
let other: string;

before(async () => {
  env = await setup();
  stack = await startTunnelStack(env, [{ tenant: "acme", name: "prod" }, { tenant: "globex", name: "theirs" }], { TUNNEL_PROXY_AUDIT_DEADLINE: "1s" });
  [cluster, other] = stack.clusterIds as [string, string];
});
after(async () => {
  await stack?.stop();
  await env?.cleanup();
});

const caller = { kind: CallerKind.USER, id: "alice" };
const call = (path: string, o: { tenant?: string; clusterId?: string; signal?: AbortSignal } = {}) =>
  proxyCall(env.nc, { method: "GET", path, headers: [{ name: "Accept", value: "application/json" }] }, { prefix: env.prefix, tenantId: o.tenant ?? "acme", clusterId: o.clusterId ?? cluster, caller, timeoutMs: 10_000, ...(o.signal ? { signal: o.signal } : {}) });

async function text(a: ProxyAnswer): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of a.body) parts.push(Buffer.from(c));
  return Buffer.concat(parts).toString();
}

test("get pods: the API server's answer, and one audit row with the operation", async () => {
  const a = await call("/api/v1/namespaces/default/pods");
  assert.equal(a.status, 200);
  assert.equal(a.complete, true);
  const list = JSON.parse(await text(a));
  assert.equal(list.kind, "PodList");
  await eventually(async () => assert.equal(await stack.auditRows(cluster, "verb = 'list' and resource = 'pods' and namespace = 'default' and status_code = 200 and caller_id = 'alice' and bytes_out > 0"), 1));
});

test("Forbidden comes back verbatim and is recorded as 403", async () => {
  const a = await call("/api/v1/namespaces/kube-system/secrets");
  assert.equal(a.status, 403);
  const s = JSON.parse(await text(a));
  assert.equal(s.reason, "Forbidden");
  await eventually(async () => assert.equal(await stack.auditRows(cluster, "resource = 'secrets' and status_code = 403 and not ok"), 1));
});

test("another tenant's cluster is not found, and the edge is never called", async () => {
  const before = stack.kube.requests.length;
  await assert.rejects(call("/api/v1/pods", { tenant: "acme", clusterId: other }), (e: DaaluError) => e.code === Code.NotFound);
  assert.equal(stack.kube.requests.length, before);
});

test("the edge's refusal reaches the caller as PERMISSION_DENIED", async () => {
  await assert.rejects(call("/metrics"), (e: DaaluError) => e.code === Code.PermissionDenied);
  await eventually(async () => assert.equal(await stack.auditRows(cluster, "path = '/metrics' and status_code = 403"), 1));
});

test("watch: events stream; cancelling reaches the API server; one record when the stream ends", async () => {
  const a = await call("/api/v1/namespaces/default/services?watch=1");
  assert.equal(a.status, 200);
  assert.equal(a.complete, false);
  await eventually(() => assert.equal(stack.openRequests(), 1));
  const it = a.body;
  stack.kube.store.put({ apiVersion: "v1", kind: "Service", metadata: { name: "streamed", namespace: "default" }, spec: { type: "ClusterIP", clusterIP: "10.0.0.99", ports: [{ port: 80, protocol: "TCP" }] } });
  let seen = "";
  for (;;) {
    const n = await it.next();
    assert.equal(n.done, false);
    seen += Buffer.from(n.value!).toString();
    if (seen.includes('"streamed"')) break;
  }
  assert.equal(await stack.auditRows(cluster, "verb = 'watch'"), 0, "a stream's record is written when it ends");
  await it.return!();
  await eventually(() => assert.equal(stack.openRequests(), 0));
  await eventually(async () => assert.equal(await stack.auditRows(cluster, "verb = 'watch' and resource = 'services'"), 1));
});

test("audit unavailable refuses the call: 503 AUDIT_UNAVAILABLE, and nothing is answered", async () => {
  const jsm = await jetstreamManager(env.nc);
  await jsm.streams.delete(auditStreamName(env.prefix));
  try {
    await assert.rejects(call("/api/v1/namespaces/default/services"), (e: DaaluError) => e.reason === "AUDIT_UNAVAILABLE" && e.httpStatus === 503);
    await new Promise((r) => setTimeout(r, 1_100)); // past the positive cache of the stream check
    await assert.rejects(call("/api/v1/namespaces/default/pods?watch=1"), (e: DaaluError) => e.reason === "AUDIT_UNAVAILABLE");
  } finally {
    await ensureAuditStream(jsm, env.prefix);
  }
});
