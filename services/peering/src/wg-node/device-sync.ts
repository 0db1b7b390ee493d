/**
 * Device reconciliation: the hub interface's peers, hub addresses and tenant
 * routes made equal to what PostgreSQL says. Routes are added, never replace a
 * route of the hub host (see @daalu/wireguard routes.ts); a conflict is kept
 * per tenant for the diagnostics and retried at the next reconcile.
 */
import { DaaluError, type Logger } from "@daalu/runtime";
import type { PeerConfig, PeerStatus, WgDevice } from "@daalu/wireguard";
import type { TrackedClusterRow } from "../adapters/pg/health-store.js";
import type { SubnetRef } from "../adapters/pg/store.js";

export class DeviceSync {
  /** tenant → hub address and subnet applied on the interface; `routed` false while the route conflicts with the host's. */
  private readonly addresses = new Map<string, { hubIp: string; subnet: string; routed: boolean }>();
  /** tenant → why its subnet route is not installed (a host route it would shadow). */
  private readonly conflicts = new Map<string, { at: number; message: string }>();

  /** Peers kept off the device on purpose (a cluster being handed to another node, rebalance.ts): never re-added. */
  private readonly withheld = new Set<string>();

  constructor(
    private readonly device: () => WgDevice,
    private readonly log: Logger,
  ) {}

  /** The route conflict of a tenant, if its subnet is not routed into the tunnel. */
  conflictOf(tenantId: string): { at: number; message: string } | undefined {
    return this.conflicts.get(tenantId);
  }

  /** Takes the peer off the device and keeps it off (no reconcile re-adds it) until `restorePeer`. */
  async withholdPeer(publicKey: string): Promise<void> {
    this.withheld.add(publicKey);
    await this.device().removePeer(publicKey);
  }

  /**
   * Lets the peer back; `put`: add it now. A re-created peer has no endpoint, so this node cannot start a handshake
   * to the edge (which would make the edge roam back to it): only the edge dialling this node gives it one.
   */
  async restorePeer(publicKey: string, tunnelIp: string, put: boolean): Promise<void> {
    if (this.withheld.delete(publicKey) && put) await this.device().setPeer({ publicKey, allowedIps: [`${tunnelIp}/32`] });
  }

  isWithheld(publicKey: string): boolean {
    return this.withheld.has(publicKey);
  }

  /** Peers equal to `rows` (less the withheld ones): missing ones added, wrong allowed IPs fixed, unknown keys removed — in one device transaction. */
  async syncPeers(rows: TrackedClusterRow[], current: PeerStatus[], quiet: boolean): Promise<void> {
    rows = rows.filter((r) => !this.withheld.has(r.publicKey));
    const want = new Set<string>();
    for (const r of rows) want.add(r.publicKey);
    const have = new Map<string, PeerStatus>();
    const remove: string[] = [];
    for (const p of current) {
      have.set(p.publicKey, p);
      if (!want.has(p.publicKey)) remove.push(p.publicKey);
    }
    const set: PeerConfig[] = [];
    const added: string[] = [];
    for (const r of rows) {
      const allowed = `${r.tunnelIp}/32`;
      const cur = have.get(r.publicKey);
      if (!cur || cur.allowedIps.length !== 1 || cur.allowedIps[0] !== allowed) {
        set.push({ publicKey: r.publicKey, allowedIps: [allowed] });
        added.push(r.clusterId);
      }
    }
    if (set.length === 0 && remove.length === 0) return;
    await this.device().setPeers(set, remove);
    for (const k of remove) this.log.info({ peer: k.slice(0, 8) }, "removed peer not in the database");
    if (!quiet) for (const clusterId of added) this.log.info({ clusterId }, "added missing peer");
  }

  /** Every tenant's hub address and route; tenants that are gone lose theirs. */
  async syncTenants(subnets: SubnetRef[]): Promise<void> {
    const tenants = new Set<string>();
    const todo: SubnetRef[] = [];
    for (const s of subnets) {
      tenants.add(s.tenantId);
      const cur = this.addresses.get(s.tenantId);
      if (!cur || cur.hubIp !== s.hubIp || cur.subnet !== s.cidr || !cur.routed) todo.push(s);
    }
    // A fresh node has every tenant to set up: addresses and routes in two `ip -batch` runs, not ~5 `ip` per tenant.
    if (todo.length > 1) await this.ensureAddresses(todo);
    else for (const s of todo) await this.ensureAddress(s.tenantId, s.hubIp, s.cidr);
    for (const [tenant, a] of [...this.addresses]) {
      if (!tenants.has(tenant)) {
        if (a.routed) await this.device().removeRoute(a.subnet);
        await this.device().removeAddress(`${a.hubIp}/32`);
        this.addresses.delete(tenant);
        this.conflicts.delete(tenant);
      }
    }
  }

  /** ensureAddress for many tenants at once (the device's batch calls). */
  private async ensureAddresses(todo: SubnetRef[]): Promise<void> {
    const dev = this.device();
    const routes: Array<{ cidr: string; src: string }> = [];
    for (const s of todo) {
      const cur = this.addresses.get(s.tenantId);
      if (cur?.routed && cur.subnet !== s.cidr) await dev.removeRoute(cur.subnet);
      if (cur && cur.hubIp !== s.hubIp) await dev.removeAddress(`${cur.hubIp}/32`);
      if (!(cur?.routed && cur.subnet === s.cidr)) routes.push({ cidr: s.cidr, src: s.hubIp });
    }
    await dev.addAddresses(todo.map((s) => `${s.hubIp}/32`));
    const conflicts = await dev.addRoutes(routes);
    for (const s of todo) {
      const cur = this.addresses.get(s.tenantId);
      let routed = cur?.routed === true && cur.subnet === s.cidr;
      if (!routed) {
        const err = conflicts.get(s.cidr);
        if (err) this.recordConflict(s.tenantId, s.cidr, err);
        else routed = this.routedNow(s.tenantId, s.cidr);
      }
      this.addresses.set(s.tenantId, { hubIp: s.hubIp, subnet: s.cidr, routed });
    }
  }

  /**
   * The tenant's hub address as a /32 plus a route for its subnet sourced from
   * it: hub addresses may sit outside the subnet (PEERING_HUB_POOL), and the
   * edge only accepts packets from the hub's /32. A widened subnet swaps the
   * route. The route is added, never replaced: one that would shadow a route
   * of the hub host is left out, logged and shown in the tenant's clusters'
   * diagnostics, and tried again at the next reconcile.
   */
  async ensureAddress(tenantId: string, hubIp: string, subnet: string): Promise<void> {
    const dev = this.device();
    const cur = this.addresses.get(tenantId);
    if (cur && cur.hubIp === hubIp && cur.subnet === subnet && cur.routed) return;
    if (cur?.routed && cur.subnet !== subnet) await dev.removeRoute(cur.subnet);
    if (cur && cur.hubIp !== hubIp) await dev.removeAddress(`${cur.hubIp}/32`);
    await dev.addAddress(`${hubIp}/32`);
    let routed = cur?.routed === true && cur.subnet === subnet;
    if (!routed) {
      try {
        await dev.addRoute(subnet, { src: hubIp });
        routed = this.routedNow(tenantId, subnet);
      } catch (err) {
        if (!(err instanceof DaaluError) || err.reason !== "WG_ROUTE_CONFLICT") throw err;
        this.recordConflict(tenantId, subnet, err);
      }
    }
    this.addresses.set(tenantId, { hubIp, subnet, routed });
  }

  private routedNow(tenantId: string, subnet: string): true {
    if (this.conflicts.delete(tenantId)) this.log.info({ tenantId, subnet }, "tenant subnet routed into the tunnel after an earlier conflict");
    return true;
  }

  private recordConflict(tenantId: string, subnet: string, err: DaaluError): void {
    if (this.conflicts.get(tenantId)?.message !== err.message) this.log.error({ tenantId, subnet, reason: err.reason, conflict: err.message }, "tenant subnet route conflicts with a route of the hub host; not installed");
    this.conflicts.set(tenantId, { at: Date.now(), message: err.message });
  }
}
