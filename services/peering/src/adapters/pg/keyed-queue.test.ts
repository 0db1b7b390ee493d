import { test } from "node:test";
import assert from "node:assert/strict";
import { KeyedQueue } from "./keyed-queue.js";

test("tasks of one key run one at a time in order; other keys run alongside; failures do not block", async () => {
  const q = new KeyedQueue();
  const log: string[] = [];
  let active = 0;
  let maxActive = 0;
  const task = (name: string, fail = false) => async () => {
    active++;
    maxActive = Math.max(maxActive, active);
    log.push(`start ${name}`);
    await new Promise((r) => setTimeout(r, 5));
    log.push(`end ${name}`);
    active--;
    if (fail) throw new Error(name);
    return name;
  };
  const results = await Promise.allSettled([q.run("a", task("a1")), q.run("a", task("a2", true)), q.run("a", task("a3"))]);
  assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
  assert.deepEqual(log, ["start a1", "end a1", "start a2", "end a2", "start a3", "end a3"]);
  assert.equal(maxActive, 1);
  maxActive = 0;
  await Promise.all([q.run("x", task("x")), q.run("y", task("y"))]);
  assert.equal(maxActive, 2);
});
