import type { Kysely, Selectable } from "kysely";
import { isUniqueViolation, storeError } from "@daalu/runtime";
import type { Role } from "../../domain/api-token.js";
import { TenantNotFoundError, UsernameTakenError } from "../../errors.js";
import type { GatewayDb } from "./store.js";
import type { UserTables } from "./user-tables.js";

export interface UserRow {
  id: string;
  tenantId: string;
  username: string;
  displayName: string;
  passwordHash: string | null;
  role: Role;
  oidcIssuer: string | null;
  oidcSubject: string | null;
  createdAt: Date;
  disabledAt: Date | null;
}

export interface SessionRow {
  createdAt: Date;
  expiresAt: Date;
  lastSeenAt: Date;
  revokedAt: Date | null;
}

export interface CliCodeRow {
  userId: string;
  codeChallenge: string;
  redirectUri: string;
  expiresAt: Date;
}

export interface OidcLoginRow {
  state: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
  expiresAt: Date;
}

type UserRecord = Selectable<UserTables["users"]>;

/**
 * Users, sessions, the CLI's single-use login codes and OIDC logins in
 * flight. Secrets are stored only as sha256 (session and code ids) or as a
 * memory-hard KDF hash (passwords). Times come from the caller's clock.
 */
export class UserStore {
  constructor(private readonly db: Kysely<GatewayDb>) {}

  async insertUser(u: { tenantId: string; username: string; displayName: string; passwordHash: string | null; role: Role }): Promise<UserRow> {
    try {
      const r = await this.db
        .insertInto("users")
        .values({ tenant_id: u.tenantId, username: u.username, display_name: u.displayName, password_hash: u.passwordHash, role: u.role, oidc_issuer: null, oidc_subject: null, disabled_at: null })
        .returningAll()
        .executeTakeFirstOrThrow();
      return userRow(r);
    } catch (err) {
      throw userWriteError(err, u.tenantId, u.username);
    }
  }

  /**
   * The user an OIDC identity (issuer + subject) signs in as, created on first
   * login; the role and display name follow the IdP on every login.
   */
  async upsertOidcUser(u: { tenantId: string; issuer: string; subject: string; username: string; displayName: string; role: Role }): Promise<UserRow> {
    try {
      const r = await this.db
        .insertInto("users")
        .values({ tenant_id: u.tenantId, username: u.username, display_name: u.displayName, password_hash: null, role: u.role, oidc_issuer: u.issuer, oidc_subject: u.subject, disabled_at: null })
        .onConflict((oc) => oc.columns(["tenant_id", "oidc_issuer", "oidc_subject"]).doUpdateSet({ role: u.role, display_name: u.displayName }))
        .returningAll()
        .executeTakeFirstOrThrow();
      return userRow(r);
    } catch (err) {
      throw userWriteError(err, u.tenantId, u.username);
    }
  }

  async userByName(tenantId: string, username: string): Promise<UserRow | undefined> {
    try {
      const r = await this.db.selectFrom("users").selectAll().where("tenant_id", "=", tenantId).where("username", "=", username).executeTakeFirst();
      return r && userRow(r);
    } catch (err) {
      throw storeError(err);
    }
  }

  async userById(id: string): Promise<UserRow | undefined> {
    try {
      const r = await this.db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
      return r && userRow(r);
    } catch (err) {
      throw storeError(err);
    }
  }

  /** Disables the user and revokes its sessions and the API tokens its CLI logins obtained; false when there is no such user. */
  async disableUser(tenantId: string, username: string, at: Date): Promise<boolean> {
    try {
      return await this.db.transaction().execute(async (tx) => {
        const u = await tx.updateTable("users").set({ disabled_at: at }).where("tenant_id", "=", tenantId).where("username", "=", username).returning("id").executeTakeFirst();
        if (!u) return false;
        await tx.updateTable("sessions").set({ revoked_at: at }).where("user_id", "=", u.id).where("revoked_at", "is", null).execute();
        await tx.updateTable("api_tokens").set({ revoked_at: at }).where("user_id", "=", u.id).where("revoked_at", "is", null).execute();
        return true;
      });
    } catch (err) {
      throw storeError(err);
    }
  }

  async insertSession(s: { id: Buffer; userId: string; createdAt: Date; expiresAt: Date }): Promise<void> {
    try {
      await this.db.insertInto("sessions").values({ id: s.id, user_id: s.userId, created_at: s.createdAt, expires_at: s.expiresAt, last_seen_at: s.createdAt, revoked_at: null }).execute();
    } catch (err) {
      throw storeError(err);
    }
  }

  /** A session and its user, by sha256 of the secret. */
  async sessionById(id: Buffer): Promise<{ session: SessionRow; user: UserRow } | undefined> {
    try {
      const r = await this.db
        .selectFrom("sessions as s")
        .innerJoin("users as u", "u.id", "s.user_id")
        .selectAll("u")
        .select(["s.created_at as s_created_at", "s.expires_at as s_expires_at", "s.last_seen_at as s_last_seen_at", "s.revoked_at as s_revoked_at"])
        .where("s.id", "=", id)
        .executeTakeFirst();
      if (!r) return undefined;
      return { session: { createdAt: r.s_created_at, expiresAt: r.s_expires_at, lastSeenAt: r.s_last_seen_at, revokedAt: r.s_revoked_at }, user: userRow(r) };
    } catch (err) {
      throw storeError(err);
    }
  }

  async touchSession(id: Buffer, at: Date): Promise<void> {
    try {
      await this.db.updateTable("sessions").set({ last_seen_at: at }).where("id", "=", id).where("last_seen_at", "<", at).execute();
    } catch (err) {
      throw storeError(err);
    }
  }

  async revokeSession(id: Buffer, at: Date): Promise<void> {
    try {
      await this.db.updateTable("sessions").set({ revoked_at: at }).where("id", "=", id).where("revoked_at", "is", null).execute();
    } catch (err) {
      throw storeError(err);
    }
  }

  /** Housekeeping: forgets sessions, CLI codes and OIDC logins that ended before `now`; the number of rows. */
  async deleteEnded(now: Date): Promise<number> {
    try {
      const s = await this.db.deleteFrom("sessions").where((eb) => eb.or([eb("expires_at", "<", now), eb("revoked_at", "<", now)])).executeTakeFirst();
      const c = await this.db.deleteFrom("cli_auth_codes").where("expires_at", "<", now).executeTakeFirst();
      const o = await this.db.deleteFrom("oidc_logins").where("expires_at", "<", now).executeTakeFirst();
      return Number(s.numDeletedRows + c.numDeletedRows + o.numDeletedRows);
    } catch (err) {
      throw storeError(err);
    }
  }

  async insertCliCode(c: { id: Buffer; userId: string; codeChallenge: string; redirectUri: string; createdAt: Date; expiresAt: Date }): Promise<void> {
    try {
      await this.db
        .insertInto("cli_auth_codes")
        .values({ id: c.id, user_id: c.userId, code_challenge: c.codeChallenge, redirect_uri: c.redirectUri, created_at: c.createdAt, expires_at: c.expiresAt, used_at: null })
        .execute();
    } catch (err) {
      throw storeError(err);
    }
  }

  /** Marks the code used and returns it, exactly once: a second call (or a concurrent one) gets undefined. */
  async consumeCliCode(id: Buffer, at: Date): Promise<CliCodeRow | undefined> {
    try {
      const r = await this.db
        .updateTable("cli_auth_codes")
        .set({ used_at: at })
        .where("id", "=", id)
        .where("used_at", "is", null)
        .returning(["user_id", "code_challenge", "redirect_uri", "expires_at"])
        .executeTakeFirst();
      return r && { userId: r.user_id, codeChallenge: r.code_challenge, redirectUri: r.redirect_uri, expiresAt: r.expires_at };
    } catch (err) {
      throw storeError(err);
    }
  }

  async insertOidcLogin(l: { id: Buffer } & OidcLoginRow): Promise<void> {
    try {
      await this.db
        .insertInto("oidc_logins")
        .values({ id: l.id, state: l.state, nonce: l.nonce, code_verifier: l.codeVerifier, return_to: l.returnTo, expires_at: l.expiresAt })
        .execute();
    } catch (err) {
      throw storeError(err);
    }
  }

  /** Deletes and returns the login in flight: its state, nonce and verifier serve one callback. */
  async takeOidcLogin(id: Buffer): Promise<OidcLoginRow | undefined> {
    try {
      const r = await this.db.deleteFrom("oidc_logins").where("id", "=", id).returningAll().executeTakeFirst();
      return r && { state: r.state, nonce: r.nonce, codeVerifier: r.code_verifier, returnTo: r.return_to, expiresAt: r.expires_at };
    } catch (err) {
      throw storeError(err);
    }
  }
}

/** The tenant is missing, or (tenant, username) belongs to another user: accounts are never merged by name. */
function userWriteError(err: unknown, tenantId: string, username: string): Error {
  if ((err as { code?: string }).code === "23503") return new TenantNotFoundError(tenantId);
  if (isUniqueViolation(err)) return new UsernameTakenError(username);
  return storeError(err);
}

function userRow(r: UserRecord): UserRow {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    username: r.username,
    displayName: r.display_name,
    passwordHash: r.password_hash,
    role: r.role,
    oidcIssuer: r.oidc_issuer,
    oidcSubject: r.oidc_subject,
    createdAt: r.created_at,
    disabledAt: r.disabled_at,
  };
}
