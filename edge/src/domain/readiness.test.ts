import { test } from "node:test";
import assert from "node:assert/strict";
import { readiness } from "./readiness.js";

const base = { nowMs: 1_000_000, maxAgeMs: 180_000, graceMs: 30_000 };

test("not ready before the device is configured, whatever the handshake says", () => {
  const r = readiness({ ...base, deviceUpSinceMs: undefined, lastHandshakeMs: base.nowMs - 1_000 });
  assert.equal(r.ready, false);
  assert.match(r.reason, /not configured/);
});

test("not ready before the first handshake; the reason changes after the grace period", () => {
  const starting = readiness({ ...base, deviceUpSinceMs: base.nowMs - 5_000, lastHandshakeMs: 0 });
  assert.equal(starting.ready, false);
  assert.match(starting.reason, /awaiting the first handshake/);
  assert.equal(starting.handshakeAgeSeconds, undefined);
  const failing = readiness({ ...base, deviceUpSinceMs: base.nowMs - 60_000, lastHandshakeMs: 0 });
  assert.equal(failing.ready, false);
  assert.match(failing.reason, /no handshake with the hub in 60s/);
});

test("ready with a recent handshake, not ready once it is older than the limit", () => {
  const fresh = readiness({ ...base, deviceUpSinceMs: base.nowMs - 60_000, lastHandshakeMs: base.nowMs - 2_500 });
  assert.deepEqual(fresh, { ready: true, reason: "last handshake 2s ago", handshakeAgeSeconds: 2 });
  const edge = readiness({ ...base, deviceUpSinceMs: 0, lastHandshakeMs: base.nowMs - 180_000 });
  assert.equal(edge.ready, true, "exactly at the limit is still ready");
  const stale = readiness({ ...base, deviceUpSinceMs: 0, lastHandshakeMs: base.nowMs - 180_001 });
  assert.equal(stale.ready, false);
  assert.equal(stale.handshakeAgeSeconds, 180);
});
