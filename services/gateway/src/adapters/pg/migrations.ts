import { sql, type Kysely, type Migration } from "kysely";

/** Append-only; never rename or reorder. */
export const migrations: Record<string, Migration> = {
  "202501010000_tenants_and_api_tokens": {
    async up(db: Kysely<unknown>) {
      await sql`
        create table tenants (
          id text primary key check (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
          name text not null,
          created_at timestamptz not null default now()
        )`.execute(db);
      await sql`
        create table api_tokens (
          id uuid primary key default gen_random_uuid(),
          tenant_id text not null references tenants(id) on delete cascade,
          name text not null,
          role text not null check (role in ('admin', 'viewer')),
          caller_kind text not null default 'user' check (caller_kind in ('user', 'assistant', 'agent')),
          selector text not null unique,
          verifier_hash bytea not null,
          created_at timestamptz not null default now(),
          revoked_at timestamptz,
          last_used_at timestamptz
        )`.execute(db);
      await sql`create index api_tokens_tenant on api_tokens (tenant_id)`.execute(db);
    },
  },
  // admin ⊇ operator ⊇ viewer: operators may run the kubectl panel, not change anything.
  "202612020000_api_tokens_operator_role": {
    async up(db: Kysely<unknown>) {
      await sql`
        alter table api_tokens
          drop constraint api_tokens_role_check,
          add constraint api_tokens_role_check check (role in ('admin', 'operator', 'viewer'))`.execute(db);
    },
  },
};
