import { test } from "node:test";
import assert from "node:assert/strict";
import { eventually, setup, spawnService } from "@daalu/testing";
import { startTunnelStack } from "../../tunnel-proxy/test/harness.js";
import { auditEnv, deleteStream } from "./helpers.js";
import { AuditReader, ProxiedLoad, recordsWaiting } from "./proxied.js";

// Issue 4: kill the audit service while 1,000 calls through the tunnel are in
// flight; once it is back there is exactly one row per call. The calls are
// real: NATS -> tunnel-proxy -> gRPC -> edge -> kube-double, and the audit
// service is its own process, killed with SIGKILL.

const CALLS = 1_000;

test("SIGKILL of the audit service with 1,000 proxied calls in flight: every call answered, exactly 1,000 rows and matching metering after restart", async (t) => {
  const env = await setup();
  // A long cluster cache: each call that misses it asks peering for the edge's address
  // (no single flight), so a burst on a cold or expiring entry sends peering up to 1,000
  // lookups at once, which can time out on a loaded machine: a tunnel-proxy matter, not audit's.
  const stack = await startTunnelStack(env, [{ tenant: "acme", name: "prod" }], { TUNNEL_PROXY_CLUSTER_CACHE: "120s" }, { audit: false });
  const cluster = stack.clusterIds[0]!;
  const reader = new AuditReader(env.databaseUrl);
  const svcEnv = auditEnv(env.env, { AUDIT_ACK_WAIT: "2s" });
  let svc = spawnService("audit", svcEnv);
  t.after(async () => {
    await svc.kill();
    await stack.stop();
    await reader.close();
    await deleteStream(env.nc, env.prefix);
    await env.cleanup();
  });
  await svc.ready;

  const opts = { prefix: env.prefix, tenantId: "acme", clusterId: cluster, timeoutMs: 40_000 };
  // One call first: it fills the cluster cache and pays the path's cold start.
  const warm = await new ProxiedLoad(env.nc, opts).call("warm-up");
  assert.equal(warm.status, 200, warm.error?.message);

  // Every call starts at once: the proxy answers them as fast as the edge and JetStream allow.
  const load = new ProxiedLoad(env.nc, opts);
  const ids = Array.from({ length: CALLS }, (_, i) => `load-${i}`);
  const done = load.run(ids, CALLS);
  // Always a message in a polled assert.ok: without one, each failure makes node:assert re-read and
  // parse the (TypeScript) source for the message, which blocks the event loop for up to seconds.
  await eventually(async () => assert.ok((await reader.count(cluster)) >= 100, "rows are being written"), { timeoutMs: 30_000, intervalMs: 20 });
  const atKill = { started: load.started, answered: load.answered, failed: load.failed };
  await svc.kill();
  const rowsAtKill = await reader.count(cluster);
  assert.equal(atKill.started, CALLS);
  assert.ok(atKill.answered + atKill.failed < CALLS, `calls were in flight at the kill (${atKill.answered} of ${CALLS} answered)`);

  const outcomes = await done;
  const failures = outcomes.filter((o) => o.error);
  // The proxy needs JetStream to accept each record, not the audit service to store it.
  assert.deepEqual(failures.map((o) => `${o.callerId}: ${o.error!.reason} ${o.error!.message}`), [], "every call is answered while audit is down");
  assert.ok(outcomes.every((o) => o.status === 200 && o.bytes > 0), "every call got the pod list");
  const rowsWhileDown = await reader.count(cluster);
  const waiting = await recordsWaiting(env.nc, env.prefix);
  // Answered but not stored: their records wait in the stream (a message may carry several records).
  assert.ok(rowsWhileDown < CALLS + 1, `not every answered call is stored while audit is down (${rowsWhileDown} rows)`);
  assert.ok(waiting > 0, `the stream holds what is not yet stored (${waiting} messages waiting, ${rowsWhileDown} rows)`);

  svc = spawnService("audit", svcEnv);
  await svc.ready;
  // Settled: the stream is empty (work queue: a record leaves it only when its row committed).
  await eventually(async () => assert.equal(await recordsWaiting(env.nc, env.prefix), 0), { timeoutMs: 30_000 });

  const rows = await reader.byCaller(cluster);
  assert.equal(await reader.count(cluster), CALLS + 1, "exactly one row per call (and the warm-up's)");
  for (const o of [warm, ...outcomes]) {
    const r = rows.get(o.callerId);
    assert.ok(r, `${o.callerId} has its row`);
    assert.deepEqual(r, { rows: 1, statusCode: 200, ok: true, bytesOut: o.bytes }, `${o.callerId}'s row describes its answer`);
  }
  assert.equal(stack.kube.requestCount((r) => r.path === "/api/v1/namespaces/default/pods"), CALLS + 1, "one API server request per call");
  const bytes = [warm, ...outcomes].reduce((s, o) => s + o.bytes, 0);
  assert.deepEqual(await reader.usage(cluster), { calls: CALLS + 1, errors: 0, bytesOut: bytes }, "metering counts each call once");
  const slowest = Math.max(...outcomes.map((o) => o.endedMs));
  t.diagnostic(`at kill: ${atKill.started} started, ${atKill.answered} answered, ${rowsAtKill} rows; all ${CALLS} answered by ${slowest} ms; while down: ${rowsWhileDown} rows, ${waiting} stream messages waiting; after restart: ${CALLS} + 1 (warm-up) rows, ${bytes} bytes metered`);
});
