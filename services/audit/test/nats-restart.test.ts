import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { eventually, setup, startNatsServer } from "@daalu/testing";
import { createAuditPublisher } from "../src/client.js";
import type { auditv1 } from "@daalu/proto";
import { auditEnv, dbStats, pool, record, startAudit } from "./helpers.js";

test("NATS restarts mid-load: every acknowledged record is stored once, none lost", async (t) => {
  const env = await setup();
  const nats = await startNatsServer({ jetstream: true });
  // A dedicated server: restarting it does not disturb tests on the shared one.
  const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  const audit = await startAudit(auditEnv({ ...env.env, NATS_URL: nats.url }, { AUDIT_BATCH_SIZE: "50", AUDIT_ACK_WAIT: "2s" }));
  t.after(async () => {
    await audit.stop();
    await nc.close();
    await nats.cleanup();
    await env.cleanup();
  });
  const publisher = await createAuditPublisher(nc, { prefix: env.prefix, deadlineMs: 20_000, attemptTimeoutMs: 1_000 });

  const records = Array.from({ length: 1_000 }, (_, i) => record("acme", `c${i % 2}`, i));
  const accepted: auditv1.CallRecord[] = [];
  const refused: auditv1.CallRecord[] = [];
  const load = pool(records, 20, async (r, i) => {
    if (i % 50 === 49) await new Promise((res) => setTimeout(res, 30));
    try {
      await publisher.publish(r);
      accepted.push(r);
    } catch {
      refused.push(r);
    }
  });
  await eventually(() => assert.ok(accepted.length >= 200, "records are being accepted"), { timeoutMs: 20_000 });
  const beforeRestart = accepted.length;
  await nats.restart({ downMs: 1_000 });
  await load;

  assert.ok(beforeRestart < 1_000, "the restart happened mid-load");
  assert.equal(refused.length, 0, "publishers waited out the restart");
  await eventually(async () => assert.equal((await dbStats(env.databaseUrl)).rows, accepted.length), { timeoutMs: 30_000 });
  const s = await dbStats(env.databaseUrl);
  assert.equal(s.distinct, s.rows, "no duplicates");
  assert.ok(accepted.every((r) => s.ids.has(r.id)), "every acknowledged record has a row");
  assert.equal(s.calls, accepted.length, "metered once each");
  t.diagnostic(`accepted before restart: ${beforeRestart}; total accepted ${accepted.length}; rows ${s.rows}`);
});
