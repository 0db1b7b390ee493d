import { test } from "node:test";
import assert from "node:assert/strict";
import { expiryFor, inviteStatus, regenerateRefusal, revokeRefusal } from "./invite-state.js";

const created = new Date("2025-01-01T00:00:00Z");
const expiresAt = expiryFor(created, 3_600_000);
const at = (ms: number) => new Date(created.getTime() + ms);

test("expiry is created + ttl", () => {
  assert.equal(expiresAt.toISOString(), "2025-01-01T01:00:00.000Z");
});

test("state is derived from timestamps and now", () => {
  const base = { expiresAt, redeemedAt: null, revokedAt: null };
  assert.equal(inviteStatus(base, at(0)), "pending");
  assert.equal(inviteStatus(base, at(3_599_999)), "pending");
  assert.equal(inviteStatus(base, at(3_600_000)), "expired");
  assert.equal(inviteStatus({ ...base, revokedAt: at(10) }, at(20)), "revoked");
  assert.equal(inviteStatus({ ...base, revokedAt: at(10) }, at(4_000_000)), "revoked");
  assert.equal(inviteStatus({ ...base, redeemedAt: at(10) }, at(20)), "redeemed");
  // A burned token stays burned, even after expiry.
  assert.equal(inviteStatus({ ...base, redeemedAt: at(10) }, at(9_000_000)), "redeemed");
});

test("only expired or revoked invites regenerate; the refusal says what to do", () => {
  assert.equal(regenerateRefusal("expired"), undefined);
  assert.equal(regenerateRefusal("revoked"), undefined);
  assert.match(regenerateRefusal("pending")!, /revoke it first, or create a new invite/);
  assert.match(regenerateRefusal("redeemed")!, /already redeemed/);
});

test("only pending invites revoke (revoking twice is a no-op)", () => {
  assert.equal(revokeRefusal("pending"), undefined);
  assert.equal(revokeRefusal("revoked"), undefined);
  assert.match(revokeRefusal("redeemed")!, /already redeemed/);
  assert.match(revokeRefusal("expired")!, /already expired/);
});
