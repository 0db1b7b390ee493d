import { test } from "node:test";
import assert from "node:assert/strict";
import { clusterNameProblem, decideCommit, decideReserve, type EnrollmentState } from "./cluster.js";

test("cluster names are RFC 1123 DNS labels", () => {
  for (const ok of ["a", "prod", "eu-west-1", "0x", "a".repeat(63)]) assert.equal(clusterNameProblem(ok), undefined, ok);
  for (const bad of ["", "-a", "a-", "Prod", "a_b", "a.b", "a".repeat(64), "é", "a b"]) assert.ok(clusterNameProblem(bad), bad);
});

const fresh: EnrollmentState = { publicKey: null, lastEnrollmentId: null, pendingEnrollmentId: null, pendingPublicKey: null };

test("reserve decisions: fresh, replays, mismatch, busy, used enrollment, key in use", () => {
  const none = { enrollmentUsed: false, keyInUse: false };
  assert.equal(decideReserve(fresh, "e1", "K", none), "reserve");
  const pending = { ...fresh, pendingEnrollmentId: "e1", pendingPublicKey: "K" };
  assert.equal(decideReserve(pending, "e1", "K", none), "pending-replay");
  assert.equal(decideReserve(pending, "e1", "K2", none), "key-mismatch");
  assert.equal(decideReserve(pending, "e2", "K2", none), "busy");
  const committed = { ...fresh, publicKey: "K", lastEnrollmentId: "e1" };
  // A committed enrollment is a used one: the replay wins over "enrollment-used".
  assert.equal(decideReserve(committed, "e1", "K", { ...none, enrollmentUsed: true }), "committed-replay");
  assert.equal(decideReserve(committed, "e1", "K2", { ...none, enrollmentUsed: true }), "key-mismatch");
  // A re-enrollment with a new invite on an enrolled cluster is a fresh reservation.
  assert.equal(decideReserve(committed, "e2", "K2", none), "reserve");
  assert.equal(decideReserve(committed, "e0", "K2", { ...none, enrollmentUsed: true }), "enrollment-used");
  assert.equal(decideReserve(fresh, "e1", "K", { ...none, keyInUse: true }), "key-in-use");
  assert.equal(decideReserve(pending, "e2", "K2", { enrollmentUsed: true, keyInUse: true }), "busy", "busy is decided first");
});

test("commit decisions", () => {
  assert.equal(decideCommit({ ...fresh, pendingEnrollmentId: "e1", pendingPublicKey: "K" }, "e1"), "commit");
  assert.equal(decideCommit({ ...fresh, publicKey: "K", lastEnrollmentId: "e1" }, "e1"), "replay");
  assert.equal(decideCommit(fresh, "e1"), "not-pending");
  assert.equal(decideCommit({ ...fresh, pendingEnrollmentId: "e2", pendingPublicKey: "K" }, "e1"), "not-pending");
});
