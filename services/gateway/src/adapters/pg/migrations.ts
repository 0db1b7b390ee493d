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
  // Sign-in (docs/security.md): local and OIDC users, browser sessions (only sha256 of the secret),
  // single-use codes of the CLI's browser login, and the state of OIDC logins in flight.
  "202612021700_users_and_sessions": {
    async up(db: Kysely<unknown>) {
      await sql`
        create table users (
          id uuid primary key default gen_random_uuid(),
          tenant_id text not null references tenants(id) on delete cascade,
          username text not null check (username ~ '^[a-z0-9][a-z0-9._@-]{0,63}$'),
          display_name text not null,
          password_hash text,
          role text not null check (role in ('admin', 'operator', 'viewer')),
          oidc_issuer text,
          oidc_subject text,
          created_at timestamptz not null default now(),
          disabled_at timestamptz,
          unique (tenant_id, username),
          unique (tenant_id, oidc_issuer, oidc_subject),
          check ((oidc_issuer is null) = (oidc_subject is null))
        )`.execute(db);
      await sql`
        create table sessions (
          id bytea primary key,
          user_id uuid not null references users(id) on delete cascade,
          created_at timestamptz not null,
          expires_at timestamptz not null,
          last_seen_at timestamptz not null,
          revoked_at timestamptz
        )`.execute(db);
      await sql`create index sessions_user on sessions (user_id)`.execute(db);
      await sql`create index sessions_expires on sessions (expires_at)`.execute(db);
      await sql`
        create table cli_auth_codes (
          id bytea primary key,
          user_id uuid not null references users(id) on delete cascade,
          code_challenge text not null,
          redirect_uri text not null,
          created_at timestamptz not null,
          expires_at timestamptz not null,
          used_at timestamptz
        )`.execute(db);
      await sql`
        create table oidc_logins (
          id bytea primary key,
          state text not null,
          nonce text not null,
          code_verifier text not null,
          return_to text not null,
          expires_at timestamptz not null
        )`.execute(db);
    },
  },
  // The API tokens a user's `daalu login` obtained (POST /v1/auth/cli/token) name the user:
  // disabling the user revokes them with its sessions.
  "202612022100_api_tokens_user": {
    async up(db: Kysely<unknown>) {
      await sql`alter table api_tokens add column user_id uuid references users(id) on delete cascade`.execute(db);
      await sql`create index api_tokens_user on api_tokens (user_id) where user_id is not null`.execute(db);
    },
  },
};
