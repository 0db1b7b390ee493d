import type { Kysely } from "kysely";
import { storeError, type PgPool } from "@daalu/runtime";
import { Gate } from "./gate.js";
import type { InviteDb, InviteRow } from "./schema.js";

export type { InviteRow } from "./schema.js";

/** What a new invite row needs (everything else starts null). */
export interface NewInviteRow {
  id: string;
  tenantId: string;
  clusterId: string;
  clusterName: string;
  selector: string;
  verifierHash: Buffer;
  createdAt: Date;
  expiresAt: Date;
  createdBy: string;
  regeneratedFrom: string | null;
}

export const LIST_LIMIT = 1000;

/**
 * The invite schema's queries. Every method is one statement (one round trip);
 * `transaction` hands the callback a store bound to one connection, and pg
 * errors are translated here so callers only see DaaluErrors.
 */
export class InviteStore {
  /**
   * `gate` (the pool's size in permits) is set on the top-level store only: a
   * store bound to a transaction already holds its connection.
   */
  constructor(
    private readonly db: Kysely<InviteDb>,
    private readonly gate?: Gate,
    private readonly pool?: PgPool,
  ) {}

  /**
   * A store whose callers queue for at most `poolSize` connections, up to
   * their deadline. `pool` is the pool under `db`, for {@link redeemTransaction}.
   */
  static gated(db: Kysely<InviteDb>, poolSize: number, pool?: PgPool): InviteStore {
    return new InviteStore(db, new Gate(poolSize), pool);
  }

  /**
   * The redemption's transaction: the invite with `selector`, row-locked
   * (concurrent redemptions of one token queue here), handed to `fn` with
   * `burn`, which marks it redeemed and commits. Returning without burning
   * commits nothing; throwing rolls back.
   *
   * With the pg pool it is two round trips instead of four: "begin; select …
   * for update" and "update …; commit" each go as one simple query (literals
   * escaped by the driver), because on this path every round trip is a pair
   * of socket syscalls on both ends while the connection is held across the
   * call to peering.
   */
  async redeemTransaction<T>(
    selector: string,
    fn: (row: InviteRow | undefined, burn: (id: string, publicKey: string, now: Date) => Promise<void>) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const pool = this.pool;
    if (!pool) return this.transaction(async (tx) => fn(await tx.lockBySelector(selector), (id, key, now) => tx.markRedeemed(id, key, now)), signal);
    return this.run(async () => {
      const client = await pool.connect();
      const lit = (v: string) => client.escapeLiteral(v);
      let finished = false;
      let broken: Error | undefined;
      try {
        const opened = (await client.query(`begin; select * from invites where selector = ${lit(selector)} for update`)) as unknown as Array<{ rows: InviteRow[] }>;
        const out = await fn(opened[1]!.rows[0], async (id, publicKey, now) => {
          const done = (await client.query(
            `update invites set redeemed_at = ${lit(now.toISOString())}, redeemed_public_key = ${lit(publicKey)} where id = ${lit(id)} and redeemed_at is null; commit`,
          )) as unknown as Array<{ rowCount: number | null }>;
          finished = true;
          if (done[0]!.rowCount !== 1) throw new Error(`invite ${id} was not pending when burned under its row lock`);
        });
        if (!finished) {
          await client.query("commit");
          finished = true;
        }
        return out;
      } catch (err) {
        if (!finished) await client.query("rollback").catch((e: Error) => (broken = e));
        throw err;
      } finally {
        client.release(broken);
      }
    }, signal);
  }

  /** Runs `fn` in one transaction (committed when it returns, rolled back when it throws). */
  async transaction<T>(fn: (tx: InviteStore) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.run(() => this.db.transaction().execute((trx) => fn(new InviteStore(trx))), signal);
  }

  /**
   * The invite with this selector, row-locked until the transaction ends:
   * concurrent redemptions of one token queue here, one at a time.
   */
  async lockBySelector(selector: string): Promise<InviteRow | undefined> {
    return this.run(() => this.db.selectFrom("invites").selectAll().where("selector", "=", selector).forUpdate().executeTakeFirst());
  }

  /** The invite, row-locked; limited to `tenantId` unless it is undefined (internal callers). */
  async lockById(id: string, tenantId: string | undefined): Promise<InviteRow | undefined> {
    return this.run(() => {
      let q = this.db.selectFrom("invites").selectAll().where("id", "=", id);
      if (tenantId !== undefined) q = q.where("tenant_id", "=", tenantId);
      return q.forUpdate().executeTakeFirst();
    });
  }

  async insert(r: NewInviteRow): Promise<InviteRow> {
    return this.run(() =>
      this.db
        .insertInto("invites")
        .values({
          id: r.id,
          tenant_id: r.tenantId,
          cluster_id: r.clusterId,
          cluster_name: r.clusterName,
          selector: r.selector,
          verifier_hash: r.verifierHash,
          created_at: r.createdAt,
          expires_at: r.expiresAt,
          created_by: r.createdBy,
          regenerated_from: r.regeneratedFrom,
        })
        .returningAll()
        .executeTakeFirstOrThrow(),
    );
  }

  /** Revokes the cluster's invites that are still pending at `now`; returns their ids. */
  async revokePendingForCluster(tenantId: string, clusterId: string, now: Date): Promise<string[]> {
    const rows = await this.run(() =>
      this.db
        .updateTable("invites")
        .set({ revoked_at: now })
        .where("tenant_id", "=", tenantId)
        .where("cluster_id", "=", clusterId)
        .where("redeemed_at", "is", null)
        .where("revoked_at", "is", null)
        .where("expires_at", ">", now)
        .returning("id")
        .execute(),
    );
    return rows.map((r) => r.id);
  }

  async markRedeemed(id: string, publicKey: string, now: Date): Promise<void> {
    await this.run(() => this.db.updateTable("invites").set({ redeemed_at: now, redeemed_public_key: publicKey }).where("id", "=", id).where("redeemed_at", "is", null).executeTakeFirstOrThrow());
  }

  async markRevoked(id: string, now: Date): Promise<InviteRow> {
    return this.run(() => this.db.updateTable("invites").set({ revoked_at: now }).where("id", "=", id).returningAll().executeTakeFirstOrThrow());
  }

  /** The tenant's invites, newest first. */
  async list(tenantId: string, clusterId: string | undefined, signal?: AbortSignal): Promise<InviteRow[]> {
    return this.run(() => {
      let q = this.db.selectFrom("invites").selectAll().where("tenant_id", "=", tenantId);
      if (clusterId !== undefined) q = q.where("cluster_id", "=", clusterId);
      return q.orderBy("created_at", "desc").orderBy("id").limit(LIST_LIMIT).execute();
    }, signal);
  }

  private async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      return await (this.gate ? this.gate.run(fn, signal) : fn());
    } catch (err) {
      throw storeError(err);
    }
  }
}
