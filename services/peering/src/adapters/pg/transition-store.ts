/**
 * A cluster's status history: every change of `clusters.status` (the hub
 * node's health transitions, an enrollment's commit) becomes one row of
 * `cluster_transitions`, written by a trigger in the same statement, so no
 * writer of the status can forget it and the hot commit statements stay one
 * round trip. The last {@link TRANSITIONS_KEPT} rows per cluster are kept.
 */
import { sql, storeError, type Migration } from "@daalu/runtime";
import type { Kysely } from "kysely";
import { isUuid, type ClusterStatusName } from "../../domain/cluster.js";
import type { PeeringDb } from "./schema.js";

/** Transitions kept per cluster; older ones are deleted as new ones arrive. */
export const TRANSITIONS_KEPT = 500;

/** Migration `202612021700_cluster_transitions` (listed in migrations.ts). */
export const clusterTransitionsMigration: Migration = {
  async up(db) {
    await sql`
      create table cluster_transitions (
        id bigint generated always as identity primary key,
        cluster_id uuid not null references clusters (id) on delete cascade,
        at timestamptz not null,
        from_status text not null,
        to_status text not null,
        diagnostic text not null default ''
      )`.execute(db);
    await sql`create index cluster_transitions_cluster on cluster_transitions (cluster_id, id desc)`.execute(db);
    // The bound is pruned by the same trigger: at most one row past it is ever deleted per insert.
    await sql`
      create function record_cluster_transition() returns trigger language plpgsql
      set search_path from current as $fn$
      begin
        insert into cluster_transitions (cluster_id, at, from_status, to_status, diagnostic)
        values (new.id, new.status_since, old.status, new.status, new.diagnostic);
        delete from cluster_transitions
        where cluster_id = new.id
          and id <= (select id from cluster_transitions where cluster_id = new.id order by id desc offset ${sql.lit(TRANSITIONS_KEPT)} limit 1);
        return null;
      end $fn$`.execute(db);
    await sql`
      create trigger clusters_status_transition after update of status on clusters
      for each row when (old.status is distinct from new.status)
      execute function record_cluster_transition()`.execute(db);
  },
};

export interface TransitionRecord {
  at: Date;
  from: ClusterStatusName;
  to: ClusterStatusName;
  diagnostic: string;
}

export class TransitionStore {
  constructor(private readonly db: Kysely<PeeringDb>) {}

  /** The cluster's transitions, newest first (the caller checked the cluster is the tenant's). */
  async transitionsOf(clusterId: string, limit: number): Promise<TransitionRecord[]> {
    if (!isUuid(clusterId)) return [];
    try {
      const r = await sql<{ at: Date; from_status: ClusterStatusName; to_status: ClusterStatusName; diagnostic: string }>`
        select at, from_status, to_status, diagnostic from cluster_transitions
        where cluster_id = ${clusterId}::uuid order by id desc limit ${limit}`.execute(this.db);
      return r.rows.map((x) => ({ at: x.at, from: x.from_status, to: x.to_status, diagnostic: x.diagnostic }));
    } catch (err) {
      throw storeError(err);
    }
  }
}
