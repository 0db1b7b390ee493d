/**
 * Device reconciliation: the hub interface's peers, hub addresses and tenant
 * routes made equal to what PostgreSQL says. Routes are added, never replace a
 * route of the hub host (see @daalu/wireguard routes.ts); a conflict is kept
 * per tenant for the diagnostics and retried at the next reconcile.
 */
import { DaaluError, type Logger } from "@daalu/runtime";
import type { PeerStatus, WgDevice } from "@daalu/wireguard";
import type { TrackedClusterRow } from "../adapters/pg/health-store.js";
import type { SubnetRef } from "../adapters/pg/store.js";

export class DeviceSync {
  /** tenant → hub address and subnet applied on the interface; `routed` false while the route conflicts with the host's. */
  private readonly addresses = new Map<string, { hubIp: string; subnet: string; routed: boolean }>();
  /** tenant → why its subnet route is not installed (a host route it would shadow). */
  private readonly conflicts = new Map<string, { at: number; message: string }>();

  constructor(
    private readonly device: () => WgDevice,
    private readonly log: Logger,
  ) {}

  /** The route conflict of a tenant, if its subnet is not routed into the tunnel. */
  conflictOf(tenantId: string): { at: number; message: string } | undefined {
    return this.conflicts.get(tenantId);
  }

  /** Peers equal to `rows`: missing ones added, wrong allowed IPs fixed, unknown keys removed. */
  async syncPeers(rows: TrackedClusterRow[], current: PeerStatus[], quiet: boolean): Promise<void> {
    const dev = this.device();
    const want = new Map(rows.map((r) => [r.publicKey, r]));
    const have = new Map(current.map((p) => [p.publicKey, p]));
    for (const p of current) {
      if (!want.has(p.publicKey)) {
        await dev.removePeer(p.publicKey);
        this.log.info({ peer: p.publicKey.slice(0, 8) }, "removed peer not in the database");
      }
    }
    for (const r of rows) {
      const allowed = `${r.tunnelIp}/32`;
      const cur = have.get(r.publicKey);
      if (!cur || cur.allowedIps.length !== 1 || cur.allowedIps[0] !== allowed) {
        await dev.setPeer({ publicKey: r.publicKey, allowedIps: [allowed] });
        if (!quiet) this.log.info({ clusterId: r.clusterId }, "added missing peer");
      }
    }
  }

  /** Every tenant's hub address and route; tenants that are gone lose theirs. */
  async syncTenants(subnets: SubnetRef[]): Promise<void> {
    const tenants = new Set<string>();
    for (const s of subnets) {
      tenants.add(s.tenantId);
      await this.ensureAddress(s.tenantId, s.hubIp, s.cidr);
    }
    for (const [tenant, a] of [...this.addresses]) {
      if (!tenants.has(tenant)) {
        if (a.routed) await this.device().removeRoute(a.subnet);
        await this.device().removeAddress(`${a.hubIp}/32`);
        this.addresses.delete(tenant);
        this.conflicts.delete(tenant);
      }
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
        routed = true;
        if (this.conflicts.delete(tenantId)) this.log.info({ tenantId, subnet }, "tenant subnet routed into the tunnel after an earlier conflict");
      } catch (err) {
        if (!(err instanceof DaaluError) || err.reason !== "WG_ROUTE_CONFLICT") throw err;
        if (this.conflicts.get(tenantId)?.message !== err.message) this.log.error({ tenantId, subnet, reason: err.reason, conflict: err.message }, "tenant subnet route conflicts with a route of the hub host; not installed");
        this.conflicts.set(tenantId, { at: Date.now(), message: err.message });
      }
    }
    this.addresses.set(tenantId, { hubIp, subnet, routed });
  }
}
