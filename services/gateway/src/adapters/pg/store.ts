import { sql, type Generated, type Kysely } from "kysely";
import { isUniqueViolation, isUuid, storeError } from "@daalu/runtime";
import type { CallerKindName, Role } from "../../domain/api-token.js";
import type { UserTables } from "./user-tables.js";
import { TenantExistsError, TenantNotFoundError, TokenNotFoundError } from "../../errors.js";

interface TenantsTable {
  id: string;
  name: string;
  created_at: Generated<Date>;
}

interface ApiTokensTable {
  id: Generated<string>;
  tenant_id: string;
  name: string;
  role: Role;
  caller_kind: CallerKindName;
  selector: string;
  verifier_hash: Buffer;
  created_at: Generated<Date>;
  revoked_at: Date | null;
  last_used_at: Date | null;
  /** The user whose `daalu login` obtained the token; null for tokens made by hand (cli.ts token create). */
  user_id: Generated<string | null>;
}

export interface GatewayDb extends UserTables {
  tenants: TenantsTable;
  api_tokens: ApiTokensTable;
}

export const SCHEMA = "gateway";

export interface Tenant {
  id: string;
  name: string;
  createdAt: Date;
}

export interface ApiTokenRow {
  id: string;
  tenantId: string;
  name: string;
  role: Role;
  callerKind: CallerKindName;
  verifierHash: Buffer;
  createdAt: Date;
  revokedAt: Date | null;
}

/** The gateway's own tables: tenants and API tokens (hashes only). */
export class GatewayStore {
  constructor(readonly db: Kysely<GatewayDb>) {}

  async createTenant(id: string, name: string): Promise<Tenant> {
    try {
      const r = await this.db.insertInto("tenants").values({ id, name }).returningAll().executeTakeFirstOrThrow();
      return { id: r.id, name: r.name, createdAt: r.created_at };
    } catch (err) {
      if (isUniqueViolation(err)) throw new TenantExistsError(id);
      throw storeError(err);
    }
  }

  async getTenant(id: string): Promise<Tenant | undefined> {
    try {
      const r = await this.db.selectFrom("tenants").selectAll().where("id", "=", id).executeTakeFirst();
      return r && { id: r.id, name: r.name, createdAt: r.created_at };
    } catch (err) {
      throw storeError(err);
    }
  }

  async insertToken(t: { tenantId: string; name: string; role: Role; callerKind: CallerKindName; selector: string; verifierHash: Buffer; userId?: string }): Promise<ApiTokenRow> {
    try {
      const r = await this.db
        .insertInto("api_tokens")
        .values({ tenant_id: t.tenantId, name: t.name, role: t.role, caller_kind: t.callerKind, selector: t.selector, verifier_hash: t.verifierHash, revoked_at: null, last_used_at: null, user_id: t.userId ?? null })
        .returningAll()
        .executeTakeFirstOrThrow();
      return row(r);
    } catch (err) {
      // The foreign key names the missing tenant.
      if ((err as { code?: string }).code === "23503") throw new TenantNotFoundError(t.tenantId);
      throw storeError(err);
    }
  }

  async tokenBySelector(selector: string): Promise<ApiTokenRow | undefined> {
    try {
      const r = await this.db.selectFrom("api_tokens").selectAll().where("selector", "=", selector).executeTakeFirst();
      return r && row(r);
    } catch (err) {
      throw storeError(err);
    }
  }

  async revokeToken(id: string): Promise<ApiTokenRow> {
    if (!isUuid(id)) throw new TokenNotFoundError(id);
    try {
      const r = await this.db
        .updateTable("api_tokens")
        .set({ revoked_at: sql<Date>`coalesce(revoked_at, now())` })
        .where("id", "=", id)
        .returningAll()
        .executeTakeFirst();
      if (!r) throw new TokenNotFoundError(id);
      return row(r);
    } catch (err) {
      throw storeError(err);
    }
  }

  /** Best effort, throttled by the caller: last_used_at is informational. */
  async touchToken(id: string): Promise<void> {
    try {
      await this.db.updateTable("api_tokens").set({ last_used_at: sql<Date>`now()` }).where("id", "=", id).execute();
    } catch (err) {
      throw storeError(err);
    }
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }
}

function row(r: { id: string; tenant_id: string; name: string; role: Role; caller_kind: CallerKindName; verifier_hash: Buffer; created_at: Date; revoked_at: Date | null }): ApiTokenRow {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    name: r.name,
    role: r.role,
    callerKind: r.caller_kind,
    verifierHash: r.verifier_hash,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
  };
}
