import { test } from "node:test";
import assert from "node:assert/strict";
import { shouldNudge, shouldResetSession } from "./hub-silence.js";

test("the session is reset only after the hub is silent for the whole window, and not again within it", () => {
  const base = { silenceMs: 5_000, lastResetMs: 0 };
  assert.equal(shouldResetSession({ ...base, nowMs: 10_000, lastRxChangeMs: 6_000 }), false, "heard 4 s ago");
  assert.equal(shouldResetSession({ ...base, nowMs: 10_000, lastRxChangeMs: 5_000 }), true, "silent for 5 s");
  assert.equal(shouldResetSession({ ...base, nowMs: 10_000, lastRxChangeMs: 0, lastResetMs: 7_000 }), false, "reset 3 s ago");
  assert.equal(shouldResetSession({ ...base, nowMs: 12_000, lastRxChangeMs: 0, lastResetMs: 7_000 }), true);
  assert.equal(shouldResetSession({ silenceMs: 0, nowMs: 1e9, lastRxChangeMs: 0, lastResetMs: 0 }), false, "0 disables");
});

test("a nudge goes out once the hub is quiet for the interval, at most once per interval", () => {
  const base = { nudgeMs: 2_000, lastNudgeMs: 0 };
  assert.equal(shouldNudge({ ...base, nowMs: 10_000, lastRxChangeMs: 8_500 }), false, "heard 1.5 s ago");
  assert.equal(shouldNudge({ ...base, nowMs: 10_000, lastRxChangeMs: 8_000 }), true, "quiet for 2 s");
  assert.equal(shouldNudge({ ...base, nowMs: 10_000, lastRxChangeMs: 0, lastNudgeMs: 9_000 }), false, "nudged 1 s ago");
  assert.equal(shouldNudge({ ...base, nowMs: 11_000, lastRxChangeMs: 0, lastNudgeMs: 9_000 }), true);
  assert.equal(shouldNudge({ nudgeMs: 0, nowMs: 1e9, lastRxChangeMs: 0, lastNudgeMs: 0 }), false, "0 disables");
});

test("on a healthy hub (answering each nudge) the session is never reset; on a silent one it is, within the window", () => {
  const nudgeMs = 2_000;
  const silenceMs = 6_000;
  for (const hubAnswers of [true, false]) {
    let lastRx = 0;
    let lastNudge = 0;
    let lastReset = 0;
    const resets: number[] = [];
    for (let now = 0; now <= 30_000; now += 1_000) {
      if (shouldResetSession({ nowMs: now, lastRxChangeMs: lastRx, lastResetMs: lastReset, silenceMs })) {
        lastReset = now;
        resets.push(now);
      }
      if (shouldNudge({ nowMs: now, lastRxChangeMs: lastRx, lastNudgeMs: lastNudge, nudgeMs })) {
        lastNudge = now;
        // The answer (a RST through the tunnel) shows up by the next poll.
        if (hubAnswers) lastRx = now + 50;
      }
    }
    if (hubAnswers) assert.deepEqual(resets, []);
    else assert.deepEqual(resets, [6_000, 12_000, 18_000, 24_000, 30_000]);
  }
});
