/**
 * Several hub nodes (docs/architecture.md "Several hub nodes"): a tunnel-proxy
 * with TUNNEL_PROXY_NODE_ID subscribes the tunnel subjects (Proxy, Session, EdgeStatus) of
 * exactly the clusters homed on its node — the list from peering's
 * ListHomedClusters at start, then HOME_CHANGED and DELETED events — so a call
 * reaches the node whose WireGuard device carries that edge, and never a node
 * whose packets would make the edge roam. Without a node id the caller keeps
 * today's wildcard subscription (one node).
 *
 * A draining node's peering asks first (nodeReleaseSubject, before it empties
 * its device): every cluster subject is let go, the calls already taken
 * finish (bounded), then the answer. Between that and the new home's
 * subscription nobody serves the cluster (503 CLUSTER_MOVING, retried by
 * callers of GET/HEAD), and never two nodes at once.
 *
 * Rebalancing asks for single clusters (clusterReleaseSubject,
 * ReleaseClustersRequest; cluster-release.ts): a cluster with an open session,
 * or whose calls still run after a bounded wait, is refused (a rebalance never
 * cuts a call); a released one is held unserved at most `hold_ms` and served
 * again unless a HOME_CHANGED with a newer epoch came meanwhile.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { peeringv1 } from "@daalu/proto";
import { clusterReleaseSubject, nodeReleaseSubject, type PeeringClient } from "@daalu/peering";
import { eventSubject, tunnelSubject, type Logger, type NatsConnection } from "@daalu/runtime";
import type { Msg, Subscription } from "@nats-io/transport-node";
import { ClusterCalls, answerClusterRelease, type ReleaseRef } from "./cluster-release.js";

/** A tunnel subject's callback; the promise (when returned) is the call, so a cluster's calls in flight are known. */
export type TunnelHandler = (err: Error | null, msg: Msg) => void | Promise<unknown>;

export interface HomeRoutingDeps {
  nc: NatsConnection;
  prefix: string;
  queue: string;
  nodeId: string;
  peering: Pick<PeeringClient, "listHomedClusters">;
  /** One handler per tunnel method this process serves ("Proxy", "Session"). */
  handlers: Record<string, TunnelHandler>;
  /** Resolves when the calls this process took have finished, or after `maxMs`. */
  settle: (maxMs: number) => Promise<void>;
  logger: Logger;
}

/** How long a release waits for calls already taken (a watch or logs -f would hold it forever). */
const RELEASE_SETTLE_MS = 5_000;

interface Homed {
  epoch: bigint;
  subs: Subscription[];
}

/** A cluster released for a move: unserved until a newer home arrives, or served again when its hold ends. */
interface Held {
  ref: ReleaseRef;
  epoch: bigint;
  timer: NodeJS.Timeout;
}

export class HomeRouting {
  private readonly homed = new Map<string, Homed>();
  /** Highest epoch seen per cluster (homed here or not), so a late event never undoes a newer one. */
  private readonly epochs = new Map<string, bigint>();
  private events: Subscription | undefined;
  private releaseSub: Subscription | undefined;
  private clusterReleaseSub: Subscription | undefined;
  private readonly held = new Map<string, Held>();
  /** Each cluster's calls and sessions in flight here. */
  private readonly calls = new ClusterCalls();
  /** Set by release(): from then on no cluster is served here again. */
  private released: Promise<void> | undefined;

  constructor(private readonly deps: HomeRoutingDeps) {}

  /** Clusters whose subjects this process subscribes now. */
  get clusters(): string[] {
    return [...this.homed.keys()].map((k) => k.split("/")[1]!);
  }

  /** Whether this process serves the cluster's tunnel subjects now. */
  serves(tenantId: string, clusterId: string): boolean {
    return this.homed.has(`${tenantId}/${clusterId}`);
  }

  /** Follows events first (nothing between the list and the subscription is lost), then takes the node's list. */
  async start(): Promise<void> {
    const { nc, prefix, nodeId } = this.deps;
    this.events = nc.subscribe(eventSubject(prefix, "*", "cluster.>"), {
      callback: (err, msg) => {
        if (err) return this.deps.logger.warn({ err }, "cluster event subscription error");
        let ev: peeringv1.ClusterEvent;
        try {
          ev = fromBinary(peeringv1.ClusterEventSchema, msg.data);
        } catch {
          return;
        }
        if (ev.kind === peeringv1.ClusterEventKind.HOME_CHANGED) this.apply(ev.tenantId, ev.clusterId, ev.homeNode, ev.homeEpoch);
        else if (ev.kind === peeringv1.ClusterEventKind.DELETED) this.remove(`${ev.tenantId}/${ev.clusterId}`);
      },
    });
    // Not a queue group: every tunnel-proxy of the node lets go (peering waits for the first answer).
    this.releaseSub = nc.subscribe(nodeReleaseSubject(prefix, nodeId), { callback: (_e, msg) => void this.release().then(() => msg.respond()) });
    this.clusterReleaseSub = nc.subscribe(clusterReleaseSubject(prefix, nodeId), { callback: (_e, msg) => void answerClusterRelease(msg, this, this.deps.logger) });
    await nc.flush();
    const { clusters } = await this.deps.peering.listHomedClusters({ nodeId }, { timeoutMs: 30_000 });
    for (const c of clusters) this.apply(c.tenantId, c.clusterId, nodeId, c.homeEpoch);
    await nc.flush();
    this.deps.logger.info({ nodeId, clusters: this.homed.size }, "serving the tunnels of the clusters homed on this node");
  }

  private apply(tenantId: string, clusterId: string, homeNode: string, epoch: bigint): void {
    const key = `${tenantId}/${clusterId}`;
    if ((this.epochs.get(key) ?? -1n) >= epoch) return;
    this.epochs.set(key, epoch);
    this.unhold(key);
    if (homeNode !== this.deps.nodeId || this.released) return this.remove(key);
    const cur = this.homed.get(key);
    if (cur) {
      cur.epoch = epoch;
      return;
    }
    this.serve({ tenantId, clusterId }, epoch);
    this.deps.logger.info({ tenantId, clusterId, epoch: String(epoch) }, "cluster homed here: serving its tunnel");
  }

  private serve(ref: ReleaseRef, epoch: bigint): void {
    const { nc, prefix, queue, handlers } = this.deps;
    const key = `${ref.tenantId}/${ref.clusterId}`;
    const subs = Object.entries(handlers).map(([method, handler]) =>
      nc.subscribe(tunnelSubject(prefix, ref.tenantId, ref.clusterId, method), { queue, callback: (err, msg) => this.calls.track(key, method === "Session", handler(err, msg)) }),
    );
    this.homed.set(key, { epoch, subs });
  }

  private unhold(key: string): Held | undefined {
    const h = this.held.get(key);
    if (h) clearTimeout(h.timer);
    this.held.delete(key);
    return h;
  }

  /**
   * Rebalancing: stops serving `refs` (those homed here with no session open) and waits for their calls in flight,
   * at most `settleMs`; a cluster whose calls still run is served again and refused. A released cluster is served
   * again after `holdMs` unless a newer home came. Resolves with what it released and what it refused, and why.
   */
  async releaseClusters(refs: ReleaseRef[], holdMs: number, settleMs: number): Promise<{ released: ReleaseRef[]; refused: Array<{ ref: ReleaseRef; reason: string }> }> {
    const refused: Array<{ ref: ReleaseRef; reason: string }> = [];
    const taken: Array<{ ref: ReleaseRef; key: string; epoch: bigint; drained: Promise<unknown> }> = [];
    for (const ref of refs) {
      const key = `${ref.tenantId}/${ref.clusterId}`;
      const cur = this.homed.get(key);
      if (!cur || this.released) refused.push({ ref, reason: "NOT_HOMED_HERE" });
      else if (this.calls.sessions(key) > 0) refused.push({ ref, reason: "SESSION_OPEN" });
      else {
        this.homed.delete(key);
        taken.push({ ref, key, epoch: cur.epoch, drained: Promise.allSettled(cur.subs.map((s) => s.drain())) });
      }
    }
    await Promise.all(taken.map((t) => t.drained));
    await Promise.all(taken.map((t) => this.calls.settled(t.key, settleMs)));
    const released: ReleaseRef[] = [];
    for (const t of taken) {
      const busy = this.calls.sessions(t.key) > 0 ? "SESSION_OPEN" : this.calls.busy(t.key) ? "CALLS_IN_FLIGHT" : undefined;
      // Moved meanwhile (a newer epoch): nothing to serve again or hold.
      if (this.epochs.get(t.key) !== t.epoch || this.released) continue;
      if (busy) {
        this.serve(t.ref, t.epoch);
        refused.push({ ref: t.ref, reason: busy });
        continue;
      }
      const timer = setTimeout(() => this.resume([t.ref], "the hold ended without a new home"), holdMs);
      this.held.set(t.key, { ref: t.ref, epoch: t.epoch, timer });
      released.push(t.ref);
    }
    if (refs.length > 0) this.deps.logger.info({ released: released.map((r) => r.clusterId), refused: refused.map((r) => `${r.ref.clusterId}: ${r.reason}`) }, "rebalance: released clusters for a move");
    return { released, refused };
  }

  /** Serves held clusters again (the move was given up, or its hold ended) while they are still homed here. */
  resume(refs: ReleaseRef[], why: string): void {
    for (const ref of refs) {
      const key = `${ref.tenantId}/${ref.clusterId}`;
      const h = this.unhold(key);
      if (!h || this.released || this.homed.has(key) || this.epochs.get(key) !== h.epoch) continue;
      this.serve(h.ref, h.epoch);
      this.deps.logger.info({ cluster: key, why }, "rebalance: serving the cluster again");
    }
  }

  /** The cluster moved away (or is gone): calls already taken finish; new ones go to its new home. */
  private remove(key: string): void {
    const cur = this.homed.get(key);
    if (!cur) return;
    this.homed.delete(key);
    for (const s of cur.subs) void s.drain().catch(() => undefined);
    this.deps.logger.info({ cluster: key }, "cluster moved away: no longer serving its tunnel");
  }

  /**
   * The node drains: lets go of every cluster (the server stops routing its
   * calls here before this resolves), then waits for the calls already taken,
   * at most RELEASE_SETTLE_MS. Once only; later calls share the first.
   */
  release(): Promise<void> {
    this.released ??= (async () => {
      const started = Date.now();
      for (const key of [...this.held.keys()]) this.unhold(key);
      const all = [...this.homed.values()].flatMap((h) => h.subs);
      const clusters = this.homed.size;
      this.homed.clear();
      await Promise.allSettled(all.map((s) => s.drain()));
      await this.deps.settle(RELEASE_SETTLE_MS);
      this.deps.logger.info({ clusters, tookMs: Date.now() - started }, "node draining: let go of its clusters, calls taken are done");
    })();
    return this.released;
  }

  /** Stops following events and lets go of every cluster (a release asked meanwhile is answered first). */
  async drain(): Promise<void> {
    this.events?.unsubscribe();
    await this.release();
    this.releaseSub?.unsubscribe();
    this.clusterReleaseSub?.unsubscribe();
  }
}
