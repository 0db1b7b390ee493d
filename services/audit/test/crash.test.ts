import { test } from "node:test";
import assert from "node:assert/strict";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { eventually, spawnService } from "@daalu/testing";
import { AUDIT_CONSUMER, auditStreamName } from "../src/adapters/nats/stream.js";
import { FAILPOINT_AFTER_COMMIT } from "../src/adapters/nats/writer.js";
import { auditEnv, dbStats, harness, pool, record, sums } from "./helpers.js";

test("SIGKILL of the audit service with 1,000 calls in flight: exactly 1,000 rows and matching metering after restart", async (t) => {
  const { env, publisher } = await harness(t, {}, { service: false });
  const svcEnv = auditEnv(env.env, { AUDIT_BATCH_SIZE: "50", AUDIT_ACK_WAIT: "2s" });
  let svc = spawnService("audit", svcEnv);
  t.after(() => svc.kill());
  await svc.ready;

  const records = Array.from({ length: 1_000 }, (_, i) => record("acme", `c${i % 4}`, i));
  // Publish at a pace that keeps records in flight while the service dies.
  const load = pool(records, 10, async (r, i) => {
    if (i % 50 === 49) await new Promise((res) => setTimeout(res, 40));
    return publisher.publish(r);
  });
  await eventually(async () => assert.ok((await dbStats(env.databaseUrl)).rows >= 150, "rows are being written"), { timeoutMs: 20_000 });
  await svc.kill();
  const atKill = (await dbStats(env.databaseUrl)).rows;
  await load;
  assert.ok(atKill < 1_000, `the kill happened mid-load (${atKill} rows)`);

  svc = spawnService("audit", svcEnv);
  await svc.ready;
  await eventually(async () => assert.equal((await dbStats(env.databaseUrl)).rows, 1_000), { timeoutMs: 30_000 });
  const s = await dbStats(env.databaseUrl);
  assert.equal(s.distinct, 1_000);
  assert.ok(records.every((r) => s.ids.has(r.id)), "every record has its row");
  assert.deepEqual({ calls: s.calls, errors: s.errors, bytesIn: s.bytesIn, bytesOut: s.bytesOut }, sums(records));
  t.diagnostic(`rows at kill: ${atKill}; after restart: ${s.rows}; metered calls ${s.calls}, bytes out ${s.bytesOut}`);
});

test("death after commit, before ack: the redelivered batch adds no row and no usage", async (t) => {
  const { env, publisher } = await harness(t, {}, { service: false });
  const base = auditEnv(env.env, { AUDIT_BATCH_SIZE: "20", AUDIT_BATCH_WAIT: "200ms", AUDIT_ACK_WAIT: "1s" });
  const records = Array.from({ length: 20 }, (_, i) => record("acme", "c1", i));
  await pool(records, 20, (r) => publisher.publish(r));

  const doomed = spawnService("audit", { ...base, DAALU_FAILPOINTS: FAILPOINT_AFTER_COMMIT });
  t.after(() => doomed.kill());
  const exit = await new Promise<number | null>((res) => doomed.child.once("exit", (_c, sig) => res(sig === "SIGKILL" ? -9 : _c)));
  assert.equal(exit, -9, "the failpoint killed the writer after its first commit");
  const committed = await dbStats(env.databaseUrl);
  assert.ok(committed.rows > 0, "the batch was committed before the crash");

  const svc = spawnService("audit", base);
  t.after(() => svc.kill());
  await svc.ready;
  // The committed batch was never acked: after AUDIT_ACK_WAIT it is delivered again. Done when the
  // writer consumer has nothing left to deliver or ack, and it did deliver a message twice.
  await eventually(async () => {
    const c = await writerConsumer(env.nc, env.prefix);
    assert.deepEqual({ pending: c.pending, ackPending: c.ackPending }, { pending: 0, ackPending: 0 });
    assert.ok(c.deliveries > c.lastStreamSeq, `the committed batch was redelivered (${c.deliveries} deliveries of ${c.lastStreamSeq} messages)`);
  }, { timeoutMs: 15_000 });
  const s = await dbStats(env.databaseUrl);
  assert.equal(s.rows, 20);
  assert.deepEqual({ calls: s.calls, errors: s.errors, bytesIn: s.bytesIn, bytesOut: s.bytesOut }, sums(records));
});

/** The audit writer consumer: messages not yet delivered, delivered but unacked, and deliveries so far. */
async function writerConsumer(nc: NatsConnection, prefix: string): Promise<{ pending: number; ackPending: number; deliveries: number; lastStreamSeq: number }> {
  const info = await (await jetstreamManager(nc)).consumers.info(auditStreamName(prefix), AUDIT_CONSUMER);
  return { pending: info.num_pending, ackPending: info.num_ack_pending, deliveries: info.delivered.consumer_seq, lastStreamSeq: info.delivered.stream_seq };
}
