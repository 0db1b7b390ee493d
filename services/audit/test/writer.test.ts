import { test } from "node:test";
import assert from "node:assert/strict";
import { create, toBinary } from "@bufbuild/protobuf";
import { jetstream } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import pg from "pg";
import { auditv1 } from "@daalu/proto";
import { auditSubject, Code, DaaluError } from "@daalu/runtime";
import { eventually, testServers } from "@daalu/testing";
import { createAuditPublisher } from "../src/client.js";
import { dbStats, deleteStream, harness, pool, record, sums } from "./helpers.js";

test("a republished record (same id) is stored once and metered once", async (t) => {
  const { env, audit: a, publisher } = await harness(t);
  const audit = a!;
  const r = record("acme", "c1", 1);

  const first = await publisher.publish(r);
  const again = await publisher.publish(r);
  assert.equal(first.duplicate, false);
  assert.equal(again.duplicate, true, "JetStream drops a republish within the duplicate window");
  // Past the duplicate window (here: no Nats-Msg-Id at all) the same record reaches the writer twice.
  const js = jetstream(env.nc);
  const bytes = toBinary(auditv1.CallRecordSchema, r);
  await js.publish(auditSubject(env.prefix, "acme", "c1"), bytes);
  await js.publish(auditSubject(env.prefix, "acme", "c1"), bytes);

  await eventually(() => assert.equal(audit.stats().duplicates, 2));
  const s = await dbStats(env.databaseUrl);
  assert.equal(s.rows, 1);
  assert.equal(s.calls, 1, "metered once");
  assert.equal(s.bytesOut, Number(r.bytesOut));
});

test("a malformed record is terminated and does not block the stream", async (t) => {
  const { env, audit: a, publisher } = await harness(t);
  const audit = a!;
  const js = jetstream(env.nc);
  const subject = auditSubject(env.prefix, "acme", "c1");
  await js.publish(subject, new Uint8Array([0xff, 0xff, 0xff]));
  // Valid protobuf, invalid record (no id): the publisher refuses it, so send it raw.
  await js.publish(subject, toBinary(auditv1.CallRecordSchema, { ...record("acme", "c1", 2), id: "" }));
  // A record whose subject names another tenant.
  await js.publish(auditSubject(env.prefix, "evil", "c1"), toBinary(auditv1.CallRecordSchema, record("acme", "c1", 3)));
  await publisher.publish(record("acme", "c1", 4));

  await eventually(async () => {
    assert.equal(audit.stats().malformed, 3);
    assert.equal((await dbStats(env.databaseUrl)).rows, 1);
  });
  await assert.rejects(publisher.publish({ ...record("acme", "c1", 5), id: "x" }), (e: DaaluError) => e.code === Code.InvalidArgument && e.reason === "INVALID_CALL_RECORD");
});

test("the publisher fails with Unavailable when JetStream does not acknowledge", async (t) => {
  const { env } = await harness(t, {}, { service: false });
  const publisher = await createAuditPublisher(env.nc, { prefix: env.prefix, deadlineMs: 600, attemptTimeoutMs: 200 });
  await deleteStream(env.nc, env.prefix);
  await assert.rejects(publisher.publish(record("acme", "c1", 1)), (e: DaaluError) => e.code === Code.Unavailable && e.reason === "AUDIT_UNAVAILABLE");
});

test("PostgreSQL unreachable for the audit database mid-load: every record lands once it returns", async (t) => {
  const { env, audit: a, publisher } = await harness(t, { AUDIT_BATCH_SIZE: "50" });
  const audit = a!;
  const dbName = new URL(env.databaseUrl).pathname.slice(1);
  const admin = new pg.Client({ connectionString: (await testServers()).databaseUrl });
  await admin.connect();
  t.after(async () => {
    await admin.query(`alter database ${dbName} allow_connections true`).catch(() => undefined);
    await admin.end();
  });

  const records = Array.from({ length: 600 }, (_, i) => record("acme", `c${i % 3}`, i));
  const load = pool(records, 20, async (r, i) => {
    if (i % 100 === 0) await new Promise((res) => setTimeout(res, 100));
    return publisher.publish(r);
  });
  // Wait until some rows are in, then cut the audit database off for real.
  await eventually(async () => assert.ok((await dbStats(env.databaseUrl)).rows >= 50, "some rows before the outage"));
  await admin.query(`alter database ${dbName} allow_connections false`);
  await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [dbName]);
  const outageStart = Date.now();
  await new Promise((res) => setTimeout(res, 3_000));
  const failuresDuringOutage = audit.stats().failures;
  await admin.query(`alter database ${dbName} allow_connections true`);
  const outageEnd = Date.now();
  await load;

  assert.ok(failuresDuringOutage > 0, "the writer saw the database go away");
  await eventually(async () => assert.equal((await dbStats(env.databaseUrl)).rows, 600), { timeoutMs: 30_000 });
  const s = await dbStats(env.databaseUrl);
  assert.equal(s.distinct, 600);
  assert.deepEqual({ calls: s.calls, errors: s.errors, bytesIn: s.bytesIn, bytesOut: s.bytesOut }, sums(records));
  assert.ok(records.every((r) => s.ids.has(r.id)), "every record stored");
  t.diagnostic(`outage ${outageEnd - outageStart} ms, write failures retried: ${audit.stats().failures}`);
});

test("group publishing: concurrent records of one subject share messages, each stored and metered once", async (t) => {
  const { env, audit: a, publisher } = await harness(t);
  const audit = a!;
  const records = Array.from({ length: 300 }, (_, i) => record("acme", "c1", i));
  // All at once: while the first message waits for its PubAck the rest queue and go out as batches.
  const acks = await Promise.all(records.map((r) => publisher.publish(r)));
  const messages = new Set(acks.map((a) => a.seq)).size;
  assert.ok(messages < records.length / 4, `300 records went out as ${messages} messages`);
  assert.ok(messages >= Math.ceil(records.length / 64), "no message carries more than 64 records");
  await eventually(async () => assert.equal((await dbStats(env.databaseUrl)).rows, 300));
  const s = await dbStats(env.databaseUrl);
  const want = sums(records);
  assert.equal(s.calls, 300);
  assert.equal(s.bytesOut, want.bytesOut);
  assert.equal(audit.stats().duplicates, 0);
});

test("a batch message with one bad record stores the others and drops only that one", async (t) => {
  const { env, audit: a } = await harness(t);
  const audit = a!;
  const js = jetstream(env.nc);
  const good = [record("acme", "c1", 1), record("acme", "c1", 2)];
  const bad = { ...record("acme", "c1", 3), id: "" };
  const h = headers();
  h.set("Daalu-Audit-Batch", "3");
  await js.publish(auditSubject(env.prefix, "acme", "c1"), toBinary(auditv1.CallRecordBatchSchema, create(auditv1.CallRecordBatchSchema, { records: [good[0]!, bad, good[1]!] })), { headers: h });
  const allBad = headers();
  allBad.set("Daalu-Audit-Batch", "1");
  await js.publish(auditSubject(env.prefix, "acme", "c1"), toBinary(auditv1.CallRecordBatchSchema, create(auditv1.CallRecordBatchSchema, { records: [bad] })), { headers: allBad });
  await eventually(async () => {
    assert.equal(audit.stats().malformed, 2);
    assert.equal((await dbStats(env.databaseUrl)).rows, 2);
  });
  assert.deepEqual([...(await dbStats(env.databaseUrl)).ids].sort(), good.map((r) => r.id).sort());
});
