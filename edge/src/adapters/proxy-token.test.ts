import { test } from "node:test";
import assert from "node:assert/strict";
import { createLogger } from "@daalu/runtime";
import { eventually } from "@daalu/testing";
import { ProxyTokenSource, renewAtMs } from "./proxy-token.js";

const logger = createLogger("edge-test", "silent");

test("renewal is due at 80 % of the token's life", () => {
  assert.equal(renewAtMs(1_000, 3_601_000), 1_000 + 2_880_000);
  assert.equal(renewAtMs(5_000, 4_000), 5_000, "an already expired token is renewed at once");
});

test("the token is renewed before it expires, and an expired one is never handed out", async () => {
  let now = 0;
  let n = 0;
  let fail = false;
  // The first token lives 50 ms (renewal due after 40 ms of real timer), the second an hour, so t2 stays current
  // however late the polls come (a loaded machine once saw t117 when every token lived 50 ms). The clock that judges
  // expiry is the test's.
  const src = new ProxyTokenSource(
    async () => {
      if (fail) throw new Error("API server down");
      n++;
      return { token: `t${n}`, expiresAtMs: now + (n === 1 ? 50 : 3_600_000) };
    },
    logger,
    () => now,
  );
  assert.throws(() => src.current(), /no token has been issued yet/);
  await src.start();
  assert.equal(src.current(), "t1");
  await eventually(() => assert.equal(src.current(), "t2"), { timeoutMs: 5_000 });
  assert.equal(n, 2, "renewed once: the second token's renewal is an hour away");
  fail = true;
  now += 3_600_000;
  assert.throws(() => src.current(), /expired/);
  src.stop();
});
