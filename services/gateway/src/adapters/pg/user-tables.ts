import type { Generated } from "kysely";
import type { Role } from "../../domain/api-token.js";

/** The sign-in tables (migration 202612021700_users_and_sessions). */
export interface UserTables {
  users: UsersTable;
  sessions: SessionsTable;
  cli_auth_codes: CliAuthCodesTable;
  oidc_logins: OidcLoginsTable;
}

interface UsersTable {
  id: Generated<string>;
  tenant_id: string;
  username: string;
  display_name: string;
  password_hash: string | null;
  role: Role;
  oidc_issuer: string | null;
  oidc_subject: string | null;
  created_at: Generated<Date>;
  disabled_at: Date | null;
}

interface SessionsTable {
  /** sha256 of the session secret (the cookie's value). */
  id: Buffer;
  user_id: string;
  created_at: Date;
  expires_at: Date;
  last_seen_at: Date;
  revoked_at: Date | null;
}

interface CliAuthCodesTable {
  /** sha256 of the code. */
  id: Buffer;
  user_id: string;
  code_challenge: string;
  redirect_uri: string;
  created_at: Date;
  expires_at: Date;
  used_at: Date | null;
}

interface OidcLoginsTable {
  /** sha256 of the key in the browser's daalu_oidc cookie. */
  id: Buffer;
  state: string;
  nonce: string;
  code_verifier: string;
  return_to: string;
  expires_at: Date;
}
