/**
 * The peering store: every query of the `peering` schema, with pg errors
 * translated to domain errors here (headscale's db/ layer).
 */
import { PG_DEADLOCK, PG_EXCLUSION_VIOLATION, isUniqueViolation, pgCode, sql, storeError, type Logger, type PgPool } from "@daalu/runtime";
import { CompiledQuery, type Kysely, type RawBuilder, type Transaction } from "kysely";
import { decideCommit, decideReserve, isUuid, type ClusterStatusName } from "../../domain/cluster.js";
import {
  blockSize,
  classifySubnetChange,
  clusterCapacity,
  containsCidr,
  overlaps,
  formatCidr,
  formatIpv4,
  growthPrefix,
  hostRange,
  parseCidr,
  parseIpv4,
  parseTenantSubnet,
  CidrParseError,
  type Ipv4Cidr,
} from "../../domain/ipv4.js";
import {
  ClusterNameTakenError,
  ClusterNotFoundError,
  EnrollmentInProgressError,
  EnrollmentKeyMismatchError,
  EnrollmentNotPendingError,
  HubPoolExhaustedError,
  InvalidSubnetError,
  PublicKeyInUseError,
  SubnetAlreadySetError,
  SubnetExhaustedError,
  SubnetNotSupernetError,
  SubnetOutsidePoolError,
  SubnetOverlapError,
  SubnetPoolExhaustedError,
  SubnetReservedError,
} from "../../errors.js";
import type { KeyRing } from "../../keyring.js";
import { Batcher } from "./batcher.js";
import { HubIdentityStore, type HubIdentity } from "./hub-identity-store.js";
import { KeyedQueue } from "./keyed-queue.js";
import type { ClustersTable, PeeringDb } from "./schema.js";

/** A cluster row with its address (null until an address is held). */
export interface ClusterRecord {
  id: string;
  tenantId: string;
  name: string;
  publicKey: string | null;
  tunnelIp: string | null;
  status: ClusterStatusName;
  statusSince: Date;
  lastHandshake: Date | null;
  edgeVersion: string;
  apiReachable: boolean;
  diagnostic: string;
  createdAt: Date;
  enrolledAt: Date | null;
  lastEnrollmentId: string | null;
  pendingEnrollmentId: string | null;
  pendingPublicKey: string | null;
  pendingNewAddress: boolean;
  pendingSince: Date | null;
}

/** A tenant's subnet with its use. */
export interface SubnetRecord {
  tenantId: string;
  cidr: string;
  hubIp: string;
  capacity: number;
  allocated: number;
}

/** One WireGuard peer of the hub: an enrolled cluster. */
export interface PeerRecord {
  clusterId: string;
  tenantId: string;
  publicKey: string;
  tunnelIp: string;
  subnet: string;
  hubIp: string;
}

/** Health fields the hub's WireGuard node writes. */
export interface HealthPatch {
  status?: ClusterStatusName;
  statusSince?: Date;
  lastHandshake?: Date | null;
  edgeVersion?: string;
  apiReachable?: boolean;
  diagnostic?: string;
}

/** Result of a reservation: the cluster (address held) and its tenant's subnet. */
export interface Reservation {
  cluster: ReservedCluster;
  subnet: SubnetRef;
}

/** What a reservation reports of its cluster (what a tunnel configuration needs). */
export type ReservedCluster = Pick<ClusterRecord, "id" | "tenantId" | "name" | "tunnelIp">;

/** A tenant subnet without its use counts (what events and tunnel configs need). */
export type SubnetRef = Pick<SubnetRecord, "tenantId" | "cidr" | "hubIp">;

/** Result of a commit; `previousPublicKey` is null for a first enrollment, `replayed` for a repeated call. */
export interface CommitResult {
  cluster: ClusterRecord;
  subnet: SubnetRef;
  previousPublicKey: string | null;
  replayed: boolean;
}

/** A stale pending enrollment picked by the recovery sweep. */
export interface StalePending {
  clusterId: string;
  tenantId: string;
  enrollmentId: string;
  publicKey: string;
  pendingSince: Date;
}

export interface StoreOptions {
  /** Pool new tenants' subnets are carved from. */
  pool: string;
  /** Pool of hub addresses (one per tenant), disjoint from every tenant subnet. */
  hubPool: string;
  defaultPrefix: number;
  /** Prefer blocks whose `growthBits`-wider enclosing block is free of other tenants. */
  growthBits: number;
  /** A hub private key from a file; when set, the database key is not used. */
  hubPrivateKey?: string;
  /** Key-encryption keys that seal the hub's private key in the database. */
  keyRing?: KeyRing;
  logger?: Logger;
  /**
   * The pool under `db`. With it the hot enrollment statements run as named
   * prepared statements: each connection parses and plans them once (planning
   * the reservation's CTE cost more than running it).
   */
  pgPool?: PgPool;
}

type Db = Kysely<PeeringDb> | Transaction<PeeringDb>;

type ClusterRow = ClustersTable & { tunnel_ip: string | null };

const CLUSTER_COLUMNS = sql`c.id, c.tenant_id, c.name, c.public_key, c.status, c.status_since, c.last_handshake, c.edge_version,
  c.api_reachable, c.diagnostic, c.created_at, c.enrolled_at, c.last_enrollment_id, c.pending_enrollment_id,
  c.pending_public_key, c.pending_new_address, c.pending_since, c.recovery_claimed_at, host(a.ip) as tunnel_ip`;

function toCluster(r: ClusterRow): ClusterRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    name: r.name,
    publicKey: r.public_key,
    tunnelIp: r.tunnel_ip,
    status: r.status,
    statusSince: r.status_since,
    lastHandshake: r.last_handshake,
    edgeVersion: r.edge_version,
    apiReachable: r.api_reachable,
    diagnostic: r.diagnostic,
    createdAt: r.created_at,
    enrolledAt: r.enrolled_at,
    lastEnrollmentId: r.last_enrollment_id,
    pendingEnrollmentId: r.pending_enrollment_id,
    pendingPublicKey: r.pending_public_key,
    pendingNewAddress: r.pending_new_address,
    pendingSince: r.pending_since,
  };
}

interface SubnetRow {
  tenant_id: string;
  cidr: string;
  hub_ip: string;
  allocated?: number;
}

function toSubnet(r: SubnetRow, allocated: number): SubnetRecord {
  const c = parseCidr(r.cidr);
  return { tenantId: r.tenant_id, cidr: formatCidr(c), hubIp: r.hub_ip, capacity: clusterCapacity(c, parseIpv4(r.hub_ip)!), allocated };
}

/**
 * CTEs `occupied` and `cand`: the lowest free host address from `first` to
 * `last` (inet /32 expressions), the hub's address excluded, as one gap search
 * over the addresses primary key. `when` false: no candidate at all.
 */
function lowestFreeCtes(first: RawBuilder<unknown>, last: RawBuilder<unknown>, hub: RawBuilder<unknown>, when: RawBuilder<unknown> = sql`true`): RawBuilder<unknown> {
  return sql`occupied as materialized (
        select a.ip from addresses a where ${when} and a.ip >= ${first} and a.ip <= ${last}
        union all
        select ${hub} where ${hub} between ${first} and ${last}
      ),
      cand as (
        select x.ip from (
          select ${first} as ip where ${when} and not exists (select 1 from occupied o where o.ip = ${first})
          union all
          select g.ip + 1 from (select ip, lead(ip) over (order by ip) as next_ip from occupied) g
          where g.ip < ${last} and (g.next_ip is null or g.next_ip <> g.ip + 1)
        ) x
        order by x.ip limit 1
      )`;
}

/** A `$n` placeholder in a hot statement's text (see PeeringStore.prepared). */
const param = (n: number, cast = ""): RawBuilder<unknown> => sql.raw(`$${n}${cast}`);

/**
 * The reservation as one statement ($1 cluster id, $2 enrollment id, $3
 * public key, $4 tenant when `tenantScoped`): lock the cluster row only if it
 * is free to reserve (the same preconditions as decideReserve's "reserve"),
 * keep its address or insert the lowest free one, mark it pending only when
 * it has an address. See PeeringStore.reserveFast.
 */
function reserveStatement(tenantScoped: boolean) {
  const clusterId = param(1, "::uuid");
  const enrollmentId = param(2, "::text");
  const publicKey = param(3, "::text");
  const tenantFilter = tenantScoped ? sql`and c.tenant_id = ${param(4, "::text")}` : sql``;
  return sql<{ found: boolean; candidate: boolean; cidr: string | null; hub_ip: string | null; id: string | null; tenant_id: string | null; name: string | null; tunnel_ip: string | null }>`
      with c as (
        select c.id, c.tenant_id from clusters c
        where c.id = ${clusterId} ${tenantFilter}
          and c.pending_enrollment_id is null
          and c.last_enrollment_id is distinct from ${enrollmentId}
          and not exists (select 1 from enrollments e where e.enrollment_id = ${enrollmentId})
          and not exists (select 1 from clusters o where o.id <> ${clusterId} and (o.public_key = ${publicKey} or o.pending_public_key = ${publicKey}))
        for no key update of c
      ),
      s as (
        select t.tenant_id, t.cidr, t.hub_ip, host(t.cidr)::inet + 1 as first, host(broadcast(t.cidr))::inet - 1 as last
        from tenant_subnets t where t.tenant_id = (select tenant_id from c)
      ),
      cur as (select a.ip from addresses a where a.cluster_id = (select id from c)),
      ${lowestFreeCtes(sql`(select first from s)`, sql`(select last from s)`, sql`(select host(hub_ip)::inet from s)`, sql`not exists (select 1 from cur)`)},
      ins as (
        insert into addresses (ip, tenant_id, cluster_id)
        select cand.ip, c.tenant_id, c.id from cand, c
        on conflict do nothing
        returning ip
      ),
      upd as (
        update clusters set pending_enrollment_id = ${enrollmentId}, pending_public_key = ${publicKey},
          pending_new_address = not exists (select 1 from cur), pending_since = now(), recovery_claimed_at = null
        where id = (select id from c) and (exists (select 1 from cur) or exists (select 1 from ins))
        returning id, tenant_id, name
      )
      select exists (select 1 from c) as found, exists (select 1 from cand) as candidate,
        (select s.cidr::text from s) as cidr, (select host(s.hub_ip) from s) as hub_ip,
        u.id, u.tenant_id, u.name, host(coalesce((select ip from cur), (select ip from ins))) as tunnel_ip
      from (select 1) one left join upd u on true`;
}

/**
 * The commit of a reservation pending under the enrollment as one statement
 * ($1 cluster id, $2 enrollment id, $3 tenant when `tenantScoped`). See
 * PeeringStore.commitFast.
 */
function commitStatement(tenantScoped: boolean) {
  const clusterId = param(1, "::uuid");
  const enrollmentId = param(2, "::text");
  const tenantFilter = tenantScoped ? sql`and c.tenant_id = ${param(3, "::text")}` : sql``;
  return sql<ClusterRow & { previous_public_key: string | null; cidr: string; hub_ip: string }>`
      with c as (
        select c.id, c.public_key as previous_public_key from clusters c
        where c.id = ${clusterId} ${tenantFilter} and c.pending_enrollment_id = ${enrollmentId}
        for no key update of c
      ),
      upd as (
        update clusters set public_key = pending_public_key, status = 'awaiting_handshake', status_since = now(), last_handshake = null,
          api_reachable = false, diagnostic = '', enrolled_at = now(), last_enrollment_id = ${enrollmentId},
          pending_enrollment_id = null, pending_public_key = null, pending_new_address = false, pending_since = null,
          recovery_claimed_at = null
        where id = (select id from c)
        returning *
      ),
      ins as (
        insert into enrollments (enrollment_id, cluster_id, public_key) select ${enrollmentId}, id, public_key from upd returning cluster_id
      )
      select u.*, (select previous_public_key from c) as previous_public_key, host(a.ip) as tunnel_ip, t.cidr::text as cidr, host(t.hub_ip) as hub_ip
      from upd u join ins on ins.cluster_id = u.id join tenant_subnets t on t.tenant_id = u.tenant_id left join addresses a on a.cluster_id = u.id`;
}

/**
 * The commit statement for several enrollments ($1 cluster ids, $2 enrollment
 * ids, $3 tenants, null for internal callers): the same change as
 * {@link commitStatement} for each row pending under its enrollment. Rows are
 * locked in id order, so two batches never wait on each other in a cycle.
 */
function commitBatchStatement() {
  return sql<ClusterRow & { previous_public_key: string | null; cidr: string; hub_ip: string }>`
      with req as (
        select * from unnest(${param(1, "::uuid[]")}, ${param(2, "::text[]")}, ${param(3, "::text[]")}) as r(cluster_id, enrollment_id, tenant_id)
      ),
      c as (
        select c.id, c.public_key as previous_public_key, r.enrollment_id from clusters c join req r on c.id = r.cluster_id
        where c.pending_enrollment_id = r.enrollment_id and (r.tenant_id is null or c.tenant_id = r.tenant_id)
        order by c.id
        for no key update of c
      ),
      upd as (
        update clusters u set public_key = u.pending_public_key, status = 'awaiting_handshake', status_since = now(), last_handshake = null,
          api_reachable = false, diagnostic = '', enrolled_at = now(), last_enrollment_id = c.enrollment_id,
          pending_enrollment_id = null, pending_public_key = null, pending_new_address = false, pending_since = null,
          recovery_claimed_at = null
        from c where u.id = c.id
        returning u.*
      ),
      ins as (
        insert into enrollments (enrollment_id, cluster_id, public_key) select last_enrollment_id, id, public_key from upd returning cluster_id
      )
      select u.*, c.previous_public_key, host(a.ip) as tunnel_ip, t.cidr::text as cidr, host(t.hub_ip) as hub_ip
      from upd u join c on c.id = u.id join ins on ins.cluster_id = u.id join tenant_subnets t on t.tenant_id = u.tenant_id left join addresses a on a.cluster_id = u.id`;
}

/** One commit waiting for its batch. */
interface CommitItem {
  clusterId: string;
  enrollmentId: string;
  tenantId: string | undefined;
}

/**
 * Commits are sent one-way by the invite service, so nobody waits on them:
 * under load (commits less than 20 ms apart) they collect for up to 20 ms and
 * share one statement; a lone commit runs at once.
 */
const COMMIT_BATCH = { windowMs: 20, busyGapMs: 20, max: 64 };

/** Fast-path reservations that lose their candidate address to a concurrent one before the locked path takes over. */
const FAST_RESERVE_ATTEMPTS = 8;

/** Retries of first-subnet assignment when another tenant takes the same block concurrently. */
const SUBNET_ASSIGN_ATTEMPTS = 8;

export class PeeringStore {
  private readonly pool: Ipv4Cidr;
  private readonly tenantQueue = new KeyedQueue();
  private readonly commits = new Batcher<CommitItem, CommitResult | undefined>((items) => this.commitMany(items), COMMIT_BATCH);

  constructor(
    readonly db: Kysely<PeeringDb>,
    private readonly opts: StoreOptions,
  ) {
    this.pool = parseCidr(opts.pool);
    this.hubPool = parseCidr(opts.hubPool);
    this.identity = new HubIdentityStore(db, { fileKey: opts.hubPrivateKey, keyRing: opts.keyRing, logger: opts.logger });
  }

  private readonly identity: HubIdentityStore;

  private readonly hubPool: Ipv4Cidr;

  /**
   * Where a requested tenant subnet may lie, also when widened: clear of the
   * hub address pool and inside the tenant pool (the only block the hub host
   * routes into the tunnel), so no tenant can route a block the hub host uses.
   */
  private checkPlacement(c: Ipv4Cidr): void {
    if (overlaps(c, this.hubPool)) throw new SubnetReservedError(formatCidr(c), formatCidr(this.hubPool));
    if (!containsCidr(this.pool, c)) throw new SubnetOutsidePoolError(formatCidr(c), formatCidr(this.pool));
  }

  private readonly texts = new Map<string, string>();

  /**
   * Runs a hot statement as the prepared statement `name` when the pool is at
   * hand. `build` writes its values as `$n` placeholders ({@link param}) and is
   * compiled once per name: building and compiling kysely's tree on every call
   * cost more JavaScript than the rest of the call.
   */
  private async prepared<R>(name: string, build: () => RawBuilder<R>, values: unknown[]): Promise<R[]> {
    let text = this.texts.get(name);
    if (text === undefined) {
      const c = build().compile(this.db);
      if (c.parameters.length > 0) throw new Error(`statement ${name} must take its values as $n placeholders`);
      text = c.sql;
      this.texts.set(name, text);
    }
    if (!this.opts.pgPool) return (await this.db.executeQuery(CompiledQuery.raw(text, values))).rows as R[];
    return (await this.opts.pgPool.query({ name, text, values })).rows as R[];
  }

  // ---- subnets -------------------------------------------------------------

  private async subnetRow(db: Db, tenantId: string, lock = false): Promise<SubnetRow | undefined> {
    const q = lock
      ? sql<SubnetRow>`select tenant_id, cidr::text as cidr, host(hub_ip) as hub_ip from tenant_subnets where tenant_id = ${tenantId} for update`
      : sql<SubnetRow>`select tenant_id, cidr::text as cidr, host(hub_ip) as hub_ip from tenant_subnets where tenant_id = ${tenantId}`;
    return (await q.execute(db)).rows[0];
  }

  private async allocatedCount(db: Db, tenantId: string): Promise<number> {
    const r = await sql<{ n: number }>`select count(*)::int as n from addresses where tenant_id = ${tenantId}`.execute(db);
    return r.rows[0]?.n ?? 0;
  }

  /** The tenant's subnet with capacity and use, or undefined when it has none yet. */
  async getSubnet(tenantId: string): Promise<SubnetRecord | undefined> {
    try {
      const row = await this.subnetRow(this.db, tenantId);
      return row ? toSubnet(row, await this.allocatedCount(this.db, tenantId)) : undefined;
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
            if (await this.subnetRow(trx, tenantId)) return;
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
        const cur = await this.subnetRow(trx, tenantId, true);
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
  async listSubnets(): Promise<Array<{ tenantId: string; cidr: string; hubIp: string }>> {
    try {
      const r = await sql<SubnetRow>`select tenant_id, cidr::text as cidr, host(hub_ip) as hub_ip from tenant_subnets order by cidr`.execute(this.db);
      return r.rows.map((x) => ({ tenantId: x.tenant_id, cidr: x.cidr, hubIp: x.hub_ip }));
    } catch (err) {
      throw storeError(err);
    }
  }

  // ---- clusters -------------------------------------------------------------

  /** Registers a cluster (no address yet). The tenant must have a subnet (ensureSubnet first). */
  async createCluster(tenantId: string, name: string): Promise<ClusterRecord> {
    try {
      const r = await sql<{ id: string }>`insert into clusters (tenant_id, name) values (${tenantId}, ${name}) returning id`.execute(this.db);
      return (await this.findCluster(this.db, r.rows[0]!.id, tenantId))!;
    } catch (err) {
      if (isUniqueViolation(err, "clusters_tenant_name")) throw new ClusterNameTakenError(name, err);
      throw storeError(err);
    }
  }

  private async findCluster(db: Db, id: string, tenantId?: string, lock = false): Promise<ClusterRecord | undefined> {
    if (!isUuid(id)) return undefined;
    const tenantFilter = tenantId === undefined ? sql`` : sql`and c.tenant_id = ${tenantId}`;
    const lockClause = lock ? sql`for update of c` : sql``;
    const r = await sql<ClusterRow>`
      select ${CLUSTER_COLUMNS} from clusters c left join addresses a on a.cluster_id = c.id
      where c.id = ${id}::uuid ${tenantFilter} ${lockClause}`.execute(db);
    return r.rows[0] ? toCluster(r.rows[0]) : undefined;
  }

  /** A cluster of `tenantId`, or of any tenant when `tenantId` is undefined (internal callers). */
  async getCluster(id: string, tenantId?: string): Promise<ClusterRecord> {
    let c: ClusterRecord | undefined;
    try {
      c = await this.findCluster(this.db, id, tenantId);
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
        const c = await this.findCluster(trx, id, tenantId, true);
        if (!c) throw new ClusterNotFoundError(id);
        await sql`delete from clusters where id = ${id}::uuid`.execute(trx);
        return c;
      });
      return { cluster, subnet: await this.getSubnet(tenantId) };
    } catch (err) {
      throw storeError(err);
    }
  }

  // ---- enrollment -------------------------------------------------------------

  /**
   * Enrollment phase 1: keep the cluster's address or take the lowest free
   * one, and record the pending key under `enrollmentId`. Replays return the
   * same reservation without allocating.
   *
   * The common case (no enrollment in flight, new enrollment id, unused key) is
   * one autocommitted statement ({@link reserveFast}); anything else, and an
   * address race lost too often, takes the locked transaction
   * ({@link reserveLocked}), which gives the precise error or replay.
   */
  async reserve(clusterId: string, publicKey: string, enrollmentId: string, tenantId?: string): Promise<Reservation> {
    try {
      if (isUuid(clusterId)) {
        const fast = async () => {
          for (let attempt = 0; attempt < FAST_RESERVE_ATTEMPTS; attempt++) {
            const r = await this.reserveFast(clusterId, publicKey, enrollmentId, tenantId);
            if (r !== "lost-race") return r;
          }
          return "slow" as const;
        };
        // One at a time per tenant in this process: a burst of one tenant would
        // otherwise all pick the same lowest free address and retry in a herd.
        // Replicas still race each other, and the addresses primary key settles it.
        const r = tenantId === undefined ? await fast() : await this.tenantQueue.run(tenantId, fast);
        if (r !== "slow") return r;
      }
      const peek = await this.findCluster(this.db, clusterId, tenantId);
      if (!peek) throw new ClusterNotFoundError(clusterId);
      return await this.tenantQueue.run(peek.tenantId, () => this.reserveLocked(peek.tenantId, clusterId, publicKey, enrollmentId, tenantId));
    } catch (err) {
      if (isUniqueViolation(err, "clusters_pending_public_key") || isUniqueViolation(err, "clusters_public_key")) throw new PublicKeyInUseError(err);
      throw storeError(err);
    }
  }

  /**
   * The reservation as a single statement: lock the cluster row only if it is
   * free to reserve (the same preconditions as decideReserve's "reserve"), keep
   * its address or insert the lowest free one (`on conflict do nothing`: the
   * addresses primary key arbitrates between concurrent reservations of one
   * tenant, so they need no tenant-wide lock), and mark it pending only when
   * it has an address. Nothing changes unless everything does.
   *
   * "slow": a precondition failed or nothing is free (the locked path decides
   * what that means); "lost-race": another reservation took the candidate
   * address first (a new statement sees it and picks the next one).
   */
  private async reserveFast(clusterId: string, publicKey: string, enrollmentId: string, tenantId?: string): Promise<Reservation | "slow" | "lost-race"> {
    const rows = await this.prepared(
      tenantId === undefined ? "peering_reserve" : "peering_reserve_tenant",
      () => reserveStatement(tenantId !== undefined),
      tenantId === undefined ? [clusterId, enrollmentId, publicKey] : [clusterId, enrollmentId, publicKey, tenantId],
    );
    const row = rows[0]!;
    if (row.id) {
      return {
        cluster: { id: row.id, tenantId: row.tenant_id!, name: row.name!, tunnelIp: row.tunnel_ip },
        // cidr::text is PostgreSQL's canonical form already (network address, no host bits).
        subnet: { tenantId: row.tenant_id!, cidr: row.cidr!, hubIp: row.hub_ip! },
      };
    }
    return row.found && row.candidate ? "lost-race" : "slow";
  }

  /**
   * The locked reservation: the tenant's subnet row is locked (the in-process
   * queue keeps a burst of one tenant from holding every pooled connection
   * while it waits), the decision is the domain's.
   */
  private reserveLocked(owner: string, clusterId: string, publicKey: string, enrollmentId: string, tenantId?: string): Promise<Reservation> {
    return this.db.transaction().execute(async (trx) => {
      const subnetRow = await this.subnetRow(trx, owner, true);
      const c = await this.findCluster(trx, clusterId, tenantId, true);
      if (!c || !subnetRow) throw new ClusterNotFoundError(clusterId);
      const subnet = { tenantId: owner, cidr: formatCidr(parseCidr(subnetRow.cidr)), hubIp: subnetRow.hub_ip };
      const decision = decideReserve(c, enrollmentId, publicKey);
      if (decision === "key-mismatch") throw new EnrollmentKeyMismatchError();
      if (decision === "busy") throw new EnrollmentInProgressError();
      if (decision !== "reserve") return { cluster: c, subnet };

      const check = await sql<{ used_enrollment: boolean; key_clash: boolean }>`
        select exists (select 1 from enrollments where enrollment_id = ${enrollmentId}) as used_enrollment,
               exists (select 1 from clusters where id <> ${clusterId}::uuid and (public_key = ${publicKey} or pending_public_key = ${publicKey})) as key_clash`.execute(trx);
      if (check.rows[0]!.used_enrollment) throw new EnrollmentNotPendingError(enrollmentId);
      if (check.rows[0]!.key_clash) throw new PublicKeyInUseError();

      let tunnelIp = c.tunnelIp;
      const newAddress = tunnelIp === null;
      if (newAddress) {
        const block = parseCidr(subnetRow.cidr);
        const hub = parseIpv4(subnetRow.hub_ip)!;
        const ip = await this.allocateLowestFree(trx, block, hub, owner, clusterId);
        if (ip === undefined) throw new SubnetExhaustedError(formatCidr(block), clusterCapacity(block, hub));
        tunnelIp = ip;
      }
      const r = await sql<{ pending_since: Date }>`
        update clusters set pending_enrollment_id = ${enrollmentId}, pending_public_key = ${publicKey},
          pending_new_address = ${newAddress}, pending_since = now(), recovery_claimed_at = null
        where id = ${clusterId}::uuid returning pending_since`.execute(trx);
      const cluster: ClusterRecord = {
        ...c,
        tunnelIp,
        pendingEnrollmentId: enrollmentId,
        pendingPublicKey: publicKey,
        pendingNewAddress: newAddress,
        pendingSince: r.rows[0]!.pending_since,
      };
      return { cluster, subnet };
    });
  }

  /**
   * Takes the lowest free host address of `subnet` (not network, broadcast or
   * hub) for the cluster and returns it as text, or undefined when none is
   * free. A gap search over the primary-key index in the same statement as the
   * insert: one ordered scan, no per-address probes, nothing loaded into JS.
   * A fast-path reservation may take the same address concurrently: the insert
   * then does nothing and the search runs again (each statement sees what
   * committed before it).
   */
  private async allocateLowestFree(db: Db, subnet: Ipv4Cidr, hubIp: number, tenantId: string, clusterId: string): Promise<string | undefined> {
    const range = hostRange(subnet);
    if (!range) return undefined;
    const first = formatIpv4(range.first);
    const last = formatIpv4(range.last);
    const hub = formatIpv4(hubIp);
    for (;;) {
      const r = await sql<{ candidate: boolean; ip: string | null }>`
        with ${lowestFreeCtes(sql`${first}::inet`, sql`${last}::inet`, sql`${hub}::inet`)},
        ins as (
          insert into addresses (ip, tenant_id, cluster_id)
          select ip, ${tenantId}, ${clusterId}::uuid from cand
          on conflict (ip) do nothing
          returning ip
        )
        select exists (select 1 from cand) as candidate, (select host(ip) from ins) as ip`.execute(db);
      const row = r.rows[0]!;
      if (row.ip !== null) return row.ip;
      if (!row.candidate) return undefined;
    }
  }

  /**
   * Enrollment phase 2: the pending key becomes the cluster's key (replacing
   * any previous one), status awaiting_handshake. A repeated commit of the same
   * enrollment returns the row unchanged. With `expectedPendingSince` it is a
   * compare-and-set (recovery): it applies only to that exact reservation.
   */
  async commit(clusterId: string, enrollmentId: string, opts: { tenantId?: string; expectedPendingSince?: Date } = {}): Promise<CommitResult> {
    try {
      if (!opts.expectedPendingSince && isUuid(clusterId)) {
        const fast = await this.commits.submit({ clusterId, enrollmentId, tenantId: opts.tenantId });
        if (fast) return fast;
      }
      return await this.db.transaction().execute(async (trx) => {
        const c = await this.findCluster(trx, clusterId, opts.tenantId, true);
        if (!c) throw new ClusterNotFoundError(clusterId);
        const subnetRow = (await this.subnetRow(trx, c.tenantId))!;
        const subnet = { tenantId: c.tenantId, cidr: formatCidr(parseCidr(subnetRow.cidr)), hubIp: subnetRow.hub_ip };
        const decision = decideCommit(c, enrollmentId);
        if (decision === "replay") return { cluster: c, subnet, previousPublicKey: null, replayed: true };
        if (decision === "not-pending") throw new EnrollmentNotPendingError(enrollmentId);
        if (opts.expectedPendingSince && c.pendingSince?.getTime() !== opts.expectedPendingSince.getTime()) throw new EnrollmentNotPendingError(enrollmentId);
        const key = c.pendingPublicKey!;
        await sql`
          update clusters set public_key = ${key}, status = 'awaiting_handshake', status_since = now(), last_handshake = null,
            api_reachable = false, diagnostic = '', enrolled_at = now(), last_enrollment_id = ${enrollmentId},
            pending_enrollment_id = null, pending_public_key = null, pending_new_address = false, pending_since = null,
            recovery_claimed_at = null
          where id = ${clusterId}::uuid`.execute(trx);
        await sql`insert into enrollments (enrollment_id, cluster_id, public_key) values (${enrollmentId}, ${clusterId}::uuid, ${key})`.execute(trx);
        const after = (await this.findCluster(trx, clusterId))!;
        return { cluster: after, subnet, previousPublicKey: c.publicKey, replayed: false };
      });
    } catch (err) {
      if (isUniqueViolation(err, "clusters_public_key")) throw new PublicKeyInUseError(err);
      throw storeError(err);
    }
  }

  /**
   * The commit of a reservation pending under `enrollmentId` as one
   * autocommitted statement (the row lock makes it exclusive, the enrollments
   * insert and the update stand or fall together). Undefined when the row is
   * not pending under that id: the transaction in `commit` then decides
   * between replay and refusal.
   */
  private async commitFast(clusterId: string, enrollmentId: string, tenantId?: string): Promise<CommitResult | undefined> {
    const rows = await this.prepared(
      tenantId === undefined ? "peering_commit" : "peering_commit_tenant",
      () => commitStatement(tenantId !== undefined),
      tenantId === undefined ? [clusterId, enrollmentId] : [clusterId, enrollmentId, tenantId],
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      cluster: toCluster(row),
      subnet: { tenantId: row.tenant_id, cidr: row.cidr, hubIp: row.hub_ip },
      previousPublicKey: row.previous_public_key,
      replayed: false,
    };
  }

  /**
   * Several commits as one statement and one transaction (see {@link commitFast}
   * for one). An item that is not pending under its enrollment gets undefined
   * (the caller's transaction decides replay or refusal); an item repeated in
   * the batch is answered once and gets undefined the other times (a replay).
   * When the statement fails (one item's unique violation, a deadlock), each
   * item runs alone so that only its own error reaches it.
   */
  private async commitMany(items: CommitItem[]): Promise<Array<PromiseSettledResult<CommitResult | undefined>>> {
    const settle = (p: Promise<CommitResult | undefined>) => p.then((value) => ({ status: "fulfilled" as const, value }), (reason: unknown) => ({ status: "rejected" as const, reason }));
    if (items.length === 1) return [await settle(this.commitFast(items[0]!.clusterId, items[0]!.enrollmentId, items[0]!.tenantId))];
    const key = (clusterId: string, enrollmentId: string) => `${clusterId}/${enrollmentId}`;
    const unique = [...new Map(items.map((it) => [key(it.clusterId, it.enrollmentId), it])).values()];
    let rows: Array<ClusterRow & { previous_public_key: string | null; cidr: string; hub_ip: string }>;
    try {
      rows = await this.prepared("peering_commit_batch", commitBatchStatement, [
        unique.map((it) => it.clusterId),
        unique.map((it) => it.enrollmentId),
        unique.map((it) => it.tenantId ?? null),
      ]);
    } catch (err) {
      this.opts.logger?.warn({ err, size: unique.length }, "commit batch failed; committing its enrollments one by one");
      return Promise.all(items.map((it) => settle(this.commitFast(it.clusterId, it.enrollmentId, it.tenantId))));
    }
    this.opts.logger?.debug({ size: unique.length, committed: rows.length }, "commit batch");
    const byKey = new Map(rows.map((r) => [key(r.id, r.last_enrollment_id!), r]));
    return items.map((it) => {
      const k = key(it.clusterId, it.enrollmentId);
      const row = byKey.get(k);
      byKey.delete(k);
      const value: CommitResult | undefined = row
        ? { cluster: toCluster(row), subnet: { tenantId: row.tenant_id, cidr: row.cidr, hubIp: row.hub_ip }, previousPublicKey: row.previous_public_key, replayed: false }
        : undefined;
      return { status: "fulfilled", value };
    });
  }

  /**
   * Enrollment abort: drops the reservation if it is still pending under
   * `enrollmentId` (and, for recovery, still the same reservation); a newly
   * allocated address returns to the pool. Returns whether anything changed.
   */
  async release(clusterId: string, enrollmentId: string, opts: { tenantId?: string; expectedPendingSince?: Date } = {}): Promise<boolean> {
    if (!isUuid(clusterId)) return false;
    try {
      return await this.db.transaction().execute(async (trx) => {
        const c = await this.findCluster(trx, clusterId, opts.tenantId, true);
        if (!c || c.pendingEnrollmentId !== enrollmentId) return false;
        if (opts.expectedPendingSince && c.pendingSince?.getTime() !== opts.expectedPendingSince.getTime()) return false;
        if (c.pendingNewAddress) await sql`delete from addresses where cluster_id = ${clusterId}::uuid`.execute(trx);
        await sql`
          update clusters set pending_enrollment_id = null, pending_public_key = null, pending_new_address = false,
            pending_since = null, recovery_claimed_at = null
          where id = ${clusterId}::uuid`.execute(trx);
        return true;
      });
    } catch (err) {
      throw storeError(err);
    }
  }

  /**
   * Claims up to `limit` reservations pending for longer than `olderThanMs`.
   * SKIP LOCKED plus a claim lease of `leaseMs` keeps replicas off each other's
   * rows; no lock is held afterwards, so asking the invite service (which may
   * itself be waiting to commit this very row) cannot deadlock.
   */
  async claimStalePending(olderThanMs: number, leaseMs: number, limit = 50): Promise<StalePending[]> {
    try {
      const r = await sql<{ id: string; tenant_id: string; pending_enrollment_id: string; pending_public_key: string; pending_since: Date }>`
        update clusters set recovery_claimed_at = now()
        where id in (
          select id from clusters
          where pending_enrollment_id is not null
            and pending_since < now() - make_interval(secs => ${olderThanMs / 1000})
            and (recovery_claimed_at is null or recovery_claimed_at < now() - make_interval(secs => ${leaseMs / 1000}))
          order by pending_since
          limit ${limit}
          for update skip locked)
        returning id, tenant_id, pending_enrollment_id, pending_public_key, pending_since`.execute(this.db);
      return r.rows.map((x) => ({ clusterId: x.id, tenantId: x.tenant_id, enrollmentId: x.pending_enrollment_id, publicKey: x.pending_public_key, pendingSince: x.pending_since }));
    } catch (err) {
      throw storeError(err);
    }
  }

  // ---- for the hub's WireGuard node -----------------------------------------------

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

  /**
   * Writes health fields. Returns the row after the update and its status
   * before it, or undefined when the cluster no longer exists.
   */
  async updateHealth(clusterId: string, patch: HealthPatch): Promise<{ cluster: ClusterRecord; previousStatus: ClusterStatusName } | undefined> {
    if (!isUuid(clusterId)) return undefined;
    try {
      return await this.db.transaction().execute(async (trx) => {
        const before = await this.findCluster(trx, clusterId, undefined, true);
        if (!before) return undefined;
        const statusChanged = patch.status !== undefined && patch.status !== before.status;
        await trx
          .updateTable("clusters")
          .set({
            ...(patch.status !== undefined ? { status: patch.status } : {}),
            ...(patch.statusSince !== undefined ? { status_since: patch.statusSince } : statusChanged ? { status_since: new Date() } : {}),
            ...(patch.lastHandshake !== undefined ? { last_handshake: patch.lastHandshake } : {}),
            ...(patch.edgeVersion !== undefined ? { edge_version: patch.edgeVersion } : {}),
            ...(patch.apiReachable !== undefined ? { api_reachable: patch.apiReachable } : {}),
            ...(patch.diagnostic !== undefined ? { diagnostic: patch.diagnostic } : {}),
          })
          .where("id", "=", clusterId)
          .execute();
        return { cluster: (await this.findCluster(trx, clusterId))!, previousStatus: before.status };
      });
    } catch (err) {
      throw storeError(err);
    }
  }

  /** The hub's WireGuard key pair (see HubIdentityStore). */
  hubIdentity(): Promise<HubIdentity> {
    return this.identity.get();
  }

  /** The hub's private key (for the WireGuard node). Never log it. */
  hubPrivateKey(): Promise<string> {
    return this.identity.privateKey();
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
