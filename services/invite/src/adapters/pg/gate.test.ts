import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, type DaaluError } from "@daalu/runtime";
import { Gate } from "./gate.js";

const tick = () => new Promise((r) => setImmediate(r));

test("at most `size` run at once, in arrival order", async () => {
  const gate = new Gate(2);
  let running = 0;
  let peak = 0;
  const order: number[] = [];
  const releases: Array<() => void> = [];
  const jobs = Array.from({ length: 6 }, (_, i) =>
    gate.run(async () => {
      running++;
      peak = Math.max(peak, running);
      order.push(i);
      await new Promise<void>((r) => releases.push(r));
      running--;
    }),
  );
  for (let k = 0; k < 6; k++) {
    await tick();
    releases.shift()?.();
  }
  await Promise.all(jobs);
  assert.equal(peak, 2);
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
});

test("a waiter whose deadline passes leaves the queue with DeadlineExceeded", async () => {
  const gate = new Gate(1);
  let release!: () => void;
  const holder = gate.run(() => new Promise<void>((r) => (release = r)));
  const ac = new AbortController();
  const waiting = gate.run(async () => "never", ac.signal);
  ac.abort();
  await assert.rejects(waiting, (e: DaaluError) => e.code === Code.DeadlineExceeded);
  const next = gate.run(async () => "ran");
  release();
  await holder;
  assert.equal(await next, "ran");
  // A failing job releases its permit too.
  await assert.rejects(gate.run(async () => Promise.reject(new Error("x"))));
  assert.equal(await gate.run(async () => 1), 1);
});
