/**
 * One cluster through the health state machine (domain/health.ts): what
 * changed is written to PostgreSQL, published as STATUS_CHANGED, and raises or
 * resolves the outage alert. Only the node that evaluates the cluster (its
 * home, homes.ts) calls this.
 */
import { peeringv1 } from "@daalu/proto";
import type { Logger } from "@daalu/runtime";
import type { ClusterEvents } from "../adapters/nats/events.js";
import type { HealthPatch, PeeringStore } from "../adapters/pg/store.js";
import { evaluateHealth } from "../domain/health.js";
import type { Alerts } from "./alerts.js";
import type { HubNodeConfig } from "./config.js";
import type { Tracked } from "./tracked.js";

export interface EvaluateDeps {
  config: HubNodeConfig;
  store: Pick<PeeringStore, "updateHealth">;
  events: ClusterEvents;
  alerts: Alerts;
  log: Logger;
  /** The cluster row is gone: stop tracking it. */
  untrack: (t: Tracked, why: string) => Promise<void>;
  /** The edge went away: drop its cached probe channel. */
  forgetProbe: (tunnelIp: string) => void;
}

/** Runs the state machine for one cluster and persists/publishes what changed. */
export async function evaluateTracked(deps: EvaluateDeps, t: Tracked, now: number): Promise<void> {
  const { config } = deps;
  const out = evaluateHealth(
    {
      now,
      enrolledAt: t.enrolledAt,
      lastHandshakeMs: t.lastHandshakeMs,
      lastRxMs: t.lastRxMs,
      probe: t.probe ? { ok: t.probe.ok, error: t.probe.error, at: t.probe.at } : undefined,
      previous: { state: t.state, since: t.since },
      alert: t.alert ? { raisedAt: t.alert.raisedAt.getTime() } : undefined,
      ...(t.goodbyeAtMs !== undefined ? { goodbyeAtMs: t.goodbyeAtMs } : {}),
    },
    { disconnectAfterMs: config.disconnectAfterMs, alertAfterMs: config.alertAfterMs },
  );
  const patch: HealthPatch = {};
  if (out.transition) {
    patch.status = out.state;
    patch.statusSince = new Date(out.since);
  }
  if (out.diagnostic !== t.diagnostic) patch.diagnostic = out.diagnostic;
  if (t.lastHandshakeMs > t.storedHandshakeMs) patch.lastHandshake = new Date(t.lastHandshakeMs);
  if (t.probe && t.probe.ok !== t.apiReachable) patch.apiReachable = t.probe.ok;
  if (t.probe?.edgeVersion && t.probe.edgeVersion !== t.edgeVersion) patch.edgeVersion = t.probe.edgeVersion;
  if (Object.keys(patch).length > 0) {
    const res = await deps.store.updateHealth(t.clusterId, patch);
    if (!res) return deps.untrack(t, "cluster removed");
    t.state = out.state;
    t.since = out.since;
    t.diagnostic = out.diagnostic;
    t.storedHandshakeMs = Math.max(t.storedHandshakeMs, t.lastHandshakeMs);
    if (patch.apiReachable !== undefined) t.apiReachable = patch.apiReachable;
    if (patch.edgeVersion !== undefined) t.edgeVersion = patch.edgeVersion;
    if (out.transition) {
      deps.log.info({ clusterId: t.clusterId, from: out.transition.from, to: out.transition.to, diagnostic: out.diagnostic }, "cluster status changed");
      if (out.state === "disconnected") deps.forgetProbe(t.tunnelIp);
    }
    if (patch.edgeVersion !== undefined) deps.log.info({ clusterId: t.clusterId, edgeVersion: patch.edgeVersion }, "edge version changed");
    // Live views follow the status and the edge's version (update_available) from these events.
    if (out.transition || patch.edgeVersion !== undefined) deps.events.publish({ kind: peeringv1.ClusterEventKind.STATUS_CHANGED, cluster: res.cluster });
  }
  if (out.alert?.action === "raise") await deps.alerts.raise(t, out.alert.summary, out.diagnostic, out.alert.raisedAt);
  else if (out.alert?.action === "resolve") await deps.alerts.resolve(t, now, out.alert.summary);
}
