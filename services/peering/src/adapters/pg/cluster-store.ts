/** Cluster rows of a tenant, and the enrolled ones as the hub's WireGuard peers. */
import { isUniqueViolation, sql, storeError } from "@daalu/runtime";
import type { Kysely } from "kysely";
import { ClusterNameTakenError, ClusterNotFoundError } from "../../errors.js";
import { CLUSTER_COLUMNS, findCluster, toCluster, type ClusterRecord, type ClusterRow, type PeerRecord, type SubnetRecord } from "./rows.js";
import type { PeeringDb } from "./schema.js";
import type { SubnetStore } from "./subnet-store.js";

export class ClusterStore {
  constructor(
    private readonly db: Kysely<PeeringDb>,
    private readonly subnets: Pick<SubnetStore, "getSubnet">,
  ) {}

  /** Registers a cluster (no address yet). The tenant must have a subnet (ensureSubnet first). */
  async createCluster(tenantId: string, name: string): Promise<ClusterRecord> {
    try {
      const r = await sql<{ id: string }>`insert into clusters (tenant_id, name) values (${tenantId}, ${name}) returning id`.execute(this.db);
      return (await findCluster(this.db, r.rows[0]!.id, tenantId))!;
    } catch (err) {
      if (isUniqueViolation(err, "clusters_tenant_name")) throw new ClusterNameTakenError(name, err);
      throw storeError(err);
    }
  }

  /** A cluster of `tenantId`, or of any tenant when `tenantId` is undefined (internal callers). */
  async getCluster(id: string, tenantId?: string): Promise<ClusterRecord> {
    let c: ClusterRecord | undefined;
    try {
      c = await findCluster(this.db, id, tenantId);
    } catch (err) {
      throw storeError(err);
    }
    if (!c) throw new ClusterNotFoundError(id);
    return c;
  }

  async listClusters(tenantId: string): Promise<ClusterRecord[]> {
    try {
      const r = await sql<ClusterRow>`
        select ${CLUSTER_COLUMNS} from clusters c left join addresses a on a.cluster_id = c.id
        where c.tenant_id = ${tenantId} order by c.name`.execute(this.db);
      return r.rows.map(toCluster);
    } catch (err) {
      throw storeError(err);
    }
  }

  /** Deletes the row; its address goes back to the pool (cascade). Returns the row as it was. */
  async deleteCluster(id: string, tenantId: string): Promise<{ cluster: ClusterRecord; subnet: SubnetRecord | undefined }> {
    try {
      const cluster = await this.db.transaction().execute(async (trx) => {
        const c = await findCluster(trx, id, tenantId, true);
        if (!c) throw new ClusterNotFoundError(id);
        await sql`delete from clusters where id = ${id}::uuid`.execute(trx);
        return c;
      });
      return { cluster, subnet: await this.subnets.getSubnet(tenantId) };
    } catch (err) {
      throw storeError(err);
    }
  }

  /** Enrolled clusters: the hub's WireGuard peers. */
  async listPeers(): Promise<PeerRecord[]> {
    try {
      const r = await sql<{ id: string; tenant_id: string; public_key: string; tunnel_ip: string; cidr: string; hub_ip: string }>`
        select c.id, c.tenant_id, c.public_key, host(a.ip) as tunnel_ip, s.cidr::text as cidr, host(s.hub_ip) as hub_ip
        from clusters c join addresses a on a.cluster_id = c.id join tenant_subnets s on s.tenant_id = c.tenant_id
        where c.public_key is not null order by a.ip`.execute(this.db);
      return r.rows.map((x) => ({ clusterId: x.id, tenantId: x.tenant_id, publicKey: x.public_key, tunnelIp: x.tunnel_ip, subnet: x.cidr, hubIp: x.hub_ip }));
    } catch (err) {
      throw storeError(err);
    }
  }
}
