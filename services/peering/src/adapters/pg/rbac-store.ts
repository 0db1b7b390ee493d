/**
 * RBAC widening per cluster (`cluster_rbac`, one row per cluster, gone with
 * it): the scopes an admin last generated a patch for, the rules the edge's
 * proxy account last reported, and when a report first showed the request
 * applied (domain/rbac.ts). The hub never applies RBAC; this only remembers.
 */
import { sql, storeError, type Migration } from "@daalu/runtime";
import type { Kysely } from "kysely";
import type { Rule } from "@daalu/rbac";
import { isApplied, type RbacState } from "../../domain/rbac.js";
import type { PeeringDb } from "./schema.js";

/** Migration `202612030500_cluster_rbac` (listed in migrations.ts). */
export const clusterRbacMigration: Migration = {
  async up(db) {
    await sql`
      create table cluster_rbac (
        cluster_id uuid primary key references clusters (id) on delete cascade,
        requested_scopes text[] not null default '{}',
        requested_custom_rules jsonb not null default '[]',
        requested_at timestamptz,
        requested_by text not null default '',
        effective_rules jsonb,
        effective_incomplete boolean not null default false,
        effective_error text not null default '',
        effective_at timestamptz,
        confirmed_at timestamptz
      )`.execute(db);
  },
};

export interface RbacRecord extends RbacState {
  clusterId: string;
  requestedBy: string;
  effectiveIncomplete: boolean;
  effectiveAt: Date | null;
  confirmedAt: Date | null;
}

interface Row {
  cluster_id: string;
  requested_scopes: string[];
  requested_custom_rules: Rule[];
  requested_at: Date | null;
  requested_by: string;
  effective_rules: Rule[] | null;
  effective_incomplete: boolean;
  effective_error: string;
  effective_at: Date | null;
  confirmed_at: Date | null;
}

const toRecord = (r: Row): RbacRecord => ({
  clusterId: r.cluster_id,
  requestedScopes: r.requested_scopes,
  requestedCustomRules: r.requested_custom_rules,
  requestedAt: r.requested_at,
  requestedBy: r.requested_by,
  effectiveRules: r.effective_rules,
  effectiveIncomplete: r.effective_incomplete,
  effectiveError: r.effective_error,
  effectiveAt: r.effective_at,
  confirmedAt: r.confirmed_at,
});

const empty = (clusterId: string): RbacRecord => ({
  clusterId,
  requestedScopes: [],
  requestedCustomRules: [],
  requestedAt: null,
  requestedBy: "",
  effectiveRules: null,
  effectiveIncomplete: false,
  effectiveError: "",
  effectiveAt: null,
  confirmedAt: null,
});

export class RbacStore {
  constructor(private readonly db: Kysely<PeeringDb>) {}

  /** The cluster's record (an empty one when nothing is stored); the caller checked the cluster is the tenant's. */
  async get(clusterId: string): Promise<RbacRecord> {
    try {
      const r = await sql<Row>`select * from cluster_rbac where cluster_id = ${clusterId}::uuid`.execute(this.db);
      return r.rows[0] ? toRecord(r.rows[0]) : empty(clusterId);
    } catch (err) {
      throw storeError(err);
    }
  }

  /** A new request: replaces the last one and clears its confirmation (the current report may confirm it at once). */
  recordRequest(clusterId: string, scopes: string[], customRules: Rule[], by: string, now: Date): Promise<RbacRecord> {
    return this.change(clusterId, (r) => ({ ...r, requestedScopes: scopes, requestedCustomRules: customRules, requestedAt: now, requestedBy: by, confirmedAt: null }), now);
  }

  /** An edge report; one older than the stored one is ignored (a slow probe must not undo a newer answer). */
  recordEffective(clusterId: string, report: { rules: Rule[]; incomplete: boolean; error: string; at: Date }): Promise<RbacRecord> {
    return this.change(
      clusterId,
      (r) => (r.effectiveAt && r.effectiveAt > report.at ? r : { ...r, effectiveRules: report.rules, effectiveIncomplete: report.incomplete, effectiveError: report.error, effectiveAt: report.at }),
      report.at,
    );
  }

  private async change(clusterId: string, f: (r: RbacRecord) => RbacRecord, now: Date): Promise<RbacRecord> {
    try {
      return await this.db.transaction().execute(async (trx) => {
        await sql`insert into cluster_rbac (cluster_id) values (${clusterId}::uuid) on conflict do nothing`.execute(trx);
        const cur = toRecord((await sql<Row>`select * from cluster_rbac where cluster_id = ${clusterId}::uuid for update`.execute(trx)).rows[0]!);
        const next = f(cur);
        if (next.confirmedAt === null && isApplied(next)) next.confirmedAt = now;
        await sql`
          update cluster_rbac set
            requested_scopes = ${next.requestedScopes}, requested_custom_rules = ${JSON.stringify(next.requestedCustomRules)}::jsonb,
            requested_at = ${next.requestedAt}, requested_by = ${next.requestedBy},
            effective_rules = ${next.effectiveRules === null ? null : JSON.stringify(next.effectiveRules)}::jsonb,
            effective_incomplete = ${next.effectiveIncomplete}, effective_error = ${next.effectiveError},
            effective_at = ${next.effectiveAt}, confirmed_at = ${next.confirmedAt}
          where cluster_id = ${clusterId}::uuid`.execute(trx);
        return next;
      });
    } catch (err) {
      throw storeError(err);
    }
  }
}
