/**
 * Cluster health: a pure state machine over what the hub can observe of a
 * tunnel (the WireGuard handshake time of the cluster's peer and the last
 * status probe of its edge) plus the one critical alert per outage.
 *
 *   pending_enrollment ──enrolled──▶ awaiting_handshake ──handshake + probe──▶ connected ⇄ error
 *                                          │                                        │
 *                                          └──── no handshake > disconnectAfter ──▶ disconnected
 *
 * Sign of life is the newest of the peer's last handshake and the last time
 * its received-bytes counter grew (`lastRxMs`): WireGuard re-handshakes only
 * about every 2 minutes, while the edge's persistent keepalive (25 s by
 * default) arrives all the time. Handshake age alone would mark a healthy
 * tunnel disconnected under any threshold shorter than the rekey interval.
 * "Recent" means within `disconnectAfterMs`. Pinned by health.test.ts.
 */
import type { ClusterStatusName } from "./cluster.js";

export type HealthState = ClusterStatusName;

/** Defaults: red after 5 minutes without a handshake, one critical alert after 15. */
export const DEFAULT_DISCONNECT_AFTER_MS = 5 * 60_000;
export const DEFAULT_ALERT_AFTER_MS = 15 * 60_000;

export interface HealthThresholds {
  /** No sign of life (handshake or received traffic) for longer than this: disconnected. */
  disconnectAfterMs: number;
  /** No sign of life for longer than this: raise the critical alert (once per outage). */
  alertAfterMs: number;
}

/** The outcome of one EdgeService.GetStatus call through the tunnel. */
export interface ProbeResult {
  /** True when the edge answered and reported its API server reachable. */
  ok: boolean;
  /** The edge's API error, or why the status call itself failed. */
  error?: string;
  /** Epoch ms of the probe. */
  at: number;
}

export interface HealthInput {
  now: number;
  /** Epoch ms; undefined while the cluster has no enrolled edge. */
  enrolledAt: number | undefined;
  /** Epoch ms of the peer's last handshake; 0 = never (for the current key). */
  lastHandshakeMs: number;
  /**
   * Epoch ms when the hub last saw the peer's received-bytes counter grow
   * (keepalives, data); 0 or absent = not observed. Only counts after a handshake.
   */
  lastRxMs?: number;
  probe: ProbeResult | undefined;
  previous: { state: HealthState; since: number };
  /** The open critical alert, if any. */
  alert: { raisedAt: number } | undefined;
  /**
   * Epoch ms of the edge's goodbye (EdgeLifecycleService.Goodbye: it got SIGTERM and removes its tunnel).
   * Counts until a handshake newer than it: a new edge (the restarted pod) handshakes afresh.
   */
  goodbyeAtMs?: number;
}

export type AlertAction =
  | { action: "raise"; raisedAt: number; summary: string; downSinceMs: number }
  | { action: "resolve"; raisedAt: number; resolvedAt: number; summary: string };

export interface HealthOutput {
  state: HealthState;
  /** When `state` began (unchanged unless there is a transition). */
  since: number;
  /** Human-readable explanation of the state; empty when connected. */
  diagnostic: string;
  transition: { from: HealthState; to: HealthState; at: number } | undefined;
  alert: AlertAction | undefined;
}

/** "4m 30s", "2h 5m", "800ms". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m}m ${s % 60}s` : `${m}m`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The diagnostic of a cluster whose edge said goodbye (the REST row, the status history, the event). */
export function goodbyeDiagnostic(goodbyeAtMs: number): string {
  return `edge stopped at ${iso(goodbyeAtMs)} (helm uninstall, pod deletion or eviction)`;
}

/** Evaluates one cluster. Pure: same input, same output. */
export function evaluateHealth(input: HealthInput, t: HealthThresholds): HealthOutput {
  const { now, enrolledAt, lastHandshakeMs, probe, previous } = input;
  let state: HealthState;
  let diagnostic: string;
  let alert: AlertAction | undefined;

  if (enrolledAt === undefined) {
    state = "pending_enrollment";
    diagnostic = "waiting for an edge to enroll";
    if (input.alert) alert = { action: "resolve", raisedAt: input.alert.raisedAt, resolvedAt: now, summary: "cluster has no enrolled edge any more" };
  } else if (input.goodbyeAtMs !== undefined && lastHandshakeMs <= input.goodbyeAtMs) {
    // The edge said goodbye and no edge has handshaken since: red at once, not after disconnectAfterMs.
    // Traffic after the goodbye is the old edge's last packets, so only a new handshake counts.
    state = "disconnected";
    diagnostic = goodbyeDiagnostic(input.goodbyeAtMs);
    const downFor = now - input.goodbyeAtMs;
    if (!input.alert && downFor > t.alertAfterMs) {
      alert = { action: "raise", raisedAt: now, downSinceMs: input.goodbyeAtMs, summary: `edge stopped ${formatDuration(downFor)} ago and has not come back` };
    }
  } else {
    // Traffic only proves life for a key that has handshaken (it needs a session).
    const lastSeen = lastHandshakeMs > 0 ? Math.max(lastHandshakeMs, input.lastRxMs ?? 0) : 0;
    // Down time counts from the last sign of life, or from enrollment if there never was one.
    const reference = lastSeen > 0 ? lastSeen : enrolledAt;
    const downFor = now - reference;
    const recent = lastSeen > 0 && now - lastSeen <= t.disconnectAfterMs;
    if (recent) {
      // A probe taken before the tunnel (re)appeared says nothing about it now.
      const waiting = previous.state === "pending_enrollment" || previous.state === "awaiting_handshake" || previous.state === "disconnected";
      const fresh = probe !== undefined && !(waiting && probe.at < previous.since);
      if (!fresh) {
        // Without a probe (e.g. right after a hub restart) a connected cluster stays connected.
        state = waiting ? "awaiting_handshake" : previous.state;
        diagnostic = state === "connected" ? "" : `handshake at ${iso(lastHandshakeMs)}; waiting for the edge's status report`;
      } else if (probe.ok) {
        state = "connected";
        diagnostic = "";
      } else {
        state = "error";
        diagnostic = `tunnel up (handshake at ${iso(lastHandshakeMs)}) but the Kubernetes API is unreachable from the edge: ${probe.error || "no detail reported"}`;
      }
      if (input.alert) {
        alert = { action: "resolve", raisedAt: input.alert.raisedAt, resolvedAt: now, summary: `WireGuard tunnel alive again after ${formatDuration(now - input.alert.raisedAt)} of alert` };
      }
    } else {
      if (downFor > t.disconnectAfterMs) {
        state = "disconnected";
        diagnostic =
          lastHandshakeMs > 0
            ? `no WireGuard handshake or traffic for ${formatDuration(downFor)} (last handshake at ${iso(lastHandshakeMs)}, last sign of life at ${iso(lastSeen)}); the edge cannot reach the hub or is not running`
            : `no WireGuard handshake since enrollment at ${iso(enrolledAt)} (${formatDuration(downFor)}); check that the edge pod runs and can send UDP to the hub endpoint`;
      } else {
        state = "awaiting_handshake";
        diagnostic = `peer installed at ${iso(enrolledAt)}; no handshake yet`;
      }
      if (!input.alert && downFor > t.alertAfterMs) {
        alert = { action: "raise", raisedAt: now, downSinceMs: reference, summary: `no WireGuard handshake or traffic for ${formatDuration(downFor)}` };
      }
    }
  }

  const changed = state !== previous.state;
  return {
    state,
    since: changed ? now : previous.since,
    diagnostic,
    transition: changed ? { from: previous.state, to: state, at: now } : undefined,
    alert,
  };
}
