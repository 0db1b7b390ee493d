/**
 * The hub's WireGuard node: owns the hub interface, keeps its peers equal to
 * the enrolled clusters in PostgreSQL (rebuilt on start, followed by cluster
 * events, re-reconciled periodically), sweeps handshake/probe state through
 * the health state machine and publishes status changes and alerts.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { peeringv1 } from "@daalu/proto";
import { DaaluError, eventSubject, requireTenant, serveNats, type Logger, type NatsConnection, type NatsServer } from "@daalu/runtime";
import { guardRoute, openDevice, unguardRoute, type PeerStatus, type WgDevice } from "@daalu/wireguard";
import type { Subscription } from "@nats-io/transport-node";
import { ClusterEvents } from "../adapters/nats/events.js";
import type { AlertRecord, HealthStore } from "../adapters/pg/health-store.js";
import type { HealthPatch, PeeringStore } from "../adapters/pg/store.js";
import { evaluateHealth, type HealthState } from "../domain/health.js";
import { ClusterNotFoundError } from "../errors.js";
import type { HubNodeConfig } from "./config.js";
import { buildDiagnostics } from "./diagnostics.js";
import { EdgeProber, type ProbeReport } from "./prober.js";

/** What the node needs of the peering store. */
export type HubNodeStore = Pick<PeeringStore, "listSubnets" | "updateHealth" | "hubPrivateKey" | "getCluster">;

export interface HubNodeDeps {
  store: HubNodeStore;
  health: HealthStore;
  nc: NatsConnection;
  /** DAALU_NATS_PREFIX. */
  prefix: string;
  logger: Logger;
  config: HubNodeConfig;
  /**
   * Address blocks that only ever live in the tunnel (the subnet pool, the hub
   * pool): routed `unreachable` while the node runs, so a missing peer route
   * never sends tunnel traffic out through the default route.
   */
  guardCidrs?: string[];
}

/** Errors kept per cluster for the diagnostic blob. */
const MAX_ERRORS = 10;

interface Tracked {
  clusterId: string;
  tenantId: string;
  name: string;
  publicKey: string;
  tunnelIp: string;
  enrolledAt: number;
  state: HealthState;
  since: number;
  diagnostic: string;
  /** Newest handshake seen: max(device, stored), so a fresh device after a restart does not look like an outage. */
  lastHandshakeMs: number;
  storedHandshakeMs: number;
  /** The peer's rx counter at the previous sweep (-1: no sample on this device yet). */
  rxBytes: number;
  /** When the rx counter last grew (keepalives, data): the sign of life between the ~2-minute rekeys. */
  lastRxMs: number;
  apiReachable: boolean;
  edgeVersion: string;
  probe: ProbeReport | undefined;
  probing: boolean;
  nextProbeAt: number;
  alert: AlertRecord | undefined;
  errors: Array<{ at: number; message: string }>;
  peer: PeerStatus | undefined;
}

export class HubNode {
  private dev: WgDevice | undefined;
  private readonly tracked = new Map<string, Tracked>();
  /** tenant → hub address and subnet applied on the interface; `routed` false while the route conflicts with the host's. */
  private readonly addresses = new Map<string, { hubIp: string; subnet: string; routed: boolean }>();
  /** tenant → why its subnet route is not installed (a host route it would shadow), for the diagnostics. */
  private readonly routeConflicts = new Map<string, { at: number; message: string }>();
  private chain: Promise<unknown> = Promise.resolve();
  private readonly timers: NodeJS.Timeout[] = [];
  private sub: Subscription | undefined;
  private server: NatsServer | undefined;
  private readonly probes = new Set<Promise<void>>();
  private readonly prober: EdgeProber;
  private readonly events: ClusterEvents;
  private readonly log: Logger;
  private stopping = false;

  /**
   * Constructed by peering's main when PEERING_WG is on (config from
   * `readHubNodeConfig`); `start()` opens the interface and begins.
   */
  constructor(private readonly deps: HubNodeDeps) {
    this.log = deps.logger.child({ component: "wg-node", iface: deps.config.interface });
    this.prober = new EdgeProber(deps.config.edgeGrpcPort, deps.config.probeTimeoutMs);
    this.events = new ClusterEvents(deps.nc, deps.prefix, this.log);
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
    this.every(config.healthIntervalMs, () => this.sweep());
    this.every(config.resyncMs, () => this.locked(() => this.reconcile()));
    this.log.info({ peers: this.tracked.size, backend: this.device.backend, listenPort: config.listenPort }, "hub WireGuard node started");
  }

  /** Stops sweeping, lets in-flight probes finish, deletes the interface. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearTimeout(t);
    this.sub?.unsubscribe();
    await this.server?.drain();
    await this.chain.catch(() => undefined);
    await Promise.allSettled([...this.probes]);
    this.prober.close();
    await this.dev?.close();
    for (const cidr of this.deps.guardCidrs ?? []) await unguardRoute(cidr).catch(() => undefined);
  }

  private every(ms: number, fn: () => Promise<void>): void {
    const tick = () => {
      if (this.stopping) return;
      void fn()
        .catch((err) => this.log.error({ err }, "hub node task failed"))
        .finally(() => {
          if (!this.stopping) this.timers.push(setTimeout(tick, ms));
        });
    };
    this.timers.push(setTimeout(tick, ms));
  }

  /** One thing at a time: events, reconciles and sweeps never interleave. */
  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private track(t: Omit<Tracked, "probe" | "probing" | "nextProbeAt" | "errors" | "peer" | "rxBytes" | "lastRxMs">): Tracked {
    const full: Tracked = {
      ...t,
      rxBytes: -1,
      lastRxMs: 0,
      probe: undefined,
      probing: false,
      // Spread the first probes over one interval instead of probing every edge at once.
      nextProbeAt: Date.now() + Math.random() * this.deps.config.probeIntervalMs,
      errors: [],
      peer: undefined,
    };
    this.tracked.set(t.clusterId, full);
    return full;
  }

  private async untrack(t: Tracked, why: string): Promise<void> {
    this.tracked.delete(t.clusterId);
    this.prober.forget(t.tunnelIp);
    if (t.alert) await this.resolveAlert(t, Date.now(), why);
  }

  /**
   * The tenant's hub address as a /32 plus a route for its subnet sourced from
   * it: hub addresses may sit outside the subnet (PEERING_HUB_POOL), and the
   * edge only accepts packets from the hub's /32. A widened subnet swaps the
   * route. The route is added, never replaced: one that would shadow a route
   * of the hub host is left out, logged and shown in the tenant's clusters'
   * diagnostics, and tried again at the next reconcile.
   */
  private async ensureAddress(tenantId: string, hubIp: string, subnet: string): Promise<void> {
    const cur = this.addresses.get(tenantId);
    if (cur && cur.hubIp === hubIp && cur.subnet === subnet && cur.routed) return;
    if (cur?.routed && cur.subnet !== subnet) await this.device.removeRoute(cur.subnet);
    if (cur && cur.hubIp !== hubIp) await this.device.removeAddress(`${cur.hubIp}/32`);
    await this.device.addAddress(`${hubIp}/32`);
    let routed = cur?.routed === true && cur.subnet === subnet;
    if (!routed) {
      try {
        await this.device.addRoute(subnet, { src: hubIp });
        routed = true;
        if (this.routeConflicts.delete(tenantId)) this.log.info({ tenantId, subnet }, "tenant subnet routed into the tunnel after an earlier conflict");
      } catch (err) {
        if (!(err instanceof DaaluError) || err.reason !== "WG_ROUTE_CONFLICT") throw err;
        if (this.routeConflicts.get(tenantId)?.message !== err.message) this.log.error({ tenantId, subnet, reason: err.reason, conflict: err.message }, "tenant subnet route conflicts with a route of the hub host; not installed");
        this.routeConflicts.set(tenantId, { at: Date.now(), message: err.message });
      }
    }
    this.addresses.set(tenantId, { hubIp, subnet, routed });
  }

  /** Makes the device and the tracked set equal to PostgreSQL. */
  private async reconcile(): Promise<void> {
    const [rows, subnets, alerts, current] = await Promise.all([
      this.deps.health.listTracked(),
      this.deps.store.listSubnets(),
      this.deps.health.openAlerts(),
      this.device.peers(),
    ]);
    const want = new Map(rows.map((r) => [r.publicKey, r]));
    const have = new Map(current.map((p) => [p.publicKey, p]));
    for (const p of current) {
      if (!want.has(p.publicKey)) {
        await this.device.removePeer(p.publicKey);
        this.log.info({ peer: p.publicKey.slice(0, 8) }, "removed peer not in the database");
      }
    }
    for (const r of rows) {
      const allowed = `${r.tunnelIp}/32`;
      const cur = have.get(r.publicKey);
      if (!cur || cur.allowedIps.length !== 1 || cur.allowedIps[0] !== allowed) {
        await this.device.setPeer({ publicKey: r.publicKey, allowedIps: [allowed] });
        if (this.tracked.size > 0) this.log.info({ clusterId: r.clusterId }, "added missing peer");
      }
    }
    const tenants = new Set<string>();
    for (const s of subnets) {
      tenants.add(s.tenantId);
      await this.ensureAddress(s.tenantId, s.hubIp, s.cidr);
    }
    for (const [tenant, a] of [...this.addresses]) {
      if (!tenants.has(tenant)) {
        if (a.routed) await this.device.removeRoute(a.subnet);
        await this.device.removeAddress(`${a.hubIp}/32`);
        this.addresses.delete(tenant);
        this.routeConflicts.delete(tenant);
      }
    }
    const ids = new Set<string>();
    for (const r of rows) {
      ids.add(r.clusterId);
      const t = this.tracked.get(r.clusterId);
      if (t && t.publicKey === r.publicKey) {
        t.name = r.name;
        t.tunnelIp = r.tunnelIp;
        continue;
      }
      const stored = r.lastHandshake?.getTime() ?? 0;
      this.track({
        clusterId: r.clusterId,
        tenantId: r.tenantId,
        name: r.name,
        publicKey: r.publicKey,
        tunnelIp: r.tunnelIp,
        enrolledAt: r.enrolledAt.getTime(),
        state: r.status,
        since: r.statusSince.getTime(),
        diagnostic: r.diagnostic,
        lastHandshakeMs: t && t.publicKey !== r.publicKey ? 0 : stored,
        storedHandshakeMs: stored,
        apiReachable: r.apiReachable,
        edgeVersion: r.edgeVersion,
        alert: alerts.get(r.clusterId),
      });
    }
    for (const t of [...this.tracked.values()]) if (!ids.has(t.clusterId)) await this.untrack(t, "cluster removed");
  }

  private async onEvent(ev: peeringv1.ClusterEvent): Promise<void> {
    if (this.stopping) return;
    const c = ev.cluster;
    switch (ev.kind) {
      case peeringv1.ClusterEventKind.ENROLLED:
      case peeringv1.ClusterEventKind.KEY_REPLACED: {
        if (!c || !c.publicKey || !c.tunnelIp) return this.log.warn({ clusterId: ev.clusterId }, "enrollment event without key or address");
        await this.device.setPeer({ publicKey: c.publicKey, allowedIps: [`${c.tunnelIp}/32`] });
        if (ev.previousPublicKey && ev.previousPublicKey !== c.publicKey) await this.device.removePeer(ev.previousPublicKey);
        if (ev.subnet && ev.hubIp) await this.ensureAddress(ev.tenantId, ev.hubIp, ev.subnet);
        const old = this.tracked.get(ev.clusterId);
        if (old) this.prober.forget(old.tunnelIp);
        const now = Date.now();
        this.track({
          clusterId: ev.clusterId,
          tenantId: ev.tenantId,
          name: c.name,
          publicKey: c.publicKey,
          tunnelIp: c.tunnelIp,
          enrolledAt: c.enrolledAt ? timestampDate(c.enrolledAt).getTime() : now,
          state: "awaiting_handshake",
          since: c.statusSince ? timestampDate(c.statusSince).getTime() : now,
          diagnostic: c.diagnostic,
          lastHandshakeMs: 0,
          storedHandshakeMs: 0,
          apiReachable: false,
          edgeVersion: c.edgeVersion,
          // A new key is a new edge, but an open outage alert stays open until a handshake.
          alert: old?.alert,
        });
        this.log.info({ clusterId: ev.clusterId, kind: peeringv1.ClusterEventKind[ev.kind] }, "peer installed");
        return;
      }
      case peeringv1.ClusterEventKind.DELETED: {
        const key = ev.previousPublicKey || c?.publicKey;
        if (key) await this.device.removePeer(key);
        const t = this.tracked.get(ev.clusterId);
        if (t) await this.untrack(t, "cluster deleted");
        this.log.info({ clusterId: ev.clusterId }, "peer removed");
        return;
      }
      default:
        return; // STATUS_CHANGED: our own (or another node's) output.
    }
  }

  /** Reads the device once and evaluates every tracked cluster. */
  async sweep(): Promise<void> {
    await this.locked(async () => {
      if (this.stopping) return;
      const status = await this.device.peers();
      const byKey = new Map(status.map((p) => [p.publicKey, p]));
      const now = Date.now();
      for (const t of [...this.tracked.values()]) {
        const p = byKey.get(t.publicKey);
        if (!p) {
          this.recordError(t, now, "peer missing on the hub device; re-added");
          await this.device.setPeer({ publicKey: t.publicKey, allowedIps: [`${t.tunnelIp}/32`] });
          continue;
        }
        t.peer = p;
        t.lastHandshakeMs = Math.max(t.lastHandshakeMs, p.lastHandshakeMs);
        // Growth since the previous sample is traffic from the edge; a smaller
        // counter (peer re-created, device restarted) only sets a new baseline.
        if (t.rxBytes >= 0 && p.rxBytes > t.rxBytes) t.lastRxMs = now;
        // First look at a peer that already carries traffic (a device taken over
        // from a crashed node): when is unknown, so it gets one threshold of grace
        // rather than a false "disconnected". A fresh device starts at 0.
        else if (t.rxBytes < 0 && p.rxBytes > 0 && p.lastHandshakeMs > 0) t.lastRxMs = now;
        t.rxBytes = p.rxBytes;
        await this.evaluate(t, now);
        this.maybeProbe(t, now);
      }
    });
  }

  private recordError(t: Tracked, at: number, message: string): void {
    t.errors.push({ at, message });
    if (t.errors.length > MAX_ERRORS) t.errors.shift();
  }

  private maybeProbe(t: Tracked, now: number): void {
    const { config } = this.deps;
    if (t.probing || this.probes.size >= config.maxConcurrentProbes || this.stopping) return;
    const recent = t.lastHandshakeMs > 0 && now - Math.max(t.lastHandshakeMs, t.lastRxMs) <= config.disconnectAfterMs;
    if (!recent) return;
    // No session on this device (a fresh one after a restart, before the edge
    // handshakes again): the hub cannot send to the edge, and a failed probe
    // would wrongly read as "API unreachable".
    if (!t.peer || t.peer.lastHandshakeMs === 0) return;
    // Right after a (re)appearing handshake, probe at once instead of waiting for the slot.
    const waiting = (t.state === "awaiting_handshake" || t.state === "disconnected") && (!t.probe || t.probe.at < t.since);
    if (!waiting && now < t.nextProbeAt) return;
    t.probing = true;
    const key = t.publicKey;
    const run = this.prober.probe(t.tunnelIp).then((report) =>
      this.locked(async () => {
        t.probing = false;
        t.nextProbeAt = report.at + config.probeIntervalMs;
        if (this.tracked.get(t.clusterId) !== t || t.publicKey !== key) return;
        t.probe = report;
        if (!report.ok) this.recordError(t, report.at, report.error);
        if (!this.stopping) await this.evaluate(t, Date.now());
      }),
    );
    const tracked = run.catch((err) => this.log.error({ err, clusterId: t.clusterId }, "probe handling failed")).finally(() => this.probes.delete(tracked));
    this.probes.add(tracked);
  }

  /** Runs the state machine for one cluster and persists/publishes what changed. */
  private async evaluate(t: Tracked, now: number): Promise<void> {
    const { config } = this.deps;
    const out = evaluateHealth(
      {
        now,
        enrolledAt: t.enrolledAt,
        lastHandshakeMs: t.lastHandshakeMs,
        lastRxMs: t.lastRxMs,
        probe: t.probe ? { ok: t.probe.ok, error: t.probe.error, at: t.probe.at } : undefined,
        previous: { state: t.state, since: t.since },
        alert: t.alert ? { raisedAt: t.alert.raisedAt.getTime() } : undefined,
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
      const res = await this.deps.store.updateHealth(t.clusterId, patch);
      if (!res) return this.untrack(t, "cluster removed");
      t.state = out.state;
      t.since = out.since;
      t.diagnostic = out.diagnostic;
      t.storedHandshakeMs = Math.max(t.storedHandshakeMs, t.lastHandshakeMs);
      if (patch.apiReachable !== undefined) t.apiReachable = patch.apiReachable;
      if (patch.edgeVersion !== undefined) t.edgeVersion = patch.edgeVersion;
      if (out.transition) {
        this.log.info({ clusterId: t.clusterId, from: out.transition.from, to: out.transition.to, diagnostic: out.diagnostic }, "cluster status changed");
        this.events.publish({ kind: peeringv1.ClusterEventKind.STATUS_CHANGED, cluster: res.cluster });
        if (out.state === "disconnected") this.prober.forget(t.tunnelIp);
      }
    }
    if (out.alert?.action === "raise") {
      const rec = await this.deps.health.raiseAlert({ tenantId: t.tenantId, clusterId: t.clusterId, summary: out.alert.summary, diagnostic: out.diagnostic, raisedAt: new Date(out.alert.raisedAt) });
      if (rec) {
        t.alert = rec;
        this.publishAlert("alert.critical", t, rec);
        this.log.error({ clusterId: t.clusterId, alertId: rec.id, summary: rec.summary }, "critical alert raised");
      } else {
        t.alert = (await this.deps.health.openAlerts()).get(t.clusterId);
      }
    } else if (out.alert?.action === "resolve") {
      await this.resolveAlert(t, now, out.alert.summary);
    }
  }

  private async resolveAlert(t: Tracked, now: number, why: string): Promise<void> {
    const rec = await this.deps.health.resolveAlert(t.clusterId, new Date(now), why);
    t.alert = undefined;
    if (rec) {
      this.publishAlert("alert.resolved", t, rec);
      this.log.info({ clusterId: t.clusterId, alertId: rec.id, why }, "critical alert resolved");
    }
  }

  private publishAlert(kind: "alert.critical" | "alert.resolved", t: Tracked, a: AlertRecord): void {
    const msg = create(peeringv1.AlertSchema, {
      id: a.id,
      tenantId: a.tenantId,
      clusterId: a.clusterId,
      clusterName: t.name,
      severity: peeringv1.AlertSeverity.CRITICAL,
      summary: a.summary,
      diagnostic: kind === "alert.critical" ? a.diagnostic : t.diagnostic,
      raisedAt: timestampFromMs(a.raisedAt.getTime()),
      ...(a.resolvedAt ? { resolvedAt: timestampFromMs(a.resolvedAt.getTime()) } : {}),
    });
    const subject = eventSubject(this.deps.prefix, a.tenantId, kind);
    try {
      this.deps.nc.publish(subject, toBinary(peeringv1.AlertSchema, msg));
    } catch (err) {
      this.log.warn({ err, subject }, "alert not published");
    }
  }

  /** The diagnostic blob of a cluster of `tenantId` (NotFound for another tenant's). */
  async diagnostics(clusterId: string, tenantId: string): Promise<peeringv1.ClusterDiagnostics> {
    const { config } = this.deps;
    const now = Date.now();
    const conflict = this.routeConflicts.get(tenantId);
    const tenantErrors = conflict ? [conflict] : [];
    const t = this.tracked.get(clusterId);
    if (t && t.tenantId === tenantId) {
      return buildDiagnostics({
        now,
        clusterId,
        tenantId,
        name: t.name,
        state: t.state,
        since: t.since,
        diagnostic: t.diagnostic,
        publicKey: t.publicKey,
        tunnelIp: t.tunnelIp,
        peer: t.peer,
        lastHandshakeMs: t.lastHandshakeMs,
        probe: t.probe,
        errors: [...tenantErrors, ...t.errors],
        alert: t.alert ? { id: t.alert.id, summary: t.alert.summary, diagnostic: t.alert.diagnostic, raisedAt: t.alert.raisedAt.getTime() } : undefined,
        nodeName: config.nodeName,
        iface: config.interface,
        disconnectAfterMs: config.disconnectAfterMs,
        alertAfterMs: config.alertAfterMs,
      });
    }
    // Not a peer of this node (pending enrollment): what the row says. Throws NotFound across tenants.
    const c = await this.deps.store.getCluster(clusterId, tenantId);
    if (!c) throw new ClusterNotFoundError(clusterId);
    return buildDiagnostics({
      now,
      clusterId,
      tenantId,
      name: c.name,
      state: c.status,
      since: c.statusSince.getTime(),
      diagnostic: c.diagnostic,
      publicKey: c.publicKey ?? undefined,
      tunnelIp: c.tunnelIp ?? undefined,
      peer: undefined,
      lastHandshakeMs: c.lastHandshake?.getTime() ?? 0,
      probe: undefined,
      errors: tenantErrors,
      alert: undefined,
      nodeName: config.nodeName,
      iface: config.interface,
      disconnectAfterMs: config.disconnectAfterMs,
      alertAfterMs: config.alertAfterMs,
    });
  }
}
