import type { Kysely } from "kysely";
import { storeError } from "@daalu/runtime";
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
  ) {}

  /** A store whose callers queue for at most `poolSize` connections, up to their deadline. */
  static gated(db: Kysely<InviteDb>, poolSize: number): InviteStore {
    return new InviteStore(db, new Gate(poolSize));
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
