/**
 * Enrollment commits arriving together share one statement (the invite
 * service sends them one-way). Each still gets its own outcome: committed,
 * replayed, or refused.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createLogger, createPool, sql } from "@daalu/runtime";
import { setup } from "@daalu/testing";
import { PeeringStore } from "../src/adapters/pg/store.js";
import { newKey, startPeering } from "./harness.js";

test("concurrent commits share batches and each gets its own outcome", { timeout: 60_000 }, async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  const svc = await startPeering(env);
  t.after(() => svc.stop());
  // A store of its own on the migrated schema, whose log shows how commits were grouped.
  const lines: Array<{ msg: string; size?: number }> = [];
  const logger = createLogger("peering-test", "debug", { write: (line: string) => void lines.push(JSON.parse(line)) });
  const pgPool = createPool({ url: env.databaseUrl, schema: "peering", poolSize: 4 });
  t.after(() => pgPool.end());
  const store = new PeeringStore(svc.db, { pool: "10.100.0.0/14", hubPool: "10.99.0.0/16", defaultPrefix: 24, growthBits: 2, logger, pgPool });
  await store.ensureSubnet("acme");
  await store.ensureSubnet("globex");

  const pending = [];
  for (let i = 0; i < 40; i++) {
    const c = await store.createCluster("acme", `c${i}`);
    const enrollmentId = randomUUID();
    const key = newKey();
    const r = await store.reserve(c.id, key, enrollmentId, "acme");
    pending.push({ id: c.id, enrollmentId, key, tunnelIp: r.cluster.tunnelIp });
  }
  const other = await store.createCluster("globex", "g");
  const otherEnrollment = randomUUID();
  await store.reserve(other.id, newKey(), otherEnrollment, "globex");

  const calls = [
    ...pending.map((p) => store.commit(p.id, p.enrollmentId, { tenantId: "acme" })),
    // The same commit twice in one burst: one commits, the other is a replay.
    store.commit(pending[0]!.id, pending[0]!.enrollmentId, { tenantId: "acme" }),
    // Not pending under this enrollment: refused, alone.
    store.commit(pending[1]!.id, randomUUID(), { tenantId: "acme" }),
    // Another tenant's cluster: not found for this caller, and left pending.
    store.commit(other.id, otherEnrollment, { tenantId: "acme" }),
  ];
  const out = await Promise.allSettled(calls);

  for (let i = 0; i < pending.length; i++) {
    const r = out[i]!;
    assert.equal(r.status, "fulfilled", `commit ${i}: ${r.status === "rejected" ? String(r.reason) : ""}`);
  }
  const firsts = [out[0]!, out[pending.length]!].map((r) => (r.status === "fulfilled" ? r.value.replayed : undefined));
  assert.deepEqual(firsts.sort(), [false, true], "one commit and one replay of the same enrollment");
  assert.equal(out[pending.length + 1]!.status, "rejected");
  assert.equal((out[pending.length + 1] as PromiseRejectedResult).reason.reason, "ENROLLMENT_NOT_PENDING");
  assert.equal(out[pending.length + 2]!.status, "rejected");
  assert.equal((out[pending.length + 2] as PromiseRejectedResult).reason.reason, "CLUSTER_NOT_FOUND");

  for (const [i, p] of pending.entries()) {
    const r = out[i]!;
    if (r.status !== "fulfilled") continue;
    assert.equal(r.value.cluster.publicKey, p.key);
    assert.equal(r.value.cluster.tunnelIp, p.tunnelIp);
    assert.equal(r.value.cluster.status, "awaiting_handshake");
    if (!r.value.replayed) assert.equal(r.value.previousPublicKey, null);
    assert.equal(r.value.subnet.tenantId, "acme");
  }
  const rows = await sql<{ n: number }>`select count(*)::int as n from enrollments`.execute(svc.db);
  assert.equal(rows.rows[0]!.n, pending.length, "one enrollment row per committed enrollment");
  assert.ok(lines.some((l) => l.msg === "commit batch" && (l.size ?? 0) > 1), "commits were grouped");
  assert.ok(!lines.some((l) => l.msg.startsWith("commit batch failed")), "the batch statement ran");
  const stillPending = await store.getCluster(other.id);
  assert.equal(stillPending.pendingEnrollmentId, otherEnrollment);
  assert.equal(stillPending.publicKey, null);
});
