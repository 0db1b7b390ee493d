import { sql, type Migration } from "@daalu/runtime";

/**
 * Append-only migrations of the `audit` schema (never renamed or reordered).
 * Tables are created unqualified: the pool's search_path puts `audit` first.
 */
export const migrations: Record<string, Migration> = {
  "202611220000_calls_and_usage": {
    async up(db) {
      // id is the publisher's UUID: the primary key makes redelivery a no-op (ON CONFLICT DO NOTHING).
      await sql`
        create table calls (
          id uuid primary key,
          tenant_id text not null,
          cluster_id text not null,
          caller_kind smallint not null,
          caller_id text not null,
          verb text not null,
          resource text not null,
          namespace text not null,
          name text not null,
          path text not null,
          subresource text not null,
          api_group text not null,
          status_code integer not null,
          ok boolean not null,
          error text not null,
          latency_ms bigint not null,
          bytes_in bigint not null,
          bytes_out bigint not null,
          trace_id text not null,
          time timestamptz not null,
          received_at timestamptz not null default now()
        )`.execute(db);
      // QueryCalls walks (time desc, id desc) within a tenant, optionally within a cluster.
      await sql`create index calls_tenant_time on calls (tenant_id, time desc, id desc)`.execute(db);
      await sql`create index calls_tenant_cluster_time on calls (tenant_id, cluster_id, time desc, id desc)`.execute(db);
      // Metering: one row per tenant, cluster and UTC hour; days are summed from hours at query time.
      await sql`
        create table usage_hourly (
          tenant_id text not null,
          cluster_id text not null,
          hour timestamptz not null,
          calls bigint not null,
          errors bigint not null,
          bytes_in bigint not null,
          bytes_out bigint not null,
          primary key (tenant_id, cluster_id, hour)
        )`.execute(db);
    },
  },
};
