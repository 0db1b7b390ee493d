import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { evaluateHealth, goodbyeDiagnostic, type HealthInput, type HealthOutput, type HealthState } from "./health.js";

const T = { disconnectAfterMs: 5_000, alertAfterMs: 15_000 };
const ENROLLED = 1_000_000;
const HS = ENROLLED + 10_000; // the running edge's last handshake
const BYE = HS + 3_000; // it said goodbye
const ok = (at: number) => ({ ok: true, at });

function step(previous: { state: HealthState; since: number }, over: Partial<HealthInput> & { now: number }, alert?: { raisedAt: number }): HealthOutput {
  return evaluateHealth({ enrolledAt: ENROLLED, lastHandshakeMs: HS, lastRxMs: BYE, probe: ok(HS + 1_000), previous, alert, ...over }, T);
}

describe("health state machine: the edge's goodbye", () => {
  it("connected → disconnected at once, with the shutdown diagnostic, though handshake and traffic are recent", () => {
    const o = step({ state: "connected", since: HS }, { now: BYE + 50, goodbyeAtMs: BYE });
    assert.equal(o.state, "disconnected");
    assert.deepEqual(o.transition, { from: "connected", to: "disconnected", at: BYE + 50 });
    assert.equal(o.diagnostic, goodbyeDiagnostic(BYE));
    assert.match(o.diagnostic, /^edge stopped at 1970-01-01T00:16:53\.000Z \(helm uninstall, pod deletion or eviction\)$/);
    assert.equal(o.alert, undefined);
  });

  it("traffic counted after the goodbye (the old edge's last packets) does not bring it back", () => {
    const o = step({ state: "disconnected", since: BYE }, { now: BYE + 2_000, lastRxMs: BYE + 1_000, goodbyeAtMs: BYE, probe: ok(BYE - 500) });
    assert.equal(o.state, "disconnected");
    assert.equal(o.transition, undefined);
  });

  it("a restarted edge: a handshake after the goodbye, then a fresh probe → connected, no alert", () => {
    const since = BYE + 10;
    const hs2 = BYE + 4_000;
    const waiting = step({ state: "disconnected", since }, { now: hs2 + 100, lastHandshakeMs: hs2, lastRxMs: hs2, goodbyeAtMs: BYE, probe: ok(BYE - 500) });
    assert.equal(waiting.state, "awaiting_handshake", "a probe from before the goodbye says nothing about the new edge");
    const back = step({ state: waiting.state, since: waiting.since }, { now: hs2 + 600, lastHandshakeMs: hs2, lastRxMs: hs2, goodbyeAtMs: BYE, probe: ok(hs2 + 500) });
    assert.equal(back.state, "connected");
    assert.equal(back.alert, undefined);
  });

  it("stays away past the alert threshold: one critical alert, counted from the goodbye, not raised twice", () => {
    const prev = { state: "disconnected" as const, since: BYE };
    assert.equal(step(prev, { now: BYE + T.alertAfterMs, goodbyeAtMs: BYE }).alert, undefined);
    const raised = step(prev, { now: BYE + T.alertAfterMs + 1, goodbyeAtMs: BYE });
    assert.equal(raised.alert?.action, "raise");
    assert.equal(raised.alert?.action === "raise" && raised.alert.downSinceMs, BYE);
    assert.equal(step(prev, { now: BYE + T.alertAfterMs + 5_000, goodbyeAtMs: BYE }, { raisedAt: BYE + T.alertAfterMs + 1 }).alert, undefined);
  });

  it("without a goodbye (SIGKILL, lost network) a recent handshake keeps it connected: the thresholds still rule", () => {
    const o = step({ state: "connected", since: HS }, { now: BYE + 50 });
    assert.equal(o.state, "connected");
  });
});
