import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { Batcher } from "./batcher.js";

function recorder() {
  const batches: number[][] = [];
  const b = new Batcher<number, number>(
    async (items) => {
      batches.push(items);
      return items.map((i) => (i < 0 ? { status: "rejected" as const, reason: new Error(`bad ${i}`) } : { status: "fulfilled" as const, value: i * 10 }));
    },
    // A window and a busy gap far above what a loaded CI machine stalls between two lines of this test, so only
    // the batching rules decide what is grouped.
    { windowMs: 300, busyGapMs: 5_000, max: 3 },
  );
  return { b, batches };
}

test("calls in one burst share batches of at most max; each gets its own result or error", async () => {
  const { b, batches } = recorder();
  const out = await Promise.allSettled([1, 2, -3, 4, 5].map((i) => b.submit(i)));
  assert.deepEqual(batches, [[1, 2, -3], [4, 5]]);
  assert.deepEqual(out.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).message)), [10, 20, "bad -3", 40, 50]);
});

test("a lone call runs at once; calls in quick succession wait for the window", async () => {
  const { b, batches } = recorder();
  const t0 = Date.now();
  assert.equal(await b.submit(1), 10);
  assert.ok(Date.now() - t0 < 150, "no window for a lone call");
  const t1 = Date.now();
  const second = b.submit(2);
  await sleep(5);
  const third = b.submit(3);
  assert.deepEqual(await Promise.all([second, third]), [20, 30]);
  assert.ok(Date.now() - t1 >= 290, "a busy spell collects for the window");
  assert.deepEqual(batches, [[1], [2, 3]]);
});

test("a failed batch call fails every item of that batch", async () => {
  const b = new Batcher<number, number>(async () => Promise.reject(new Error("down")), { windowMs: 5, busyGapMs: 5, max: 10 });
  const out = await Promise.allSettled([b.submit(1), b.submit(2)]);
  assert.deepEqual(out.map((r) => r.status), ["rejected", "rejected"]);
});
