/**
 * Enrollment (the peering half of the invite saga): reserve an address and a
 * pending key under the invite's id, commit it (the key becomes the cluster's
 * peer), or release it. What a call means given the row is decided by the
 * domain (decideReserve, decideCommit); the single-statement fast paths are
 * the SQL form of their common outcome, pinned to the domain by
 * test/enrollment-decisions.test.ts.
 */
import { isUniqueViolation, sql, storeError, type Logger } from "@daalu/runtime";
import type { Kysely } from "kysely";
import { decideCommit, decideReserve, isUuid, type ReserveFacts } from "../../domain/cluster.js";
import { clusterCapacity, formatCidr, formatIpv4, hostRange, parseCidr, parseIpv4, type Ipv4Cidr } from "../../domain/ipv4.js";
import { ClusterNotFoundError, EnrollmentInProgressError, EnrollmentKeyMismatchError, EnrollmentNotPendingError, PublicKeyInUseError, SubnetExhaustedError } from "../../errors.js";
import { Batcher } from "./batcher.js";
import { KeyedQueue } from "./keyed-queue.js";
import { findCluster, subnetRow, toCluster, type ClusterRecord, type ClusterRow, type CommitResult, type Db, type Reservation } from "./rows.js";
import type { PeeringDb } from "./schema.js";
import { commitBatchStatement, commitStatement, lowestFreeCtes, reserveStatement, type PreparedStatements } from "./statements.js";

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

export class EnrollmentStore {
  private readonly tenantQueue = new KeyedQueue();
  private readonly commits = new Batcher<CommitItem, CommitResult | undefined>((items) => this.commitMany(items), COMMIT_BATCH);

  constructor(
    private readonly db: Kysely<PeeringDb>,
    private readonly statements: PreparedStatements,
    private readonly logger: Logger | undefined,
  ) {}

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
      const peek = await findCluster(this.db, clusterId, tenantId);
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
  /** @internal Exposed for test/enrollment-decisions.test.ts. */
  async reserveFast(clusterId: string, publicKey: string, enrollmentId: string, tenantId?: string): Promise<Reservation | "slow" | "lost-race"> {
    const rows = await this.statements.run(
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
  /** @internal Exposed for test/enrollment-decisions.test.ts. */
  reserveLocked(owner: string, clusterId: string, publicKey: string, enrollmentId: string, tenantId?: string): Promise<Reservation> {
    return this.db.transaction().execute(async (trx) => {
      const tenantSubnet = await subnetRow(trx, owner, true);
      const c = await findCluster(trx, clusterId, tenantId, true);
      if (!c || !tenantSubnet) throw new ClusterNotFoundError(clusterId);
      const subnet = { tenantId: owner, cidr: formatCidr(parseCidr(tenantSubnet.cidr)), hubIp: tenantSubnet.hub_ip };
      const facts = await sql<ReserveFacts>`
        select exists (select 1 from enrollments where enrollment_id = ${enrollmentId}) as "enrollmentUsed",
               exists (select 1 from clusters where id <> ${clusterId}::uuid and (public_key = ${publicKey} or pending_public_key = ${publicKey})) as "keyInUse"`.execute(trx);
      switch (decideReserve(c, enrollmentId, publicKey, facts.rows[0]!)) {
        case "pending-replay":
        case "committed-replay":
          return { cluster: c, subnet };
        case "key-mismatch":
          throw new EnrollmentKeyMismatchError();
        case "busy":
          throw new EnrollmentInProgressError();
        case "enrollment-used":
          throw new EnrollmentNotPendingError(enrollmentId);
        case "key-in-use":
          throw new PublicKeyInUseError();
        case "reserve":
          break;
      }

      let tunnelIp = c.tunnelIp;
      const newAddress = tunnelIp === null;
      if (newAddress) {
        const block = parseCidr(tenantSubnet.cidr);
        const hub = parseIpv4(tenantSubnet.hub_ip)!;
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
        const c = await findCluster(trx, clusterId, opts.tenantId, true);
        if (!c) throw new ClusterNotFoundError(clusterId);
        const tenantSubnet = (await subnetRow(trx, c.tenantId))!;
        const subnet = { tenantId: c.tenantId, cidr: formatCidr(parseCidr(tenantSubnet.cidr)), hubIp: tenantSubnet.hub_ip };
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
        const after = (await findCluster(trx, clusterId))!;
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
    const rows = await this.statements.run(
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
      rows = await this.statements.run("peering_commit_batch", commitBatchStatement, [
        unique.map((it) => it.clusterId),
        unique.map((it) => it.enrollmentId),
        unique.map((it) => it.tenantId ?? null),
      ]);
    } catch (err) {
      this.logger?.warn({ err, size: unique.length }, "commit batch failed; committing its enrollments one by one");
      return Promise.all(items.map((it) => settle(this.commitFast(it.clusterId, it.enrollmentId, it.tenantId))));
    }
    this.logger?.debug({ size: unique.length, committed: rows.length }, "commit batch");
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
        const c = await findCluster(trx, clusterId, opts.tenantId, true);
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
}
