import { test } from "node:test";
import assert from "node:assert/strict";
import { TtlCache } from "./ttl-cache.js";

test("concurrent misses share one load; the value is reused until it expires", async () => {
  let now = 0;
  const cache = new TtlCache<number>(40, 10_000, () => now);
  let loads = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const load = async () => {
    loads++;
    await gate;
    return loads;
  };
  const waiting = Array.from({ length: 64 }, () => cache.get("k", load));
  release();
  assert.deepEqual(new Set(await Promise.all(waiting)), new Set([1]));
  assert.equal(loads, 1);
  now = 39;
  assert.equal(await cache.get("k", load), 1, "fresh value served without a load");
  now = 40;
  assert.equal(await cache.get("k", load), 2, "expired value loaded again");
});

test("a failed load is shared by its waiters and not cached", async () => {
  const cache = new TtlCache<string>(10_000);
  let loads = 0;
  const failing = async () => {
    loads++;
    await new Promise((r) => setTimeout(r, 5));
    throw new Error("not found");
  };
  const results = await Promise.allSettled([cache.get("k", failing), cache.get("k", failing)]);
  assert.deepEqual(results.map((r) => r.status), ["rejected", "rejected"]);
  assert.equal(loads, 1);
  assert.equal(await cache.get("k", async () => "found"), "found", "the next caller loads again");
});
