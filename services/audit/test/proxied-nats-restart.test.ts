import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { eventually, setup, spawnService, startNatsServer, type TestEnv } from "@daalu/testing";
import { startTunnelStack } from "../../tunnel-proxy/test/harness.js";
import { auditEnv } from "./helpers.js";
import { AuditReader, ProxiedLoad, recordsWaiting, type CallOutcome } from "./proxied.js";

// Issue 4: restart NATS (JetStream) mid-load under real calls through the
// tunnel. The whole stack (peering, tunnel-proxy, the audit service as its own
// process, the callers) runs on a private nats-server, so restarting it does
// not disturb tests on the shared one.
//
// What must hold: a caller that got an answer has exactly one row that
// describes it (the proxy answers only after JetStream accepted the record);
// a caller that got none was told why; no call has two rows; calls work again
// after the restart. So rows = answered calls, plus calls whose answer was
// lost on the way back: the proxy ran them against the API server and
// answered once their record was accepted, but core NATS (at-most-once) lost
// the answer with the server. Their rows are right: the call happened.

const CALLS = 400;
const AFTER = 50;

test("NATS restarts mid-load with proxied calls: every answered call has exactly one row, every other call a clear error, and calls resume", async (t) => {
  const shared = await setup();
  const nats = await startNatsServer({ jetstream: true });
  const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  const env: TestEnv = { ...shared, natsUrl: nats.url, nc, env: { ...shared.env, NATS_URL: nats.url } };
  const stack = await startTunnelStack(env, [{ tenant: "acme", name: "prod" }], {}, { audit: false });
  const cluster = stack.clusterIds[0]!;
  const reader = new AuditReader(env.databaseUrl);
  const svc = spawnService("audit", auditEnv(env.env, { AUDIT_ACK_WAIT: "2s" }));
  t.after(async () => {
    await svc.kill();
    await stack.stop();
    await reader.close();
    await nc.close();
    await nats.cleanup();
    await shared.cleanup();
  });
  await svc.ready;

  const opts = { prefix: env.prefix, tenantId: "acme", clusterId: cluster, timeoutMs: 10_000 };
  // One call first: the cold start of the path (first gRPC channel, first JetStream publish, JIT)
  // can take seconds of CPU on a loaded machine, and is not what this test is about.
  const warm = await new ProxiedLoad(nc, { ...opts, timeoutMs: 30_000 }).call("warm-up");
  assert.equal(warm.status, 200, warm.error?.message);

  const load = new ProxiedLoad(nc, opts);
  const ids = Array.from({ length: CALLS }, (_, i) => `load-${i}`);
  const done = load.run(ids, 32);
  // A message in the polled assert.ok (see proxied-crash.test.ts): without one, node:assert parses the source per failure.
  await eventually(() => assert.ok(load.answered >= 100, "calls are being answered"), { timeoutMs: 30_000, intervalMs: 20 });
  const atRestart = { started: load.started, answered: load.answered, failed: load.failed };
  const restartedAt = Date.now();
  await nats.restart({ downMs: 1_000 });
  const upMs = Date.now() - restartedAt;
  const backAtMs = Date.now() - load.t0;
  const outcomes = await done;
  assert.ok(atRestart.answered < CALLS, `the restart happened mid-load (${atRestart.answered} of ${CALLS} answered)`);

  // Calls resume: a fresh batch after the load all succeed.
  const after = await load.run(Array.from({ length: AFTER }, (_, i) => `after-${i}`), 16);
  assert.deepEqual(after.filter((o) => o.error).map(describe), [], "calls after the restart succeed");

  // Settled: no handler is still publishing, and every accepted record has left the stream for PostgreSQL.
  await eventually(() => assert.equal(stack.proxy.inflight, 0), { timeoutMs: 15_000 });
  await eventually(async () => assert.equal(await recordsWaiting(nc, env.prefix), 0), { timeoutMs: 30_000 });
  const rows = await reader.byCaller(cluster);
  const all = [warm, ...outcomes, ...after];
  const answered = all.filter((o) => !o.error);
  const failed = all.filter((o) => o.error);

  for (const o of answered) {
    assert.equal(o.status, 200, o.callerId);
    // Answered => its record was accepted: exactly one row, describing the answer.
    assert.deepEqual(rows.get(o.callerId), { rows: 1, statusCode: 200, ok: true, bytesOut: o.bytes }, `${o.callerId} was answered, so it has exactly one row`);
  }
  let lostAnswers = 0;
  let errorAnswers = 0;
  for (const o of failed) {
    const e = o.error!;
    assert.ok(e.reason && e.message, `${o.callerId} failed with a clear error (${describe(o)})`);
    const r = rows.get(o.callerId);
    assert.ok(!r || r.rows === 1, `${o.callerId}: never two rows`);
    if (e.reason === "AUDIT_UNAVAILABLE" || e.reason === "TUNNEL_UNAVAILABLE" || e.reason === "CLUSTER_MOVING") {
      // The proxy refused it for want of an accepted record, or never received it (no responder while NATS
      // restarts: an alive probe that times out reads as CLUSTER_MOVING, see no-responder.ts).
      assert.equal(r, undefined, `${o.callerId} (${e.reason}) has no row`);
    } else if (e.reason === "TUNNEL_TIMEOUT") {
      // No answer within the caller's timeout: never sent, or sent and lost with the server.
      if (r) lostAnswers++;
    } else {
      // The proxy's own error answer goes out only after its record was accepted.
      assert.equal(r?.ok, false, `${o.callerId}'s error answer (${describe(o)}) has its failure row`);
      errorAnswers++;
    }
  }
  const callers = new Set(all.map((o) => o.callerId));
  assert.deepEqual([...rows.keys()].filter((c) => !callers.has(c)), [], "every row belongs to a call of this test");
  const total = [...rows.values()].reduce((s, r) => s + r.rows, 0);
  assert.equal(total, answered.length + errorAnswers + lostAnswers, "no row but those of answered calls, error answers and answers lost in transit");
  const errorRows = [...rows.values()].filter((r) => !r.ok).length;
  // Cross-check from the other end: the API server answered exactly the calls that have an ok row,
  // plus any the proxy then refused because JetStream did not accept their record.
  const apiServer = stack.kube.requestCount((r) => r.path === "/api/v1/namespaces/default/pods" && r.status === 200);
  const okRows = [...rows.values()].filter((r) => r.ok).length;
  const refused = failed.filter((o) => o.error!.reason === "AUDIT_UNAVAILABLE").length;
  assert.ok(okRows <= apiServer && apiServer <= okRows + refused, `API server answered ${apiServer} calls; ${okRows} ok rows, ${refused} refused`);
  const usage = await reader.usage(cluster);
  assert.deepEqual({ calls: usage.calls, errors: usage.errors }, { calls: total, errors: errorRows }, "metering counts each row once");
  const resumed = outcomes.filter((o) => !o.error && o.startedMs >= backAtMs).length;
  assert.ok(resumed > 0, "the load itself went on once the server was back");

  const loadFailed = outcomes.filter((o) => o.error).length;
  const reasons = new Map<string, number>();
  for (const o of failed) reasons.set(o.error!.reason, (reasons.get(o.error!.reason) ?? 0) + 1);
  t.diagnostic(
    `at restart: ${atRestart.started} started, ${atRestart.answered} answered, ${atRestart.failed} failed; server back after ${upMs} ms; ` +
      `load: ${CALLS - loadFailed} answered, ${loadFailed} failed ${JSON.stringify(Object.fromEntries(reasons))}; ` +
      `rows ${total} = ${answered.length} answered (warm-up and after included) + ${errorAnswers} error answers + ${lostAnswers} answers lost in transit; ${resumed} load calls started after the restart answered; after: ${AFTER}/${AFTER}`,
  );
});

function describe(o: CallOutcome): string {
  return `${o.callerId}: ${o.error?.reason} ${o.error?.message}`;
}
