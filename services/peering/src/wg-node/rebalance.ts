/**
 * Rebalancing between hub nodes (docs/architecture.md "Several hub nodes"):
 * once a second, a node carrying at least two clusters more than the least
 * loaded live node hands clusters to it, at most PEERING_REBALANCE_PER_SECOND
 * (domain/rebalance.ts plans which). One hand-over, from this node (A) to B:
 *
 * 1. A's tunnel-proxy lets go of just that cluster (ReleaseClusters; it
 *    refuses while a session is open or calls still run, and serves the
 *    cluster again by itself unless a newer home arrives within its hold);
 * 2. the edge is asked (its GetStatus, move_to_endpoint) to move to B's
 *    endpoint; it confirms first, then re-creates its hub peer with it;
 * 3. A drops that one peer from its device and keeps it off (device-sync.ts)
 *    until HOME_CHANGED moves the cluster away, or DEVICE_HOLD_MS: otherwise
 *    A's WireGuard would answer leftover traffic and the edge (one hub key)
 *    would roam back;
 * 4. B's device sees the handshake, B claims (the usual conditional UPDATE),
 *    B's tunnel-proxy serves. Calls in the gap get CLUSTER_MOVING (GET/HEAD
 *    are retried by the gateway).
 *
 * Anything that does not confirm stops the move and the cluster stays here:
 * no answer from the tunnel-proxy, a refusal, an edge that does not confirm
 * (older edges never do: they are not asked again for a long while).
 */
import type { Logger, NatsConnection } from "@daalu/runtime";
import { requestClusterRelease, type ClusterRef } from "../adapters/nats/cluster-release.js";
import { planMoves } from "../domain/rebalance.js";
import type { Homes } from "./homes.js";
import type { DeviceSync } from "./device-sync.js";
import type { EdgeProber } from "./prober.js";
import type { Tracked } from "./tracked.js";

/** How long the tunnel-proxy holds a released cluster unserved before it serves it again by itself. */
export const TUNNEL_HOLD_MS = 20_000;
/** How long A keeps the moved peer off its device when no HOME_CHANGED comes. */
export const DEVICE_HOLD_MS = 20_000;
/** The tunnel-proxy waits ≤ 3 s for the cluster's calls in flight before it answers. */
const RELEASE_TIMEOUT_MS = 6_000;
/** A cluster whose release was refused (a session, a long watch) is not tried again for this long. */
const REFUSED_BACKOFF_MS = 30_000;
/** An edge that did not confirm the move (an older edge) is not asked again for this long. */
const UNCONFIRMED_BACKOFF_MS = 10 * 60_000;
/** A target whose tunnel-proxy answered an empty ReleaseClusters is trusted this long (it runs, and knows the subject). */
const TARGET_OK_MS = 10_000;
/** A target that did not take an edge it was sent within the hold (unreachable from edges?) gets none for this long. */
const TARGET_FAILED_BACKOFF_MS = 5 * 60_000;

export interface RebalancerDeps {
  homes: Homes;
  nc: NatsConnection;
  prefix: string;
  perSecond: number;
  prober: EdgeProber;
  log: Logger;
  /** The clusters this node tracks (tunnel address, key, state, the peer as this device shows it). */
  tracked: () => Iterable<Tracked>;
  /** The endpoints edges are told about (with the move request too: the edge accepts only one of them). */
  edgeEndpoints: () => string[];
  /** Keeps a moved peer off the device, and puts it back. */
  sync: Pick<DeviceSync, "withholdPeer" | "restorePeer">;
  /** Whether the peer belongs on the device again (the node runs and still tracks that key). */
  keepsPeer: (t: Tracked) => boolean;
  locked: <T>(fn: () => Promise<T>) => Promise<T>;
  /** How long a moved peer stays off the device without a HOME_CHANGED (default DEVICE_HOLD_MS). */
  deviceHoldMs?: number;
}

interface Pending {
  to: string;
  t: Tracked;
  releasedAt: number;
  timer: NodeJS.Timeout;
}

export class Rebalancer {
  private readonly pending = new Map<string, Pending>();
  private readonly backoff = new Map<string, number>();
  private readonly targetOk = new Map<string, number>();
  private readonly targetFailed = new Map<string, number>();
  private stopped = false;

  constructor(private readonly d: RebalancerDeps) {}

  /** One planning round (every second): starts this round's moves and waits until each was handed over or given up. */
  async tick(): Promise<void> {
    const { homes } = this.d;
    if (this.stopped || this.d.perSecond <= 0 || homes.isDraining) return;
    const now = Date.now();
    const self = homes.nodeId;
    const tracked = new Map([...this.d.tracked()].map((t) => [t.clusterId, t]));
    const movable = new Set<string>();
    for (const [id, t] of tracked) {
      if ((this.backoff.get(id) ?? 0) > now) continue;
      if (t.state === "connected" && t.peer && t.peer.lastHandshakeMs > 0 && homes.homeOf(id) === self) movable.add(id);
    }
    const live = homes.liveNodes();
    const moves = planMoves({ self, live, homes: homes.all(), movable, pending: new Map([...this.pending].map(([id, p]) => [id, p.to])), perSecond: this.d.perSecond });
    if (moves.length === 0) return;
    await Promise.all(
      moves.map(async (m) => {
        const endpoint = live.find((n) => n.id === m.to)?.endpoint;
        const t = tracked.get(m.clusterId);
        if (!endpoint || !t || !(await this.targetReady(m.to))) return;
        await this.move(t, m.to, endpoint).catch((err) => this.d.log.warn({ err, clusterId: m.clusterId }, "rebalance: hand-over failed"));
      }),
    );
  }

  /** B's tunnel-proxy must run (and know ReleaseClusters): otherwise the cluster would land where nobody serves it. */
  private async targetReady(node: string): Promise<boolean> {
    if ((this.targetFailed.get(node) ?? 0) > Date.now()) return false;
    if ((this.targetOk.get(node) ?? 0) > Date.now()) return true;
    try {
      await requestClusterRelease(this.d.nc, this.d.prefix, node, { clusters: [] }, 1_000);
      this.targetOk.set(node, Date.now() + TARGET_OK_MS);
      return true;
    } catch {
      return false;
    }
  }

  private async move(t: Tracked, to: string, endpoint: string): Promise<void> {
    const { log, homes } = this.d;
    const ref: ClusterRef = { tenantId: t.tenantId, clusterId: t.clusterId };
    const releasedAt = Date.now();
    let answer;
    try {
      answer = await requestClusterRelease(this.d.nc, this.d.prefix, homes.nodeId, { clusters: [ref], holdMs: TUNNEL_HOLD_MS }, RELEASE_TIMEOUT_MS);
    } catch (err) {
      this.backoff.set(t.clusterId, Date.now() + REFUSED_BACKOFF_MS);
      return log.warn({ clusterId: t.clusterId, err: (err as Error).message }, "rebalance: this node's tunnel-proxy did not answer the release; the cluster stays");
    }
    if (!answer.released.some((c) => c.clusterId === t.clusterId)) {
      this.backoff.set(t.clusterId, Date.now() + REFUSED_BACKOFF_MS);
      return log.info({ clusterId: t.clusterId, reason: answer.refused.find((c) => c.clusterId === t.clusterId)?.reason }, "rebalance: the tunnel-proxy keeps serving the cluster; it stays");
    }
    const confirmed = await this.d.prober.requestMove(t.tunnelIp, this.d.edgeEndpoints(), endpoint);
    if (!confirmed || this.stopped) {
      this.backoff.set(t.clusterId, Date.now() + UNCONFIRMED_BACKOFF_MS);
      await requestClusterRelease(this.d.nc, this.d.prefix, homes.nodeId, { clusters: [ref], resume: true }, RELEASE_TIMEOUT_MS).catch(() => undefined);
      return log.info({ clusterId: t.clusterId, to }, "rebalance: the edge did not confirm the move (an older edge?); the cluster stays");
    }
    await this.d.locked(() => this.d.sync.withholdPeer(t.publicKey));
    const timer = setTimeout(() => void this.d.locked(() => this.finish(t.clusterId, "timeout")).catch(() => undefined), this.d.deviceHoldMs ?? DEVICE_HOLD_MS);
    this.pending.set(t.clusterId, { to, t, releasedAt, timer });
    log.info({ clusterId: t.clusterId, to, endpoint, tookMs: Date.now() - releasedAt }, "rebalance: cluster released and its edge sent to another node");
  }

  /** A HOME_CHANGED (under the node's lock): a cluster handed away has its new home; its peer comes back (for the next failover). */
  async onHomeChanged(clusterId: string, homeNode: string): Promise<void> {
    if (this.pending.has(clusterId) && homeNode !== this.d.homes.nodeId) await this.finish(clusterId, homeNode);
  }

  private async finish(clusterId: string, outcome: string): Promise<void> {
    const p = this.pending.get(clusterId);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(clusterId);
    await this.d.sync.restorePeer(p.t.publicKey, p.t.tunnelIp, this.d.keepsPeer(p.t));
    if (outcome === "timeout") {
      this.backoff.set(clusterId, Date.now() + REFUSED_BACKOFF_MS);
      this.targetFailed.set(p.to, Date.now() + TARGET_FAILED_BACKOFF_MS);
      this.d.log.warn({ clusterId, to: p.to }, "rebalance: no new home within the hold; the peer is back on this device");
    } else this.d.log.info({ clusterId, home: outcome, gapMs: Date.now() - p.releasedAt }, "rebalance: cluster homed on its new node");
  }

  /** Stops planning and the hold timers; withheld peers are not put back (a stopping node's device goes anyway). */
  stop(): void {
    this.stopped = true;
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
  }
}
