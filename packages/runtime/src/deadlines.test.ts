import { test } from "node:test";
import assert from "node:assert/strict";
import { DeadlineSet } from "./deadlines.js";

// The sweep interval and Date.now() run on node:test's mock clock: the assertions are about the
// set's logic, not about how promptly a loaded machine runs timers.

test("a deadline fires once, no earlier than its time and within a sweep of it", (t) => {
  t.mock.timers.enable({ apis: ["setInterval", "Date"], now: 1_000_000 });
  const set = new DeadlineSet(10);
  const fired: number[] = [];
  const at = Date.now() + 45;
  set.add({ at, expire: () => fired.push(Date.now()) });
  t.mock.timers.tick(44);
  assert.deepEqual(fired, [], "not before its deadline");
  t.mock.timers.tick(10);
  assert.equal(fired.length, 1);
  assert.ok(fired[0]! >= at && fired[0]! < at + 10, `fired ${fired[0]! - at} ms after its deadline`);
  t.mock.timers.tick(100);
  assert.equal(fired.length, 1, "fires once");
  assert.equal(set.size, 0);
});

test("a deleted deadline never fires, and a throwing expiry does not stop the others", (t) => {
  t.mock.timers.enable({ apis: ["setInterval", "Date"], now: 1_000_000 });
  const set = new DeadlineSet(5);
  const fired: string[] = [];
  const gone = { at: Date.now() + 10, expire: () => fired.push("gone") };
  set.add(gone);
  set.add({ at: Date.now() + 10, expire: () => { throw new Error("boom"); } });
  set.add({ at: Date.now() + 10, expire: () => fired.push("kept") });
  set.delete(gone);
  t.mock.timers.tick(60);
  assert.deepEqual(fired, ["kept"]);
  assert.equal(set.size, 0);
});
