import { createDb, migrateToLatest, TENANT_ID_PATTERN, type Logger } from "@daalu/runtime";
import type { Kysely } from "kysely";
import { migrations } from "./adapters/pg/migrations.js";
import { GatewayStore, SCHEMA, type GatewayDb, type Tenant } from "./adapters/pg/store.js";
import { apiTokens, CALLER_KINDS, ROLES, type CallerKindName, type Role } from "./domain/api-token.js";
import { InvalidTenantError } from "./errors.js";

/**
 * Tenant and API-token administration, shared by the CLI, the devhub, the
 * benchmarks and tests.
 */

/** Opens the gateway schema (migrated) on `databaseUrl`; `close()` when done. */
export async function openGatewayStore(databaseUrl: string, opts: { poolSize?: number; logger?: Logger } = {}): Promise<GatewayStore & { close(): Promise<void> }> {
  const db: Kysely<GatewayDb> = createDb<GatewayDb>({ url: databaseUrl, schema: SCHEMA, poolSize: opts.poolSize ?? 2, logger: opts.logger });
  try {
    await migrateToLatest(db as Kysely<unknown>, SCHEMA, migrations, opts.logger);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  const store = new GatewayStore(db) as GatewayStore & { close(): Promise<void> };
  store.close = () => db.destroy();
  return store;
}

export async function createTenant(store: GatewayStore, id: string, name?: string): Promise<Tenant> {
  if (!TENANT_ID_PATTERN.test(id)) throw new InvalidTenantError(`tenant id must match ${TENANT_ID_PATTERN.source}, got "${id}"`);
  const n = name ?? id;
  if (n.length > 200) throw new InvalidTenantError("tenant name is longer than 200 characters");
  return store.createTenant(id, n);
}

/** Creates the tenant unless it exists. */
export async function ensureTenant(store: GatewayStore, id: string, name?: string): Promise<Tenant> {
  return (await store.getTenant(id)) ?? createTenant(store, id, name);
}

export interface CreatedApiToken {
  id: string;
  tenantId: string;
  name: string;
  role: Role;
  kind: CallerKindName;
  /** The only copy of the secret. */
  token: string;
}

export async function createApiToken(
  store: GatewayStore,
  tenantId: string,
  name: string,
  opts: { role?: Role; kind?: CallerKindName } = {},
): Promise<CreatedApiToken> {
  const role = opts.role ?? "admin";
  const kind = opts.kind ?? "user";
  if (!ROLES.includes(role)) throw new InvalidTenantError(`role must be one of ${ROLES.join(", ")}`);
  if (!CALLER_KINDS.includes(kind)) throw new InvalidTenantError(`kind must be one of ${CALLER_KINDS.join(", ")}`);
  if (!/^[A-Za-z0-9._@-]{1,100}$/.test(name)) throw new InvalidTenantError("token name must be 1-100 characters of A-Z a-z 0-9 . _ @ -");
  const t = apiTokens.generate();
  const row = await store.insertToken({ tenantId, name, role, callerKind: kind, selector: t.selector, verifierHash: t.verifierHash });
  return { id: row.id, tenantId, name, role, kind, token: t.token };
}

export async function revokeApiToken(store: GatewayStore, id: string): Promise<void> {
  await store.revokeToken(id);
}
