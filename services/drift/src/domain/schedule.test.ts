import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { nextDue, phaseOf } from "./schedule.js";

test("the next due time is after now, on the cluster's phase, one interval apart", () => {
  const id = randomUUID();
  const interval = 300_000;
  const now = 1_800_000_123_456;
  const due = nextDue(id, interval, now);
  assert.ok(due > now && due <= now + interval);
  assert.equal(due % interval, phaseOf(id, interval));
  assert.equal(nextDue(id, interval, due), due + interval);
});

test("1,000 clusters enabled at the same moment spread over the interval (no tenth holds more than 15 %)", () => {
  const interval = 300_000;
  const now = 1_800_000_000_000;
  const buckets = new Array<number>(10).fill(0);
  for (let i = 0; i < 1000; i++) buckets[Math.floor(((nextDue(randomUUID(), interval, now) - now - 1) / interval) * 10)]!++;
  assert.ok(Math.max(...buckets) <= 150, JSON.stringify(buckets));
  assert.ok(Math.min(...buckets) >= 50, JSON.stringify(buckets));
});
