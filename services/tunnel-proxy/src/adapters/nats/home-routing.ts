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
 */
import { fromBinary } from "@bufbuild/protobuf";
import { peeringv1 } from "@daalu/proto";
import { nodeReleaseSubject, type PeeringClient } from "@daalu/peering";
import { eventSubject, tunnelSubject, type Logger, type NatsConnection } from "@daalu/runtime";
import type { Msg, Subscription } from "@nats-io/transport-node";

export type TunnelHandler = (err: Error | null, msg: Msg) => void;

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

export class HomeRouting {
  private readonly homed = new Map<string, Homed>();
  /** Highest epoch seen per cluster (homed here or not), so a late event never undoes a newer one. */
  private readonly epochs = new Map<string, bigint>();
  private events: Subscription | undefined;
  private releaseSub: Subscription | undefined;
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
    if (homeNode !== this.deps.nodeId || this.released) return this.remove(key);
    const cur = this.homed.get(key);
    if (cur) {
      cur.epoch = epoch;
      return;
    }
    const { nc, prefix, queue, handlers } = this.deps;
    const subs = Object.entries(handlers).map(([method, callback]) => nc.subscribe(tunnelSubject(prefix, tenantId, clusterId, method), { queue, callback }));
    this.homed.set(key, { epoch, subs });
    this.deps.logger.info({ tenantId, clusterId, epoch: String(epoch) }, "cluster homed here: serving its tunnel");
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
  }
}
