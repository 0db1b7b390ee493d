import { test } from "node:test";
import assert from "node:assert/strict";
import { backoffDelay } from "./backoff.js";

const policy = { baseMs: 500, maxMs: 8_000 };

test("backoff doubles per attempt and stays within [d/2, d]", () => {
  assert.equal(backoffDelay(0, policy, () => 0), 250);
  assert.equal(backoffDelay(0, policy, () => 1), 500);
  assert.equal(backoffDelay(1, policy, () => 1), 1_000);
  assert.equal(backoffDelay(3, policy, () => 0), 2_000);
  assert.equal(backoffDelay(3, policy, () => 1), 4_000);
});

test("backoff is capped, also for absurd attempt numbers", () => {
  assert.equal(backoffDelay(4, policy, () => 1), 8_000);
  assert.equal(backoffDelay(1_000, policy, () => 1), 8_000);
  assert.equal(backoffDelay(1_000, policy, () => 0), 4_000);
});

test("jitter spreads retries: many draws are not all equal", () => {
  const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(5, policy)));
  assert.ok(seen.size > 1);
  for (const d of seen) assert.ok(d >= 4_000 && d <= 8_000, `delay ${d} out of bounds`);
});
