/**
 * One decision table for ReserveEnrollment, run three ways: against the domain
 * rule (decideReserve), the locked transaction (which calls it) and the
 * single-statement fast path (its "reserve" row re-encoded in SQL). The fast
 * path must reserve exactly when the rule says "reserve" and otherwise leave
 * the row untouched for the locked path to decide.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { sql } from "@daalu/runtime";
import { setup } from "@daalu/testing";
import { decideReserve, type ReserveDecision } from "../src/domain/cluster.js";
import { EnrollmentInProgressError, EnrollmentKeyMismatchError, EnrollmentNotPendingError, PublicKeyInUseError } from "../src/errors.js";
import type { PeeringService } from "../src/service.js";
import { newKey, startPeering } from "./harness.js";

const TENANT = "decisions";

/** The row before the call, with `K` the key of the call, `K2` another key and `E` the enrollment id of the call. */
interface Case {
  name: string;
  pending?: { id: "E" | "E2"; key: "K" | "K2" };
  last?: { id: "E" | "E2"; key: "K" | "K2" };
  /** `E` was committed earlier for this cluster and since superseded by `E2`. */
  usedBefore?: boolean;
  /** Another cluster holds K as its key or as its pending key. */
  otherHolds?: "key" | "pending";
  expect: ReserveDecision;
}

const CASES: Case[] = [
  { name: "fresh cluster", expect: "reserve" },
  { name: "pending under E with K", pending: { id: "E", key: "K" }, expect: "pending-replay" },
  { name: "pending under E with another key", pending: { id: "E", key: "K2" }, expect: "key-mismatch" },
  { name: "committed under E with K", last: { id: "E", key: "K" }, expect: "committed-replay" },
  { name: "committed under E with another key", last: { id: "E", key: "K2" }, expect: "key-mismatch" },
  { name: "another enrollment pending", pending: { id: "E2", key: "K2" }, expect: "busy" },
  { name: "committed under E, another enrollment pending", last: { id: "E", key: "K" }, pending: { id: "E2", key: "K2" }, expect: "busy" },
  { name: "re-enrollment of an enrolled cluster", last: { id: "E2", key: "K2" }, expect: "reserve" },
  { name: "E committed before and superseded", last: { id: "E2", key: "K2" }, usedBefore: true, expect: "enrollment-used" },
  { name: "K is another cluster's key", otherHolds: "key", expect: "key-in-use" },
  { name: "K is another cluster's pending key", otherHolds: "pending", expect: "key-in-use" },
];

const ERRORS: Array<[new (...a: never[]) => Error, ReserveDecision]> = [
  [EnrollmentKeyMismatchError, "key-mismatch"],
  [EnrollmentInProgressError, "busy"],
  [EnrollmentNotPendingError, "enrollment-used"],
  [PublicKeyInUseError, "key-in-use"],
];

let ipCounter = 10;

/** Builds the case's rows; returns the cluster id, the call's arguments and the domain's view of the row. */
async function arrange(svc: PeeringService, c: Case, copy: string) {
  const k = { K: newKey(), K2: newKey() };
  const e = { E: `${copy}-E`, E2: `${copy}-E2` };
  const cluster = await svc.store.createCluster(TENANT, `${copy}-c`);
  const id = cluster.id;
  if (c.pending || c.last) await sql`insert into addresses (ip, tenant_id, cluster_id) values (${`10.100.0.${ipCounter++}`}::inet, ${TENANT}, ${id}::uuid)`.execute(svc.db);
  if (c.usedBefore) await sql`insert into enrollments (enrollment_id, cluster_id, public_key) values (${e.E}, ${id}::uuid, ${newKey()})`.execute(svc.db);
  if (c.last) {
    await sql`update clusters set public_key = ${k[c.last.key]}, last_enrollment_id = ${e[c.last.id]}, status = 'awaiting_handshake' where id = ${id}::uuid`.execute(svc.db);
    await sql`insert into enrollments (enrollment_id, cluster_id, public_key) values (${e[c.last.id]}, ${id}::uuid, ${k[c.last.key]})`.execute(svc.db);
  }
  if (c.pending) {
    await sql`update clusters set pending_enrollment_id = ${e[c.pending.id]}, pending_public_key = ${k[c.pending.key]}, pending_since = now() where id = ${id}::uuid`.execute(svc.db);
  }
  if (c.otherHolds) {
    const other = await svc.store.createCluster(TENANT, `${copy}-other`);
    if (c.otherHolds === "key") await sql`update clusters set public_key = ${k.K} where id = ${other.id}::uuid`.execute(svc.db);
    else await sql`update clusters set pending_enrollment_id = ${`${copy}-other-E`}, pending_public_key = ${k.K}, pending_since = now() where id = ${other.id}::uuid`.execute(svc.db);
  }
  const row = await svc.store.getCluster(id);
  const facts = { enrollmentUsed: c.usedBefore === true || c.last?.id === "E", keyInUse: c.otherHolds !== undefined };
  return { id, key: k.K, enrollmentId: e.E, row, facts };
}

/** What the database holds for a cluster (to see that a refused call changed nothing). */
async function snapshot(svc: PeeringService, id: string) {
  const r = await sql`select c.*, host(a.ip) as ip from clusters c left join addresses a on a.cluster_id = c.id where c.id = ${id}::uuid`.execute(svc.db);
  return r.rows[0];
}

test("one decision table: decideReserve, the locked path and the fast SQL path agree", { timeout: 60_000 }, async (t) => {
  const env = await setup();
  t.after(() => env.cleanup());
  const svc = await startPeering(env);
  t.after(() => svc.stop());
  await svc.store.ensureSubnet(TENANT);
  const enrollment = svc.store.enrollment;

  for (const [i, c] of CASES.entries()) {
    // The domain rule.
    const domain = await arrange(svc, c, `d${i}`);
    assert.equal(decideReserve(domain.row, domain.enrollmentId, domain.key, domain.facts), c.expect, `domain: ${c.name}`);

    // The locked path: the decision shows as an error, a replay (nothing changes) or a new reservation.
    const locked = await arrange(svc, c, `l${i}`);
    const before = await snapshot(svc, locked.id);
    let outcome: ReserveDecision;
    try {
      const r = await enrollment.reserveLocked(TENANT, locked.id, locked.key, locked.enrollmentId);
      const after = await svc.store.getCluster(locked.id);
      if (locked.row.pendingEnrollmentId === null && after.pendingEnrollmentId === locked.enrollmentId) outcome = "reserve";
      else outcome = locked.row.pendingEnrollmentId === locked.enrollmentId ? "pending-replay" : "committed-replay";
      assert.equal(r.cluster.tunnelIp, after.tunnelIp, `locked: ${c.name}: the reservation's address`);
    } catch (err) {
      const hit = ERRORS.find(([cls]) => err instanceof cls);
      if (!hit) throw err;
      outcome = hit[1];
    }
    assert.equal(outcome, c.expect, `locked: ${c.name}`);
    if (c.expect !== "reserve") assert.deepEqual(await snapshot(svc, locked.id), before, `locked: ${c.name}: nothing changed`);

    // The fast path: reserves exactly for "reserve", else defers without touching the row.
    const fast = await arrange(svc, c, `f${i}`);
    const fastBefore = await snapshot(svc, fast.id);
    const r = await enrollment.reserveFast(fast.id, fast.key, fast.enrollmentId);
    if (c.expect === "reserve") {
      assert.notEqual(typeof r, "string", `fast: ${c.name}: reserved`);
      const after = await svc.store.getCluster(fast.id);
      assert.equal(after.pendingEnrollmentId, fast.enrollmentId);
      assert.equal(after.pendingPublicKey, fast.key);
    } else {
      assert.equal(r, "slow", `fast: ${c.name}: deferred to the locked path`);
      assert.deepEqual(await snapshot(svc, fast.id), fastBefore, `fast: ${c.name}: nothing changed`);
    }
  }
});
