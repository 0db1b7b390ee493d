/**
 * Tenant subnets (IPAM of blocks): a tenant's subnet is created from the
 * tenant pool or a requested block inside it, widened only to a block that
 * contains it, never overlapping another tenant's (exclusion constraint) or
 * the hub address pool; each tenant gets its hub address from the hub pool.
 */
import { PG_DEADLOCK, PG_EXCLUSION_VIOLATION, isUniqueViolation, pgCode, sql, storeError } from "@daalu/runtime";
import type { Kysely } from "kysely";
import { blockSize, classifySubnetChange, containsCidr, formatCidr, formatIpv4, growthPrefix, hostRange, overlaps, parseCidr, parseTenantSubnet, CidrParseError, type Ipv4Cidr } from "../../domain/ipv4.js";
import {
  HubPoolExhaustedError,
  InvalidSubnetError,
  SubnetAlreadySetError,
  SubnetNotSupernetError,
  SubnetOutsidePoolError,
  SubnetOverlapError,
  SubnetPoolExhaustedError,
  SubnetReservedError,
} from "../../errors.js";
import { allocatedCount, subnetRow, toSubnet, type Db, type SubnetRecord, type SubnetRef, type SubnetRow } from "./rows.js";
import type { PeeringDb } from "./schema.js";

/** Retries of first-subnet assignment when another tenant takes the same block concurrently. */
const SUBNET_ASSIGN_ATTEMPTS = 8;

export interface SubnetStoreOptions {
  /** Pool new tenants' subnets are carved from, and the only block a tenant subnet may lie in. */
  pool: string;
  /** Pool of hub addresses (one per tenant), disjoint from every tenant subnet. */
  hubPool: string;
  defaultPrefix: number;
  /** Prefer blocks whose `growthBits`-wider enclosing block is free of other tenants. */
  growthBits: number;
}

export class SubnetStore {
  private readonly pool: Ipv4Cidr;
  private readonly hubPool: Ipv4Cidr;

  constructor(
    private readonly db: Kysely<PeeringDb>,
    private readonly opts: SubnetStoreOptions,
  ) {
    this.pool = parseCidr(opts.pool);
    this.hubPool = parseCidr(opts.hubPool);
  }

  /**
   * Where a requested tenant subnet may lie, also when widened: clear of the
   * hub address pool and inside the tenant pool (the only block the hub host
   * routes into the tunnel), so no tenant can route a block the hub host uses.
   */
  private checkPlacement(c: Ipv4Cidr): void {
    if (overlaps(c, this.hubPool)) throw new SubnetReservedError(formatCidr(c), formatCidr(this.hubPool));
    if (!containsCidr(this.pool, c)) throw new SubnetOutsidePoolError(formatCidr(c), formatCidr(this.pool));
  }

  /** The tenant's subnet with capacity and use, or undefined when it has none yet. */
  async getSubnet(tenantId: string): Promise<SubnetRecord | undefined> {
    try {
      const row = await subnetRow(this.db, tenantId);
      return row ? toSubnet(row, await allocatedCount(this.db, tenantId)) : undefined;
    } catch (err) {
      throw storeError(err);
    }
  }

  /**
   * The tenant's subnet, created if missing: from `requested` when given, else
   * the first free aligned block of the pool (preferring one with room to
   * widen). A requested subnet different from an existing one is refused.
   */
  async ensureSubnet(tenantId: string, requested?: string): Promise<SubnetRecord> {
    const want = requested ? parseSubnetArg(requested) : undefined;
    try {
      for (let attempt = 0; ; attempt++) {
        const existing = await this.getSubnet(tenantId);
        if (existing) {
          if (want && formatCidr(want) !== existing.cidr) throw new SubnetAlreadySetError(existing.cidr, formatCidr(want));
          return existing;
        }
        if (want) this.checkPlacement(want);
        try {
          // Subnet and hub-address assignments take turns (tenant creation is
          // rare), so racing tenants do not all pick the same free block or
          // hub address and retry.
          await this.db.transaction().execute(async (trx) => {
            await sql`select pg_advisory_xact_lock(hashtext('daalu-peering-subnet-pool'))`.execute(trx);
            if (await subnetRow(trx, tenantId)) return;
            await this.insertSubnet(trx, tenantId, want ?? (await this.freePoolBlock(trx)));
          });
        } catch (err) {
          // Concurrent inserts that conflict on a GiST exclusion constraint can
          // also end in a deadlock error (PostgreSQL documents this); both mean
          // "someone else took an overlapping block".
          if (pgCode(err) === PG_EXCLUSION_VIOLATION || pgCode(err) === PG_DEADLOCK) {
            if (want && pgCode(err) === PG_EXCLUSION_VIOLATION) throw new SubnetOverlapError(formatCidr(want), err);
            // Another tenant took this block at the same time: pick again.
            if (attempt < SUBNET_ASSIGN_ATTEMPTS) continue;
          }
          // The same tenant created its subnet concurrently: use that one.
          if (isUniqueViolation(err, "tenant_subnets_pkey") && attempt < SUBNET_ASSIGN_ATTEMPTS) continue;
          throw err;
        }
      }
    } catch (err) {
      throw storeError(err);
    }
  }

  private async insertSubnet(db: Db, tenantId: string, c: Ipv4Cidr): Promise<void> {
    const hub = await this.freeHubAddress(db);
    await sql`insert into tenant_subnets (tenant_id, cidr, hub_ip) values (${tenantId}, ${formatCidr(c)}::cidr, ${hub}::inet)`.execute(db);
  }

  /**
   * The lowest free host address of the hub pool. The hub's address lies
   * outside the tenant's subnet, so every host address of the subnet is a
   * cluster's (254 in a /24). Unique per tenant (constraint tenant_subnets_hub_ip).
   */
  private async freeHubAddress(db: Db): Promise<string> {
    const range = hostRange(this.hubPool);
    if (!range) throw new HubPoolExhaustedError(formatCidr(this.hubPool));
    const base = formatIpv4(range.first);
    const r = await sql<{ ip: string }>`
      select host(${base}::inet + g::bigint) as ip from generate_series(0, ${range.last - range.first}::int) g
      where not exists (select 1 from tenant_subnets t where t.hub_ip = ${base}::inet + g::bigint)
      order by g limit 1`.execute(db);
    const ip = r.rows[0]?.ip;
    if (ip === undefined) throw new HubPoolExhaustedError(formatCidr(this.hubPool));
    return ip;
  }

  /** First free aligned /defaultPrefix in the pool; blocks whose growth block is free of other tenants come first. */
  private async freePoolBlock(db: Db): Promise<Ipv4Cidr> {
    const prefix = this.opts.defaultPrefix;
    const size = blockSize(prefix);
    const count = blockSize(this.pool.prefix) / size;
    const grow = growthPrefix(prefix, this.opts.growthBits, this.pool.prefix);
    const base = formatIpv4(this.pool.network);
    const r = await sql<{ g: number }>`
      select g from generate_series(0, ${count - 1}::int) g
      where not exists (select 1 from tenant_subnets t where t.cidr && network(set_masklen(${base}::inet + g::bigint * ${size}::bigint, ${prefix}::int)))
      order by exists (select 1 from tenant_subnets t where t.cidr && network(set_masklen(${base}::inet + g::bigint * ${size}::bigint, ${grow}::int))), g
      limit 1`.execute(db);
    const g = r.rows[0]?.g;
    if (g === undefined) throw new SubnetPoolExhaustedError(formatCidr(this.pool), prefix);
    return { network: this.pool.network + g * size, prefix };
  }

  /**
   * Creates the tenant's subnet, or widens it to a block containing it. The
   * hub address and every cluster address stay as they are.
   */
  async setSubnet(tenantId: string, cidr: string): Promise<SubnetRecord> {
    const want = parseSubnetArg(cidr);
    try {
      const done = await this.db.transaction().execute(async (trx) => {
        const cur = await subnetRow(trx, tenantId, true);
        if (!cur) return false;
        const current = parseCidr(cur.cidr);
        const change = classifySubnetChange(current, want);
        if (change === "not-supernet") throw new SubnetNotSupernetError(formatCidr(current), formatCidr(want));
        if (change === "widen") {
          this.checkPlacement(want);
          await sql`update tenant_subnets set cidr = ${formatCidr(want)}::cidr, updated_at = now() where tenant_id = ${tenantId}`.execute(trx);
        }
        return true;
      });
      if (!done) return await this.ensureSubnet(tenantId, cidr);
      return (await this.getSubnet(tenantId))!;
    } catch (err) {
      if (pgCode(err) === PG_EXCLUSION_VIOLATION) throw new SubnetOverlapError(formatCidr(want), err);
      throw storeError(err);
    }
  }

  /** Every tenant subnet (for the hub's WireGuard node: interface addresses and routes). */
  async listSubnets(): Promise<SubnetRef[]> {
    try {
      const r = await sql<SubnetRow>`select tenant_id, cidr::text as cidr, host(hub_ip) as hub_ip from tenant_subnets order by cidr`.execute(this.db);
      return r.rows.map((x) => ({ tenantId: x.tenant_id, cidr: x.cidr, hubIp: x.hub_ip }));
    } catch (err) {
      throw storeError(err);
    }
  }
}

function parseSubnetArg(text: string): Ipv4Cidr {
  try {
    return parseTenantSubnet(text);
  } catch (err) {
    if (err instanceof CidrParseError) throw new InvalidSubnetError(err.message, err);
    throw err;
  }
}
