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
  "202612030000_sessions": {
    async up(db) {
      // Sessions (exec, attach, port-forward): the start record's row, completed in place by the end record.
      // session_phase: 0 not a session, 1 started, 2 ended.
      await sql`
        alter table calls
          add column session_phase smallint not null default 0,
          add column session_command text[] not null default '{}',
          add column session_container text not null default '',
          add column session_ports text[] not null default '{}',
          add column session_ended_at timestamptz,
          add column session_close_reason text not null default ''`.execute(db);
    },
  },
  "202612030100_session_exit_and_metering": {
    async up(db) {
      // How an exec/attach command ended (the error channel's Status): '' when none was seen; the code with it.
      await sql`
        alter table calls
          add column session_exit_status text not null default '',
          add column session_exit_code integer`.execute(db);
      // Metering: sessions started per tenant, cluster and hour (each is also one of calls).
      await sql`alter table usage_hourly add column sessions bigint not null default 0`.execute(db);
    },
  },
  "202612030200_session_owner": {
    async up(db) {
      // The tunnel-proxy process that carries a session (its start record's hub_instance; '' before this column):
      // when its heartbeats stop, its open rows become session_phase 3 (interrupted) — see session-sweeper.ts.
      await sql`alter table calls add column session_owner text not null default ''`.execute(db);
      // The sweeper asks which owners have open rows: only open sessions are indexed, so the index stays small.
      await sql`create index calls_open_session_owner on calls (session_owner) where session_phase = 1`.execute(db);
    },
  },
};
