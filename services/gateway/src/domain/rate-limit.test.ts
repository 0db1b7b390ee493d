import { test } from "node:test";
import assert from "node:assert/strict";
import { TokenBuckets } from "./rate-limit.js";

test("a bucket allows the burst, then the rate, per key", () => {
  const b = new TokenBuckets(10, 5);
  let ok = 0;
  for (let i = 0; i < 20; i++) if (b.take("a", 0)) ok++;
  assert.equal(ok, 5);
  assert.equal(b.take("b", 0), true, "another key has its own bucket");
  assert.equal(b.take("a", 50), false, "half a token after 50 ms");
  assert.equal(b.take("a", 100), true, "one token after 100 ms");
  assert.equal(b.take("a", 100), false);
  // A long pause refills to the burst, not beyond.
  ok = 0;
  for (let i = 0; i < 20; i++) if (b.take("a", 60_000)) ok++;
  assert.equal(ok, 5);
});

test("tracked keys stay bounded", () => {
  const b = new TokenBuckets(1, 2, 100);
  for (let i = 0; i < 1000; i++) b.take(`k${i}`, 0);
  assert.ok(b.size <= 100, `size ${b.size}`);
});

test("peek tells whether a take would succeed, and takes nothing", () => {
  const b = new TokenBuckets(1 / 60, 2);
  assert.equal(b.peek("u", 0), true, "an unknown key has a full bucket");
  assert.equal(b.size, 0, "peeking tracks nothing");
  b.take("u", 0);
  assert.equal(b.peek("u", 0), true);
  assert.equal(b.peek("u", 0), true, "peek does not consume");
  b.take("u", 0);
  assert.equal(b.peek("u", 0), false);
  assert.equal(b.peek("u", 59_000), false);
  assert.equal(b.peek("u", 60_000), true, "one more a minute later");
});
