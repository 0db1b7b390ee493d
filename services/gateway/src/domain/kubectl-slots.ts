/**
 * Slots for one-shot kubectl runs, fair across tenants. Pure: counts only.
 *
 * Three caps, all checked before a run starts: the gateway's (`total`), one
 * tenant's (`perTenant`) and one cluster's (`perCluster`). A tenant can hold
 * at most `perTenant` slots however many clusters it has, so a tenant that
 * saturates its share leaves `total - perTenant` slots to the others and it
 * takes `total / perTenant` tenants at their cap at once to fill the gateway.
 */
export interface SlotLimits {
  total: number;
  perTenant: number;
  perCluster: number;
}

export type SlotScope = "gateway" | "tenant" | "cluster";

export type SlotGrant = { ok: true; release(): void } | { ok: false; scope: SlotScope; limit: number };

export class KubectlSlots {
  private total = 0;
  private readonly tenants = new Map<string, number>();
  private readonly clusters = new Map<string, number>();

  constructor(readonly limits: SlotLimits) {}

  /** Takes a slot for a run of `tenant` on `cluster`, or says which cap is reached. */
  acquire(tenant: string, cluster: string): SlotGrant {
    const ck = `${tenant}/${cluster}`;
    if ((this.tenants.get(tenant) ?? 0) >= this.limits.perTenant) return { ok: false, scope: "tenant", limit: this.limits.perTenant };
    if ((this.clusters.get(ck) ?? 0) >= this.limits.perCluster) return { ok: false, scope: "cluster", limit: this.limits.perCluster };
    if (this.total >= this.limits.total) return { ok: false, scope: "gateway", limit: this.limits.total };
    this.total++;
    bump(this.tenants, tenant, 1);
    bump(this.clusters, ck, 1);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.total--;
        bump(this.tenants, tenant, -1);
        bump(this.clusters, ck, -1);
      },
    };
  }

  /** Slots in use: by the gateway, one tenant, or one of its clusters. */
  inUse(tenant?: string, cluster?: string): number {
    if (tenant === undefined) return this.total;
    return cluster === undefined ? (this.tenants.get(tenant) ?? 0) : (this.clusters.get(`${tenant}/${cluster}`) ?? 0);
  }
}

function bump(m: Map<string, number>, k: string, d: number): void {
  const n = (m.get(k) ?? 0) + d;
  if (n <= 0) m.delete(k);
  else m.set(k, n);
}
