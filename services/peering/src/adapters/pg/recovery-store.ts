/** The recovery sweep's claims on stale pending enrollments. */
import { sql, storeError } from "@daalu/runtime";
import type { Kysely } from "kysely";
import type { StalePending } from "./rows.js";
import type { PeeringDb } from "./schema.js";

export class RecoveryStore {
  constructor(private readonly db: Kysely<PeeringDb>) {}

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
}
