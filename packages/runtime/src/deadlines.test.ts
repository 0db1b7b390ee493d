import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { DeadlineSet } from "./deadlines.js";

test("a deadline fires once, no earlier than its time and within a sweep of it", async () => {
  const set = new DeadlineSet(10);
  const fired: number[] = [];
  const at = Date.now() + 40;
  set.add({ at, expire: () => fired.push(Date.now()) });
  await sleep(20);
  assert.equal(fired.length, 0);
  await sleep(60);
  assert.equal(fired.length, 1);
  assert.ok(fired[0]! >= at && fired[0]! <= at + 50, `fired ${fired[0]! - at} ms after its deadline`);
  assert.equal(set.size, 0);
});

test("a deleted deadline never fires, and a throwing expiry does not stop the others", async () => {
  const set = new DeadlineSet(5);
  const fired: string[] = [];
  const gone = { at: Date.now() + 10, expire: () => fired.push("gone") };
  set.add(gone);
  set.add({ at: Date.now() + 10, expire: () => { throw new Error("boom"); } });
  set.add({ at: Date.now() + 10, expire: () => fired.push("kept") });
  set.delete(gone);
  await sleep(60);
  assert.deepEqual(fired, ["kept"]);
  assert.equal(set.size, 0);
});
