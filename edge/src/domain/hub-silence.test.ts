import { test } from "node:test";
import assert from "node:assert/strict";
import { shouldResetSession } from "./hub-silence.js";

test("the session is reset only after the hub is silent for the whole window, and not again within it", () => {
  const base = { silenceMs: 5_000, lastResetMs: 0 };
  assert.equal(shouldResetSession({ ...base, nowMs: 10_000, lastRxChangeMs: 6_000 }), false, "heard 4 s ago");
  assert.equal(shouldResetSession({ ...base, nowMs: 10_000, lastRxChangeMs: 5_000 }), true, "silent for 5 s");
  assert.equal(shouldResetSession({ ...base, nowMs: 10_000, lastRxChangeMs: 0, lastResetMs: 7_000 }), false, "reset 3 s ago");
  assert.equal(shouldResetSession({ ...base, nowMs: 12_000, lastRxChangeMs: 0, lastResetMs: 7_000 }), true);
  assert.equal(shouldResetSession({ silenceMs: 0, nowMs: 1e9, lastRxChangeMs: 0, lastResetMs: 0 }), false, "0 disables");
});
