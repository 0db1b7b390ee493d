/**
 * Several hub nodes: this node's heartbeat, every cluster's home node, and
 * the claims (docs/architecture.md "Several hub nodes"). Every node holds
 * every peer; the one an edge handshakes with claims the cluster and from then
 * on alone evaluates, probes and writes its health.
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { peeringv1 } from "@daalu/proto";
import type { Logger } from "@daalu/runtime";
import type { ClusterEvents } from "../adapters/nats/events.js";
import type { ClusterHome, HomeStore, HubNodeRow } from "../adapters/pg/home-store.js";
import type { ClusterRecord } from "../adapters/pg/store.js";
import { edgeEndpoints, evaluatorOf, shouldClaim } from "../domain/home.js";

export interface HomesDeps {
  store: HomeStore;
  events: ClusterEvents;
  getCluster: (id: string) => Promise<ClusterRecord>;
  nodeId: string;
  /** This node's WireGuard endpoint as edges dial it (host:port), for the heartbeat row. */
  endpoint: string;
  /** A heartbeat older than this is a dead node (3 sweeps by default). */
  staleAfterMs: number;
  log: Logger;
}

export class Homes {
  private homes = new Map<string, ClusterHome>();
  private live: HubNodeRow[] = [];
  private draining = false;

  constructor(private readonly deps: HomesDeps) {}

  get nodeId(): string {
    return this.deps.nodeId;
  }

  /** Writes the heartbeat and reads which nodes are live. */
  async heartbeat(): Promise<void> {
    const { nodeId, endpoint, staleAfterMs } = this.deps;
    this.live = await this.deps.store.heartbeat({ id: nodeId, endpoint, draining: this.draining }, staleAfterMs);
  }

  /** Marks this node draining (stored with the next heartbeat, written now). */
  async drain(): Promise<void> {
    this.draining = true;
    await this.heartbeat();
  }

  /** Whether this node is draining (its edges are being handed away). */
  get isDraining(): boolean {
    return this.draining;
  }

  /** The live nodes as the last heartbeat read them (this one included). */
  liveNodes(): readonly HubNodeRow[] {
    return this.live;
  }

  /** Every cluster's home as this node knows it. */
  all(): ClusterHome[] {
    return [...this.homes.values()];
  }

  /** Whether another live node that is not draining could take this node's edges. */
  othersLive(): boolean {
    return this.live.some((n) => n.id !== this.deps.nodeId && !n.draining);
  }

  /** Leaves the table (a drained node's last act). */
  forget(): Promise<void> {
    return this.deps.store.forget(this.deps.nodeId);
  }

  /** Reloads every cluster's home (start, reconcile). */
  async refresh(): Promise<void> {
    this.homes = await this.deps.store.homes();
  }

  homeOf(clusterId: string): string | null {
    return this.homes.get(clusterId)?.homeNode ?? null;
  }

  /** Clusters this node carries now (for drain). */
  homedHere(): string[] {
    return [...this.homes.values()].filter((h) => h.homeNode === this.deps.nodeId).map((h) => h.clusterId);
  }

  /** The endpoints edges should know (sent with each probe): the configured list, then live nodes' not in it; draining nodes left out. */
  edgeEndpoints(configured: readonly string[]): string[] {
    return edgeEndpoints(configured, this.live);
  }

  /** Whether this node evaluates, probes and writes the cluster's health now. */
  evaluates(clusterId: string): boolean {
    return evaluatorOf(this.homeOf(clusterId), this.live) === this.deps.nodeId;
  }

  /** A HOME_CHANGED event (another node's claim, or our own echo): newer epochs win. */
  onHomeChanged(ev: peeringv1.ClusterEvent): void {
    const cur = this.homes.get(ev.clusterId);
    const epoch = Number(ev.homeEpoch);
    if (cur && cur.homeEpoch >= epoch) return;
    const since = ev.homeSince ? timestampDate(ev.homeSince) : (cur?.homeSince ?? null);
    this.homes.set(ev.clusterId, { clusterId: ev.clusterId, tenantId: ev.tenantId, homeNode: ev.homeNode || null, homeEpoch: epoch, homeSince: since });
  }

  forgetCluster(clusterId: string): void {
    this.homes.delete(clusterId);
  }

  /**
   * Claims the cluster when this node's device saw a handshake newer than the
   * home's; publishes HOME_CHANGED when it won. Returns whether it did.
   */
  async maybeClaim(clusterId: string, handshakeMs: number): Promise<boolean> {
    const cur = this.homes.get(clusterId);
    const { nodeId } = this.deps;
    if (!shouldClaim({ nodeId, draining: this.draining, handshakeMs, homeNode: cur?.homeNode, homeSinceMs: cur?.homeSince?.getTime() ?? 0 })) return false;
    const won = await this.deps.store.claim(clusterId, nodeId, new Date(handshakeMs));
    if (!won) {
      // Another node holds a newer handshake (or the cluster is gone): learn it so we do not ask again each sweep.
      const fresh = await this.deps.store.home(clusterId);
      if (fresh) this.homes.set(clusterId, fresh);
      else this.homes.delete(clusterId);
      return false;
    }
    this.homes.set(clusterId, won);
    this.deps.log.info({ clusterId, from: won.previousHomeNode, epoch: won.homeEpoch }, "cluster homed on this node");
    const cluster = await this.deps.getCluster(clusterId).catch(() => undefined);
    if (cluster) this.deps.events.publish({ kind: peeringv1.ClusterEventKind.HOME_CHANGED, cluster, home: { node: nodeId, epoch: won.homeEpoch, previous: won.previousHomeNode, since: won.homeSince } });
    return true;
  }
}
