import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, DaaluError } from "@daalu/runtime";
import { MOVING_RETRY_MAX_MS, movingBackoff, retriesWhileMoving, retryWhileMoving } from "./moving-retry.js";

const moving = () => new DaaluError(Code.Unavailable, "moving", { reason: "CLUSTER_MOVING" });

/** A fake clock: sleeping advances it; `attempts` records the time left each attempt was given. */
function clock(start = 1_000) {
  let t = start;
  const waits: number[] = [];
  return { now: () => t, sleep: async (ms: number) => void (waits.push(ms), (t += ms)), waits, advance: (ms: number) => (t += ms) };
}

test("only GET and HEAD are retried while the cluster moves", () => {
  for (const m of ["GET", "HEAD", "get"]) assert.equal(retriesWhileMoving(m), true, m);
  for (const m of ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"]) assert.equal(retriesWhileMoving(m), false, m);
});

test("the backoff doubles from 50 ms and stays at most 500 ms", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 9].map(movingBackoff), [50, 100, 200, 400, 500, 500, 500]);
});

test("a GET refused with CLUSTER_MOVING is retried until answered, each try given the time left", async () => {
  const c = clock();
  const given: number[] = [];
  let n = 0;
  const got = await retryWhileMoving({ method: "GET", deadline: 1_000 + 10_000, now: c.now, sleep: c.sleep }, async (left) => {
    given.push(left);
    if (++n < 4) throw moving();
    return "answer";
  });
  assert.equal(got, "answer");
  assert.equal(n, 4, "answered by the fourth try, and once");
  assert.deepEqual(c.waits, [50, 100, 200]);
  assert.deepEqual(given, [10_000, 9_950, 9_850, 9_650]);
});

test("POST (and every other write) gets the CLUSTER_MOVING refusal at once", async () => {
  for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
    const c = clock();
    let n = 0;
    await assert.rejects(
      retryWhileMoving({ method, deadline: 100_000, now: c.now, sleep: c.sleep }, async () => {
        n++;
        throw moving();
      }),
      (e: DaaluError) => e.reason === "CLUSTER_MOVING",
    );
    assert.equal(n, 1, `${method} sent once`);
  }
});

test("retries stop before the deadline: the last refusal is thrown and no wait crosses it", async () => {
  const c = clock(0);
  let n = 0;
  await assert.rejects(
    retryWhileMoving({ method: "GET", deadline: 2_000, now: c.now, sleep: c.sleep }, async () => {
      n++;
      c.advance(10); // each refusal takes a little time
      throw moving();
    }),
    (e: DaaluError) => e.reason === "CLUSTER_MOVING",
  );
  assert.ok(c.now() < 2_000, `gave up at ${c.now()} ms, before the 2,000 ms deadline`);
  assert.ok(c.now() + MOVING_RETRY_MAX_MS >= 2_000 - 10 * n, "and not much earlier than it");
  assert.ok(n > 4, `retried (${n} tries)`);
});

test("other errors are not retried, nor is a call whose caller hung up", async () => {
  const c = clock();
  let n = 0;
  await assert.rejects(
    retryWhileMoving({ method: "GET", deadline: 100_000, now: c.now, sleep: c.sleep }, async () => {
      n++;
      throw new DaaluError(Code.Unavailable, "none", { reason: "TUNNEL_UNAVAILABLE" });
    }),
    (e: DaaluError) => e.reason === "TUNNEL_UNAVAILABLE",
  );
  assert.equal(n, 1);
  const ac = new AbortController();
  ac.abort();
  n = 0;
  await assert.rejects(
    retryWhileMoving({ method: "GET", deadline: 100_000, signal: ac.signal, now: c.now, sleep: c.sleep }, async () => {
      n++;
      throw moving();
    }),
  );
  assert.equal(n, 1);
});
