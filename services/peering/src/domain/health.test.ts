import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_ALERT_AFTER_MS, DEFAULT_DISCONNECT_AFTER_MS, evaluateHealth, formatDuration, type HealthInput, type HealthOutput, type HealthState } from "./health.js";

// Seconds, as the integration tests run them; the defaults are checked separately.
const T = { disconnectAfterMs: 5_000, alertAfterMs: 15_000 };
const ENROLLED = 1_000_000;

function input(over: Partial<HealthInput> & { state?: HealthState; since?: number }): HealthInput {
  const { state = "awaiting_handshake", since = ENROLLED, ...rest } = over;
  return { now: ENROLLED + 1_000, enrolledAt: ENROLLED, lastHandshakeMs: 0, probe: undefined, previous: { state, since }, alert: undefined, ...rest };
}

const ev = (over: Parameters<typeof input>[0]) => evaluateHealth(input(over), T);

/** Runs a timeline, feeding each output back in as the next previous state. */
function timeline(steps: Array<Omit<Partial<HealthInput>, "previous" | "alert"> & { now: number }>, start: HealthState = "awaiting_handshake"): HealthOutput[] {
  let previous = { state: start, since: ENROLLED };
  let alert: { raisedAt: number } | undefined;
  const out: HealthOutput[] = [];
  for (const s of steps) {
    const o = evaluateHealth({ enrolledAt: ENROLLED, lastHandshakeMs: 0, probe: undefined, ...s, previous, alert }, T);
    previous = { state: o.state, since: o.since };
    if (o.alert?.action === "raise") alert = { raisedAt: o.alert.raisedAt };
    if (o.alert?.action === "resolve") alert = undefined;
    out.push(o);
  }
  return out;
}

describe("health state machine: transitions", () => {
  it("defaults are 5 min to red and 15 min to the alert", () => {
    assert.equal(DEFAULT_DISCONNECT_AFTER_MS, 300_000);
    assert.equal(DEFAULT_ALERT_AFTER_MS, 900_000);
  });

  it("pending_enrollment stays pending without an enrolled edge", () => {
    const o = evaluateHealth(input({ enrolledAt: undefined, state: "pending_enrollment" }), T);
    assert.equal(o.state, "pending_enrollment");
    assert.equal(o.transition, undefined);
    assert.equal(o.alert, undefined);
  });

  it("pending_enrollment → awaiting_handshake on enrollment", () => {
    const o = ev({ state: "pending_enrollment", since: ENROLLED - 50 });
    assert.deepEqual(o.transition, { from: "pending_enrollment", to: "awaiting_handshake", at: ENROLLED + 1_000 });
    assert.equal(o.since, ENROLLED + 1_000);
    assert.match(o.diagnostic, /no handshake yet/);
  });

  it("awaiting_handshake stays while no handshake and under the threshold", () => {
    const o = ev({ now: ENROLLED + 4_999 });
    assert.equal(o.state, "awaiting_handshake");
    assert.equal(o.transition, undefined);
    assert.equal(o.since, ENROLLED);
  });

  it("awaiting_handshake stays after a handshake until the first probe, then → connected", () => {
    const hs = ENROLLED + 500;
    assert.equal(ev({ lastHandshakeMs: hs }).state, "awaiting_handshake");
    assert.match(ev({ lastHandshakeMs: hs }).diagnostic, /waiting for the edge's status report/);
    const o = ev({ lastHandshakeMs: hs, probe: { ok: true, at: ENROLLED + 900 } });
    assert.deepEqual(o.transition, { from: "awaiting_handshake", to: "connected", at: ENROLLED + 1_000 });
    assert.equal(o.diagnostic, "");
  });

  it("awaiting_handshake → error when the first probe reports the API unreachable, keeping its error", () => {
    const o = ev({ lastHandshakeMs: ENROLLED + 500, probe: { ok: false, error: 'Get "https://10.96.0.1/version": dial tcp: i/o timeout', at: ENROLLED + 900 } });
    assert.equal(o.state, "error");
    assert.match(o.diagnostic, /Kubernetes API is unreachable.*dial tcp: i\/o timeout/);
  });

  it("awaiting_handshake → disconnected when an enrolled edge never handshakes", () => {
    const o = ev({ now: ENROLLED + 5_001 });
    assert.deepEqual(o.transition, { from: "awaiting_handshake", to: "disconnected", at: ENROLLED + 5_001 });
    assert.match(o.diagnostic, /no WireGuard handshake since enrollment/);
  });

  it("connected stays connected while handshakes are recent and probes succeed", () => {
    const o = ev({ state: "connected", now: ENROLLED + 60_000, lastHandshakeMs: ENROLLED + 56_000, probe: { ok: true, at: ENROLLED + 10_000 } });
    assert.equal(o.state, "connected");
    assert.equal(o.transition, undefined);
  });

  it("connected stays connected without a probe (hub just restarted)", () => {
    const o = ev({ state: "connected", lastHandshakeMs: ENROLLED + 900 });
    assert.equal(o.state, "connected");
    assert.equal(o.diagnostic, "");
  });

  it("connected → error → connected follows the probe", () => {
    const hs = ENROLLED + 900;
    const e = ev({ state: "connected", lastHandshakeMs: hs, probe: { ok: false, error: "forbidden", at: ENROLLED + 950 } });
    assert.deepEqual(e.transition, { from: "connected", to: "error", at: ENROLLED + 1_000 });
    const c = ev({ state: "error", since: ENROLLED + 1_000, now: ENROLLED + 2_000, lastHandshakeMs: hs, probe: { ok: true, at: ENROLLED + 1_500 } });
    assert.deepEqual(c.transition, { from: "error", to: "connected", at: ENROLLED + 2_000 });
  });

  it("connected → disconnected exactly when the last handshake is older than the threshold", () => {
    const hs = ENROLLED;
    const probe = { ok: true, at: ENROLLED };
    assert.equal(ev({ state: "connected", now: hs + 5_000, lastHandshakeMs: hs, probe }).state, "connected");
    const o = ev({ state: "connected", now: hs + 5_001, lastHandshakeMs: hs, probe });
    assert.deepEqual(o.transition, { from: "connected", to: "disconnected", at: hs + 5_001 });
    assert.match(o.diagnostic, /no WireGuard handshake or traffic for 5s \(last handshake at /);
  });

  it("error → disconnected when the tunnel drops too", () => {
    const o = ev({ state: "error", now: ENROLLED + 10_000, lastHandshakeMs: ENROLLED, probe: { ok: false, error: "x", at: ENROLLED } });
    assert.equal(o.transition?.to, "disconnected");
  });

  it("disconnected → awaiting_handshake on a new handshake: a probe from before the outage does not count", () => {
    const since = ENROLLED + 10_000;
    const o = ev({ state: "disconnected", since, now: since + 1_000, lastHandshakeMs: since + 900, probe: { ok: true, at: ENROLLED + 100 } });
    assert.deepEqual(o.transition, { from: "disconnected", to: "awaiting_handshake", at: since + 1_000 });
    const c = ev({ state: "awaiting_handshake", since: since + 1_000, now: since + 2_000, lastHandshakeMs: since + 900, probe: { ok: true, at: since + 1_500 } });
    assert.equal(c.transition?.to, "connected");
  });

  it("disconnected → connected directly when a fresh probe is already in", () => {
    const since = ENROLLED + 10_000;
    const o = ev({ state: "disconnected", since, now: since + 1_000, lastHandshakeMs: since + 900, probe: { ok: true, at: since + 950 } });
    assert.deepEqual(o.transition, { from: "disconnected", to: "connected", at: since + 1_000 });
  });

  it("disconnected stays disconnected while no handshake arrives (no transition, since kept)", () => {
    const o = ev({ state: "disconnected", since: ENROLLED + 6_000, now: ENROLLED + 9_000, lastHandshakeMs: ENROLLED });
    assert.equal(o.state, "disconnected");
    assert.equal(o.transition, undefined);
    assert.equal(o.since, ENROLLED + 6_000);
  });

  it("any enrolled state → pending_enrollment when the edge is gone, resolving an open alert", () => {
    for (const state of ["awaiting_handshake", "connected", "disconnected", "error"] as const) {
      const o = evaluateHealth({ ...input({ state, enrolledAt: undefined }), alert: { raisedAt: ENROLLED } }, T);
      assert.equal(o.transition?.to, "pending_enrollment", state);
      assert.equal(o.alert?.action, "resolve");
    }
  });

  it("a replaced key starts over at awaiting_handshake (new key: no handshake, new enrolledAt)", () => {
    const o = ev({ state: "connected", enrolledAt: ENROLLED + 500, lastHandshakeMs: 0, probe: { ok: true, at: ENROLLED } });
    assert.deepEqual(o.transition, { from: "connected", to: "awaiting_handshake", at: ENROLLED + 1_000 });
  });

  it("never jumps from pending_enrollment or a silent tunnel straight to connected or error", () => {
    const probeOk = { ok: true, at: ENROLLED + 900 };
    const probeBad = { ok: false, error: "x", at: ENROLLED + 900 };
    for (const probe of [probeOk, probeBad]) {
      assert.equal(evaluateHealth(input({ enrolledAt: undefined, state: "pending_enrollment", probe }), T).state, "pending_enrollment");
      assert.equal(ev({ probe }).state, "awaiting_handshake", "no handshake → not connected/error, whatever the probe says");
      assert.equal(ev({ state: "connected", now: ENROLLED + 20_000, lastHandshakeMs: ENROLLED, probe }).state, "disconnected");
    }
  });
});

describe("health state machine: received traffic is a sign of life", () => {
  // WireGuard re-handshakes only every ~2 minutes; keepalives move rx all the time.
  const hs = ENROLLED + 100;
  const probe = { ok: true, at: ENROLLED + 200 };

  it("handshake older than the threshold but rx moving → stays connected", () => {
    const o = ev({ state: "connected", now: hs + 120_000, lastHandshakeMs: hs, lastRxMs: hs + 119_000, probe });
    assert.equal(o.state, "connected");
    assert.equal(o.transition, undefined);
    assert.equal(o.alert, undefined);
  });

  it("rx stalled beyond the threshold → disconnected, counted from the last traffic", () => {
    const lastRx = hs + 60_000;
    assert.equal(ev({ state: "connected", now: lastRx + 5_000, lastHandshakeMs: hs, lastRxMs: lastRx, probe }).state, "connected");
    const o = ev({ state: "connected", now: lastRx + 5_001, lastHandshakeMs: hs, lastRxMs: lastRx, probe });
    assert.deepEqual(o.transition, { from: "connected", to: "disconnected", at: lastRx + 5_001 });
    assert.match(o.diagnostic, /no WireGuard handshake or traffic for 5s \(last handshake at .*, last sign of life at /);
  });

  it("the alert counts from the last traffic too, and moving rx resolves it", () => {
    const lastRx = hs + 60_000;
    const outs = timeline([
      { now: lastRx, lastHandshakeMs: hs, lastRxMs: lastRx, probe }, // connected
      { now: lastRx + 15_000, lastHandshakeMs: hs, lastRxMs: lastRx, probe }, // disconnected, no alert yet
      { now: lastRx + 15_001, lastHandshakeMs: hs, lastRxMs: lastRx, probe }, // raise
      { now: lastRx + 20_000, lastHandshakeMs: hs, lastRxMs: lastRx + 19_500, probe: { ok: true, at: lastRx + 19_800 } }, // traffic again: resolve
    ]);
    assert.deepEqual(
      outs.map((o) => [o.state, o.alert?.action]),
      [
        ["connected", undefined],
        ["disconnected", undefined],
        ["disconnected", "raise"],
        ["connected", "resolve"],
      ],
    );
  });

  it("traffic without any handshake for the current key proves nothing", () => {
    const o = ev({ now: ENROLLED + 5_001, lastHandshakeMs: 0, lastRxMs: ENROLLED + 5_000, probe });
    assert.equal(o.state, "disconnected");
  });
});

describe("health state machine: the critical alert", () => {
  const hs = ENROLLED + 100;
  const probe = { ok: true, at: ENROLLED + 200 };

  it("is raised exactly once per outage, not re-raised while down, resolved on recovery, raised again on a later outage", () => {
    const outs = timeline([
      { now: ENROLLED + 300, lastHandshakeMs: hs, probe }, // connected
      { now: hs + 5_001, lastHandshakeMs: hs, probe }, // disconnected
      { now: hs + 15_000, lastHandshakeMs: hs, probe }, // at the threshold: not yet
      { now: hs + 15_001, lastHandshakeMs: hs, probe }, // raise
      { now: hs + 16_000, lastHandshakeMs: hs, probe }, // still down: no re-raise
      { now: hs + 60_000, lastHandshakeMs: hs, probe }, // still down: no re-raise
      { now: hs + 61_000, lastHandshakeMs: hs + 60_500, probe: { ok: true, at: hs + 60_800 } }, // back: resolve
      { now: hs + 62_000, lastHandshakeMs: hs + 60_500, probe: { ok: true, at: hs + 60_800 } }, // connected, nothing
      { now: hs + 60_500 + 15_001, lastHandshakeMs: hs + 60_500, probe: { ok: true, at: hs + 60_800 } }, // second outage: raise again
    ]);
    assert.deepEqual(
      outs.map((o) => o.state),
      ["connected", "disconnected", "disconnected", "disconnected", "disconnected", "disconnected", "connected", "connected", "disconnected"],
    );
    assert.deepEqual(
      outs.map((o) => o.alert?.action),
      [undefined, undefined, undefined, "raise", undefined, undefined, "resolve", undefined, "raise"],
    );
    const raise = outs[3]!.alert!;
    assert.equal(raise.action, "raise");
    if (raise.action === "raise") {
      assert.equal(raise.downSinceMs, hs);
      assert.match(raise.summary, /no WireGuard handshake or traffic for 15s/);
    }
    const resolve = outs[6]!.alert!;
    assert.equal(resolve.action === "resolve" && resolve.raisedAt, hs + 15_001);
  });

  it("counts from enrollment when the edge never handshook", () => {
    const outs = timeline([{ now: ENROLLED + 15_000 }, { now: ENROLLED + 15_001 }, { now: ENROLLED + 20_000 }]);
    assert.deepEqual(
      outs.map((o) => o.alert?.action),
      [undefined, "raise", undefined],
    );
  });

  it("is resolved by a handshake even when the API is still unreachable (the tunnel is back)", () => {
    const o = ev({ state: "disconnected", since: ENROLLED + 6_000, now: ENROLLED + 30_000, lastHandshakeMs: ENROLLED + 29_000, probe: { ok: false, error: "x", at: ENROLLED + 29_500 }, alert: { raisedAt: ENROLLED + 16_000 } });
    assert.equal(o.state, "error");
    assert.equal(o.alert?.action, "resolve");
  });

  it("survives a restart: an open alert passed back in is neither re-raised nor lost", () => {
    const o = ev({ state: "disconnected", now: ENROLLED + 100_000, lastHandshakeMs: ENROLLED, alert: { raisedAt: ENROLLED + 20_000 } });
    assert.equal(o.alert, undefined);
  });
});

describe("formatDuration", () => {
  it("reads like an engineer would write it", () => {
    assert.equal(formatDuration(800), "800ms");
    assert.equal(formatDuration(5_000), "5s");
    assert.equal(formatDuration(270_000), "4m 30s");
    assert.equal(formatDuration(900_000), "15m");
    assert.equal(formatDuration(7_500_000), "2h 5m");
  });
});
