/**
 * One cluster through the health state machine (domain/health.ts): what
 * changed is written to PostgreSQL, published as STATUS_CHANGED, and raises or
 * resolves the outage alert. Only the node that evaluates the cluster (its
 * home, homes.ts) calls this.
 */
import { peeringv1 } from "@daalu/proto";
import type { Logger } from "@daalu/runtime";
import type { ClusterEvents } from "../adapters/nats/events.js";
import type { ClusterRecord, HealthPatch, PeeringStore } from "../adapters/pg/store.js";
import type { ClusterStatusName } from "../domain/cluster.js";
import { evaluateHealth } from "../domain/health.js";
import type { Alerts } from "./alerts.js";
import type { HubNodeConfig } from "./config.js";
import type { Tracked } from "./tracked.js";

export interface EvaluateDeps {
  config: HubNodeConfig;
  store: Pick<PeeringStore, "updateHealth" | "updateHealthMany">;
  events: ClusterEvents;
  alerts: Alerts;
  log: Logger;
  /** The cluster row is gone: stop tracking it. */
  untrack: (t: Tracked, why: string) => Promise<void>;
  /** The edge went away: drop its cached probe channel. */
  forgetProbe: (tunnelIp: string) => void;
}

type Judgement = { t: Tracked; out: ReturnType<typeof evaluateHealth>; patch: HealthPatch };
type Written = { cluster: ClusterRecord; previousStatus: ClusterStatusName } | undefined;

/** The state machine's verdict on one cluster, and what of it must be written. */
function judge(config: HubNodeConfig, t: Tracked, now: number): Judgement {
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
  return { t, out, patch };
}

const changes = (j: Judgement): boolean => Object.keys(j.patch).length > 0;

/** After the write: the tracked state, logs, STATUS_CHANGED, and the outage alert. */
async function settle(deps: EvaluateDeps, j: Judgement, res: Written, now: number): Promise<void> {
  const { t, out, patch } = j;
  if (changes(j)) {
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

/** Runs the state machine for one cluster and persists/publishes what changed. */
export async function evaluateTracked(deps: EvaluateDeps, t: Tracked, now: number): Promise<void> {
  const j = judge(deps.config, t, now);
  await settle(deps, j, changes(j) ? await deps.store.updateHealth(t.clusterId, j.patch) : undefined, now);
}

/** Clusters written per transaction by evaluateMany. */
export const HEALTH_WRITE_BATCH = 1_000;

/**
 * evaluateTracked for a sweep's clusters: what changed is written in transactions of up to
 * HEALTH_WRITE_BATCH clusters (updateHealthMany) instead of one each, then each cluster settles in order.
 */
export async function evaluateMany(deps: EvaluateDeps, list: readonly Tracked[], now: number): Promise<void> {
  for (let i = 0; i < list.length; i += HEALTH_WRITE_BATCH) {
    const judged = list.slice(i, i + HEALTH_WRITE_BATCH).map((t) => judge(deps.config, t, now));
    const writes = judged.filter(changes);
    const written = writes.length > 0 ? await deps.store.updateHealthMany(writes.map((j) => ({ clusterId: j.t.clusterId, patch: j.patch }))) : new Map<string, Written>();
    for (const j of judged) await settle(deps, j, written.get(j.t.clusterId), now);
  }
}
