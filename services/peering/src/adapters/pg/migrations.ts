/**
 * Append-only migrations of the `peering` schema. Never edit or reorder an
 * entry; add a new one.
 */
import { sql, type Migration } from "@daalu/runtime";
import { clusterAlertsMigration } from "./health-store.js";
import { hubNodesMigration } from "./home-store.js";
import { clusterRbacMigration } from "./rbac-store.js";
import { clusterTransitionsMigration } from "./transition-store.js";

export const migrations: Record<string, Migration> = {
  "202611212350_subnets_clusters_addresses": {
    async up(db) {
      // One subnet per tenant; the exclusion constraint (built-in GiST inet_ops)
      // makes overlapping tenant subnets impossible, however concurrent.
      await sql`
        create table tenant_subnets (
          tenant_id text primary key,
          cidr cidr not null,
          hub_ip inet not null,
          created_at timestamptz not null default now(),
          updated_at timestamptz not null default now(),
          constraint tenant_subnets_ipv4 check (family(cidr) = 4 and family(hub_ip) = 4 and masklen(hub_ip) = 32),
          constraint tenant_subnets_hub_inside check (hub_ip << cidr),
          constraint tenant_subnets_no_overlap exclude using gist (cidr inet_ops with &&)
        )`.execute(db);
      await sql`
        create table clusters (
          id uuid primary key default gen_random_uuid(),
          tenant_id text not null references tenant_subnets (tenant_id),
          name text not null,
          public_key text,
          status text not null default 'pending_enrollment',
          status_since timestamptz not null default now(),
          last_handshake timestamptz,
          edge_version text not null default '',
          api_reachable boolean not null default false,
          diagnostic text not null default '',
          created_at timestamptz not null default now(),
          enrolled_at timestamptz,
          last_enrollment_id text,
          pending_enrollment_id text,
          pending_public_key text,
          pending_new_address boolean not null default false,
          pending_since timestamptz,
          recovery_claimed_at timestamptz,
          constraint clusters_tenant_name unique (tenant_id, name),
          constraint clusters_public_key unique (public_key),
          constraint clusters_pending_public_key unique (pending_public_key),
          constraint clusters_id_tenant unique (id, tenant_id),
          constraint clusters_status check (status in ('pending_enrollment', 'awaiting_handshake', 'connected', 'disconnected', 'error')),
          constraint clusters_pending_complete check (
            (pending_enrollment_id is null) = (pending_public_key is null)
            and (pending_enrollment_id is null) = (pending_since is null))
        )`.execute(db);
      await sql`create index clusters_pending_since on clusters (pending_since) where pending_enrollment_id is not null`.execute(db);
      // The primary key on ip is what makes a double allocation impossible,
      // across tenants too (their subnets never overlap). The composite foreign
      // key keeps an address in its cluster's tenant and returns it to the pool
      // when the cluster row is deleted.
      await sql`
        create table addresses (
          ip inet primary key,
          tenant_id text not null,
          cluster_id uuid not null,
          constraint addresses_cluster unique (cluster_id),
          constraint addresses_cluster_fk foreign key (cluster_id, tenant_id) references clusters (id, tenant_id) on delete cascade,
          constraint addresses_host check (family(ip) = 4 and masklen(ip) = 32)
        )`.execute(db);
      await sql`create index addresses_tenant on addresses (tenant_id)`.execute(db);
      // Every committed enrollment (invite id), so a late replay of an old,
      // superseded invite can never bring its key back.
      await sql`
        create table enrollments (
          enrollment_id text primary key,
          cluster_id uuid not null references clusters (id) on delete cascade,
          public_key text not null,
          committed_at timestamptz not null default now()
        )`.execute(db);
      await sql`create index enrollments_cluster on enrollments (cluster_id)`.execute(db);
      await sql`
        create table hub_identity (
          id smallint primary key default 1 check (id = 1),
          private_key text not null,
          public_key text not null,
          created_at timestamptz not null default now()
        )`.execute(db);
    },
  },
  // The hub WireGuard node's critical alerts (health-store.ts).
  "202611220000_cluster_alerts": clusterAlertsMigration,
  // Hub addresses move out of tenant subnets into their own pool, so a /24
  // holds 254 clusters. Existing subnets keep their in-subnet hub address.
  "202611220030_hub_addresses_outside_subnets": {
    async up(db) {
      await sql`alter table tenant_subnets drop constraint tenant_subnets_hub_inside`.execute(db);
      await sql`alter table tenant_subnets add constraint tenant_subnets_hub_ip unique (hub_ip)`.execute(db);
    },
  },
  // The hub's private key is sealed with envelope encryption (keyring.ts): a
  // data key per row wrapped by a key-encryption key. Rows from before are
  // sealed by the next start (hub-identity-store.ts); a row holds exactly one form.
  "202611230000_hub_identity_sealed": {
    async up(db) {
      await sql`
        alter table hub_identity
          alter column private_key drop not null,
          add column kek_id text,
          add column wrapped_dek bytea,
          add column private_key_sealed bytea,
          add constraint hub_identity_one_form check (
            (private_key is null) = (private_key_sealed is not null)
            and (private_key_sealed is null) = (kek_id is null)
            and (kek_id is null) = (wrapped_dek is null))`.execute(db);
    },
  },
  // Every change of a cluster's status, the last 500 per cluster (transition-store.ts).
  "202612021700_cluster_transitions": clusterTransitionsMigration,
  // RBAC widening: requested scopes, the edge's effective rules, confirmation (rbac-store.ts).
  "202612030500_cluster_rbac": clusterRbacMigration,
  // Several hub nodes: their heartbeats and each cluster's home node (home-store.ts).
  "202612030800_hub_nodes_homes": hubNodesMigration,
};
