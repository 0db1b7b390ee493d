/**
 * The hub's WireGuard node: owns the hub interface, keeps its peers equal to
 * the enrolled clusters in PostgreSQL (rebuilt on start, followed by cluster
 * events, re-reconciled periodically; device-sync.ts), sweeps handshake/probe
 * state through the health state machine (evaluate.ts) and publishes status
 * changes and alerts (alerts.ts); diagnostics.ts answers GetDiagnostics. With
 * several nodes, each cluster is evaluated by its home node only (homes.ts).
 */
import { fromBinary } from "@bufbuild/protobuf";
import { peeringv1 } from "@daalu/proto";
import { eventSubject, requireTenant, serveNats, type Logger, type NatsConnection, type NatsServer } from "@daalu/runtime";
import { guardRoute, openDevice, unguardRoute, type WgDevice } from "@daalu/wireguard";
import type { Subscription } from "@nats-io/transport-node";
import { ClusterEvents } from "../adapters/nats/events.js";
import { releaseNodeTunnels } from "../adapters/nats/node-release.js";
import type { HealthStore } from "../adapters/pg/health-store.js";
import type { PeeringStore } from "../adapters/pg/store.js";
import type { EdgeReleases } from "../domain/edge-release.js";
import { Alerts } from "./alerts.js";
import type { HubNodeConfig } from "./config.js";
import { DeviceSync } from "./device-sync.js";
import { clusterDiagnostics } from "./diagnostics.js";
import { drainNode } from "./drain.js";
import { evaluateMany, evaluateTracked, type EvaluateDeps } from "./evaluate.js";
import { startGoodbyeServer, type GoodbyeServer } from "./goodbye.js";
import { Homes } from "./homes.js";
import { recordProbe, trackHubNode } from "./metrics.js";
import { EdgeProber } from "./prober.js";
import { Rebalancer } from "./rebalance.js";
import { Repeater } from "./repeater.js";
import type { RbacReports } from "./rbac-reports.js";
import { adoptStored, initFromEvent, initFromRow, newTracked, recordError, type Tracked, type TrackedInit } from "./tracked.js";

/** What the node needs of the peering store. */
export type HubNodeStore = Pick<PeeringStore, "listSubnets" | "updateHealth" | "updateHealthMany" | "hubPrivateKey" | "getCluster" | "homes">;

export interface HubNodeDeps {
  store: HubNodeStore;
  health: HealthStore;
  /** Where edges' effective RBAC reports go; omitted: not kept. */
  rbac?: RbacReports;
  nc: NatsConnection;
  /** DAALU_NATS_PREFIX. */
  prefix: string;
  logger: Logger;
  config: HubNodeConfig;
  /** The edge releases the rows in this node's events are judged against. */
  edgeReleases: EdgeReleases;
  /** Address blocks that only ever live in the tunnel (the subnet pool, the hub pool): routed `unreachable` while the
   *  node runs, so a missing peer route never sends tunnel traffic out through the default route. */
  guardCidrs?: string[];
  /** PEERING_HUB_ENDPOINTS: sent to edges with each probe, with live nodes' endpoints (homes.ts). */
  hubEndpoints?: string[];
}

export class HubNode {
  private dev: WgDevice | undefined;
  private readonly tracked = new Map<string, Tracked>();
  private chain: Promise<unknown> = Promise.resolve();
  private readonly repeat: Repeater;
  private sub: Subscription | undefined;
  private server: NatsServer | undefined;
  private goodbyes: GoodbyeServer | undefined;
  private readonly probes = new Set<Promise<void>>();
  private readonly prober: EdgeProber;
  private readonly events: ClusterEvents;
  private readonly alerts: Alerts;
  private readonly sync: DeviceSync;
  /** Hands clusters to less loaded nodes (PEERING_REBALANCE_PER_SECOND; rebalance.ts). */
  private readonly rebalancer: Rebalancer;
  /** Which node evaluates which cluster (several hub nodes). */
  readonly homes: Homes;
  private readonly evalDeps: EvaluateDeps;
  private readonly log: Logger;
  private stopping = false;
  /** SIGTERM with other nodes live: edges are being handed away (drain()). */
  private draining = false;
  private untrackMetrics: (() => void) | undefined;

  /**
   * Constructed by peering's main when PEERING_WG is on (config from
   * `readHubNodeConfig`); `start()` opens the interface and begins.
   */
  constructor(private readonly deps: HubNodeDeps) {
    this.log = deps.logger.child({ component: "wg-node", iface: deps.config.interface });
    this.repeat = new Repeater(this.log);
    this.prober = new EdgeProber(deps.config.edgeGrpcPort, deps.config.probeTimeoutMs);
    this.events = new ClusterEvents(deps.nc, deps.prefix, this.log, deps.edgeReleases);
    this.alerts = new Alerts(deps.health, deps.nc, deps.prefix, this.log);
    this.sync = new DeviceSync(() => this.device, this.log);
    const { config } = deps;
    const getCluster = (id: string) => deps.store.getCluster(id);
    this.homes = new Homes({ store: deps.store.homes, events: this.events, getCluster, nodeId: config.nodeId, endpoint: config.nodeEndpoint, staleAfterMs: config.nodeStaleAfterMs, log: this.log });
    const untrack = (t: Tracked, why: string) => this.untrack(t, why);
    this.evalDeps = { config, store: deps.store, events: this.events, alerts: this.alerts, log: this.log, untrack, forgetProbe: (ip) => this.prober.forget(ip) };
    this.rebalancer = new Rebalancer({
      ...{ homes: this.homes, nc: deps.nc, prefix: deps.prefix, perSecond: config.rebalancePerSecond, prober: this.prober, sync: this.sync, log: this.log, locked: (fn) => this.locked(fn) },
      tracked: () => this.tracked.values(),
      edgeEndpoints: () => this.homes.edgeEndpoints(deps.hubEndpoints ?? []),
      keepsPeer: (t) => !this.draining && !this.stopping && this.tracked.get(t.clusterId)?.publicKey === t.publicKey,
    });
  }

  /** The open device (for tests and the benchmark). */
  get device(): WgDevice {
    if (!this.dev) throw new Error("hub node not started");
    return this.dev;
  }

  /** Opens the interface, rebuilds every peer from PostgreSQL, then follows events and sweeps. */
  async start(): Promise<void> {
    const { config } = this.deps;
    this.dev = await openDevice(config.interface, { backend: config.backend, logger: this.log });
    for (const cidr of this.deps.guardCidrs ?? []) await guardRoute(cidr, config.interface);
    // Subscribe before the rebuild so no event between the two is lost.
    this.sub = this.deps.nc.subscribe(eventSubject(this.deps.prefix, "*", "cluster.>"), {
      callback: (err, msg) => {
        if (err) return this.log.warn({ err }, "cluster event subscription error");
        let ev: peeringv1.ClusterEvent;
        try {
          ev = fromBinary(peeringv1.ClusterEventSchema, msg.data);
        } catch (e) {
          return this.log.warn({ err: e, subject: msg.subject }, "undecodable cluster event");
        }
        void this.locked(() => this.onEvent(ev)).catch((e) => this.log.error({ err: e, clusterId: ev.clusterId }, "cluster event not applied"));
      },
    });
    await this.locked(async () => {
      const [rows, present] = await Promise.all([this.deps.health.listTracked(), this.device.peers()]);
      // A device taken over from a crashed node (its wireguard-go survived, or a
      // kernel interface) keeps its peers and their sessions: only what is
      // missing is added here and reconcile() drops the rest, so the edges
      // never notice the restart. Re-setting the same private key and port
      // keeps sessions too. A fresh device gets every peer in one request.
      const have = new Set(present.map((p) => p.publicKey));
      await this.device.configure({
        privateKey: await this.deps.store.hubPrivateKey(),
        listenPort: config.listenPort,
        peers: rows.filter((r) => !have.has(r.publicKey)).map((r) => ({ publicKey: r.publicKey, allowedIps: [`${r.tunnelIp}/32`] })),
      });
      await this.reconcile();
    });
    this.server = await serveNats(
      this.deps.nc,
      peeringv1.HubNodeService,
      {
        getDiagnostics: async (req, ctx) => ({ diagnostics: await this.diagnostics(req.clusterId, requireTenant(ctx)) }),
      },
      { prefix: this.deps.prefix, queue: "peering-hub", logger: this.log },
    );
    if (config.goodbyePort > 0) {
      this.goodbyes = await startGoodbyeServer({ host: "0.0.0.0", port: config.goodbyePort, logger: this.log, onGoodbye: (ip) => this.goodbye(ip) });
    }
    this.untrackMetrics = trackHubNode(config.interface, () => this.tracked.values());
    await this.homes.heartbeat();
    // The heartbeat runs beside the sweep, never behind it: a long sweep must not make this node look dead.
    this.repeat.every(config.healthIntervalMs, () => this.homes.heartbeat());
    this.repeat.every(config.healthIntervalMs, () => this.sweep());
    this.repeat.every(config.resyncMs, () => this.locked(() => this.reconcile()));
    if (config.rebalancePerSecond > 0) this.repeat.every(1_000, () => this.rebalancer.tick());
    this.log.info({ peers: this.tracked.size, backend: this.device.backend, listenPort: config.listenPort, nodeId: config.nodeId }, "hub WireGuard node started");
  }

  /** SIGTERM: hands this node's edges to other live nodes first (drain.ts), then stops. */
  async drainAndStop(timeoutMs: number): Promise<void> {
    if (this.dev && !this.stopping) {
      const emptyDevice = () =>
        this.locked(async () => {
          this.draining = true;
          await this.homes.drain();
          await this.device.configure({ privateKey: await this.deps.store.hubPrivateKey(), peers: [], replacePeers: true });
        });
      const releaseTunnels = () => releaseNodeTunnels(this.deps.nc, this.deps.prefix, this.deps.config.nodeId, this.log);
      await drainNode({ homes: this.homes, log: this.log, timeoutMs, releaseTunnels, emptyDevice });
    }
    await this.stop();
  }

  /** Stops sweeping, lets in-flight probes finish, deletes the interface. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.rebalancer.stop();
    this.untrackMetrics?.();
    this.repeat.stop();
    this.sub?.unsubscribe();
    await this.server?.drain();
    await this.goodbyes?.close(1_000);
    await this.chain.catch(() => undefined);
    await Promise.allSettled([...this.probes]);
    this.prober.close();
    await this.dev?.close();
    for (const cidr of this.deps.guardCidrs ?? []) await unguardRoute(cidr).catch(() => undefined);
  }

  /** One thing at a time: events, reconciles and sweeps never interleave. */
  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private track(t: TrackedInit): Tracked {
    const full = newTracked(t, this.deps.config.probeIntervalMs);
    this.tracked.set(t.clusterId, full);
    return full;
  }

  private async untrack(t: Tracked, why: string): Promise<void> {
    this.tracked.delete(t.clusterId);
    this.prober.forget(t.tunnelIp);
    if (t.alert) await this.alerts.resolve(t, Date.now(), why);
  }

  /** Makes the device and the tracked set equal to PostgreSQL (not while draining: the device stays empty). */
  private async reconcile(): Promise<void> {
    if (this.draining) return;
    const [rows, subnets, alerts, current] = await Promise.all([
      this.deps.health.listTracked(),
      this.deps.store.listSubnets(),
      this.deps.health.openAlerts(),
      this.device.peers(),
      this.homes.refresh(),
    ]);
    await this.sync.syncPeers(rows, current, this.tracked.size === 0);
    await this.sync.syncTenants(subnets);
    const ids = new Set<string>();
    for (const r of rows) {
      ids.add(r.clusterId);
      const t = this.tracked.get(r.clusterId);
      if (t && t.publicKey === r.publicKey) {
        t.name = r.name;
        t.tunnelIp = r.tunnelIp;
        continue;
      }
      this.track(initFromRow(r, alerts.get(r.clusterId), !(t && t.publicKey !== r.publicKey)));
    }
    for (const t of [...this.tracked.values()]) if (!ids.has(t.clusterId)) await this.untrack(t, "cluster removed");
  }

  private async onEvent(ev: peeringv1.ClusterEvent): Promise<void> {
    if (this.stopping || (this.draining && ev.kind !== peeringv1.ClusterEventKind.HOME_CHANGED)) return;
    const c = ev.cluster;
    switch (ev.kind) {
      case peeringv1.ClusterEventKind.ENROLLED:
      case peeringv1.ClusterEventKind.KEY_REPLACED: {
        if (!c || !c.publicKey || !c.tunnelIp) return this.log.warn({ clusterId: ev.clusterId }, "enrollment event without key or address");
        await this.device.setPeer({ publicKey: c.publicKey, allowedIps: [`${c.tunnelIp}/32`] });
        if (ev.previousPublicKey && ev.previousPublicKey !== c.publicKey) await this.device.removePeer(ev.previousPublicKey);
        if (ev.subnet && ev.hubIp) await this.sync.ensureAddress(ev.tenantId, ev.hubIp, ev.subnet);
        const old = this.tracked.get(ev.clusterId);
        if (old) this.prober.forget(old.tunnelIp);
        // A new key is a new edge, but an open outage alert stays open until a handshake.
        this.track(initFromEvent(ev.clusterId, ev.tenantId, c, old?.alert, Date.now()));
        this.log.info({ clusterId: ev.clusterId, kind: peeringv1.ClusterEventKind[ev.kind] }, "peer installed");
        return;
      }
      case peeringv1.ClusterEventKind.DELETED: {
        const key = ev.previousPublicKey || c?.publicKey;
        if (key) await this.device.removePeer(key);
        const t = this.tracked.get(ev.clusterId);
        if (t) await this.untrack(t, "cluster deleted");
        this.homes.forgetCluster(ev.clusterId);
        this.log.info({ clusterId: ev.clusterId }, "peer removed");
        return;
      }
      case peeringv1.ClusterEventKind.HOME_CHANGED:
        this.homes.onHomeChanged(ev);
        return this.rebalancer.onHomeChanged(ev.clusterId, ev.homeNode);
      default:
        return; // STATUS_CHANGED: our own (or another node's) output; CREATED: no key to install yet.
    }
  }

  /** Reads the device once and evaluates every tracked cluster. */
  async sweep(): Promise<void> {
    await this.locked(async () => {
      // Draining: the device is empty on purpose and the edges' clusters are other nodes' to judge now.
      if (this.stopping || this.draining) return;
      const status = await this.device.peers();
      const byKey = new Map(status.map((p) => [p.publicKey, p]));
      const now = Date.now();
      const judged: Tracked[] = [];
      for (const t of [...this.tracked.values()]) {
        const p = byKey.get(t.publicKey);
        if (!p) {
          if (this.sync.isWithheld(t.publicKey)) continue; // being handed to another node (rebalance.ts)
          recordError(t, now, "peer missing on the hub device; re-added");
          await this.device.setPeer({ publicKey: t.publicKey, allowedIps: [`${t.tunnelIp}/32`] });
          continue;
        }
        t.peer = p;
        t.lastHandshakeMs = Math.max(t.lastHandshakeMs, p.lastHandshakeMs);
        // A handshake after a goodbye is a new edge (the restarted pod): the goodbye is over.
        if (t.goodbyeAtMs !== undefined && t.lastHandshakeMs > t.goodbyeAtMs) t.goodbyeAtMs = undefined;
        // Growth since the previous sample is traffic from the edge; a smaller counter (peer re-created, device restarted) only sets a new baseline.
        if (t.rxBytes >= 0 && p.rxBytes > t.rxBytes) t.lastRxMs = now;
        // First look at a peer that already carries traffic (a device taken over from a crashed node): when is unknown,
        // so it gets one threshold of grace rather than a false "disconnected". A fresh device starts at 0.
        else if (t.rxBytes < 0 && p.rxBytes > 0 && p.lastHandshakeMs > 0) t.lastRxMs = now;
        t.rxBytes = p.rxBytes;
        // The edge handshook with this node after the home's handshake: it moved here.
        await this.homes.maybeClaim(t.clusterId, p.lastHandshakeMs);
        if (this.homes.evaluates(t.clusterId)) judged.push(t);
        else t.adopted = false;
      }
      await this.adopt(judged.filter((t) => !t.adopted));
      // What changed is written in a few transactions, not one per cluster (a fresh node's first sweep changes them all).
      const mine = judged.filter((t) => this.tracked.get(t.clusterId) === t && this.homes.evaluates(t.clusterId));
      await evaluateMany(this.evalDeps, mine, now);
      for (const t of mine) if (this.tracked.get(t.clusterId) === t) this.maybeProbe(t, now);
    });
  }

  /** Clusters that just became this node's to evaluate: start from what the previous evaluator wrote (one query). */
  private async adopt(list: Tracked[]): Promise<void> {
    if (list.length === 0) return;
    const ids = list.map((t) => t.clusterId);
    const [rows, alerts] = await Promise.all([this.deps.health.listTracked(ids), this.deps.health.openAlerts(ids)]);
    const byId = new Map(rows.map((r) => [r.clusterId, r]));
    for (const t of list) {
      const r = byId.get(t.clusterId);
      if (r && r.publicKey === t.publicKey) adoptStored(t, r, alerts.get(t.clusterId));
      else await this.untrack(t, "cluster removed");
    }
    this.log.info({ clusters: ids.length }, "now evaluating clusters another node evaluated");
  }

  private maybeProbe(t: Tracked, now: number): void {
    const { config } = this.deps;
    if (t.probing || this.probes.size >= config.maxConcurrentProbes || this.stopping) return;
    const recent = t.lastHandshakeMs > 0 && now - Math.max(t.lastHandshakeMs, t.lastRxMs) <= config.disconnectAfterMs;
    if (!recent) return;
    // No session on this device (a fresh one after a restart, before the edge handshakes again): the hub cannot send
    // to the edge, and a failed probe would wrongly read as "API unreachable".
    if (!t.peer || t.peer.lastHandshakeMs === 0) return;
    // Right after a (re)appearing handshake, probe at once instead of waiting for the slot.
    const waiting = (t.state === "awaiting_handshake" || t.state === "disconnected") && (!t.probe || t.probe.at < t.since);
    if (!waiting && now < t.nextProbeAt) return;
    t.probing = true;
    const key = t.publicKey;
    const run = this.prober.probe(t.tunnelIp, this.homes.edgeEndpoints(this.deps.hubEndpoints ?? [])).then((report) =>
      this.locked(async () => {
        t.probing = false;
        recordProbe(report.ok, report.latencyMs);
        t.nextProbeAt = report.at + config.probeIntervalMs;
        if (this.tracked.get(t.clusterId) !== t || t.publicKey !== key) return;
        t.probe = report;
        if (report.rbac) await this.deps.rbac?.record(t.clusterId, report.rbac);
        if (!report.ok) recordError(t, report.at, report.error);
        if (!this.stopping) await this.evaluate(t, Date.now());
      }),
    );
    const tracked = run.catch((err) => this.log.error({ err, clusterId: t.clusterId }, "probe handling failed")).finally(() => this.probes.delete(tracked));
    this.probes.add(tracked);
  }

  /** An edge said goodbye from `tunnelIp`: red at once (health.ts); the cluster id, or undefined when no tracked cluster has it. */
  private goodbye(tunnelIp: string): Promise<string | undefined> {
    return this.locked(async () => {
      const t = [...this.tracked.values()].find((x) => x.tunnelIp === tunnelIp);
      if (!t || this.stopping) return undefined;
      // The goodbye came through this node's device, so the edge is here: its handshake may win the home first.
      if (t.peer) await this.homes.maybeClaim(t.clusterId, t.peer.lastHandshakeMs);
      if (!this.homes.evaluates(t.clusterId)) {
        this.log.info({ clusterId: t.clusterId, home: this.homes.homeOf(t.clusterId) }, "goodbye for a cluster another node evaluates; left to it");
        return t.clusterId;
      }
      if (!t.adopted) await this.adopt([t]);
      const now = Date.now();
      t.goodbyeAtMs = now;
      recordError(t, now, "the edge said goodbye (SIGTERM)");
      this.log.info({ clusterId: t.clusterId, tunnelIp }, "edge said goodbye");
      await this.evaluate(t, now);
      return t.clusterId;
    });
  }

  /** Runs the state machine for one cluster and persists/publishes what changed (evaluate.ts); never for a cluster another node evaluates. */
  private evaluate(t: Tracked, now: number): Promise<void> {
    if (!this.homes.evaluates(t.clusterId)) return Promise.resolve();
    return evaluateTracked(this.evalDeps, t, now);
  }

  /** The diagnostic blob of a cluster of `tenantId` (NotFound for another tenant's). */
  diagnostics(clusterId: string, tenantId: string): Promise<peeringv1.ClusterDiagnostics> {
    return clusterDiagnostics({
      now: Date.now(),
      clusterId,
      tenantId,
      tracked: this.tracked.get(clusterId),
      routeConflict: this.sync.conflictOf(tenantId),
      getCluster: (id, tenant) => this.deps.store.getCluster(id, tenant),
      config: this.deps.config,
      releases: this.deps.edgeReleases,
    });
  }
}
