import { createDb, migrateToLatest, TENANT_ID_PATTERN, type Logger } from "@daalu/runtime";
import type { Kysely } from "kysely";
import { migrations } from "./adapters/pg/migrations.js";
import { GatewayStore, SCHEMA, type GatewayDb, type Tenant } from "./adapters/pg/store.js";
import { apiTokens, CALLER_KINDS, ROLES, type CallerKindName, type Role } from "./domain/api-token.js";
import { InvalidTenantError, UserNotFoundError } from "./errors.js";
import { UserStore, type UserRow } from "./adapters/pg/user-store.js";
import { generatePassword, hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "./domain/password.js";
import { normalizeUsername } from "./domain/sign-in.js";

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
  opts: { role?: Role; kind?: CallerKindName; userId?: string } = {},
): Promise<CreatedApiToken> {
  const role = opts.role ?? "admin";
  const kind = opts.kind ?? "user";
  if (!ROLES.includes(role)) throw new InvalidTenantError(`role must be one of ${ROLES.join(", ")}`);
  if (!CALLER_KINDS.includes(kind)) throw new InvalidTenantError(`kind must be one of ${CALLER_KINDS.join(", ")}`);
  if (!/^[A-Za-z0-9._@:-]{1,100}$/.test(name)) throw new InvalidTenantError("token name must be 1-100 characters of A-Z a-z 0-9 . _ @ : -");
  const t = apiTokens.generate();
  const row = await store.insertToken({ tenantId, name, role, callerKind: kind, selector: t.selector, verifierHash: t.verifierHash, ...(opts.userId ? { userId: opts.userId } : {}) });
  return { id: row.id, tenantId, name, role, kind, token: t.token };
}

export async function revokeApiToken(store: GatewayStore, id: string): Promise<void> {
  await store.revokeToken(id);
}

export interface CreatedUser {
  user: UserRow;
  /** Set when the password was generated: the only copy, shown once. */
  generatedPassword?: string;
}

/**
 * Adds a local user who signs in with a password (scrypt-hashed): the given
 * one (at least 12 characters) or, without one, a generated one returned once.
 */
export async function createUser(
  store: GatewayStore,
  tenantId: string,
  username: string,
  opts: { role: Role; password?: string; displayName?: string },
): Promise<CreatedUser> {
  const name = normalizeUsername(username);
  if (!name) throw new InvalidTenantError("username must be 1-64 characters of a-z 0-9 . _ @ -, starting with a letter or digit");
  if (!ROLES.includes(opts.role)) throw new InvalidTenantError(`role must be one of ${ROLES.join(", ")}`);
  const password = opts.password ?? generatePassword();
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) throw new InvalidTenantError(`password must be ${MIN_PASSWORD_LENGTH}-${MAX_PASSWORD_LENGTH} characters`);
  const displayName = (opts.displayName ?? name).slice(0, 200);
  const user = await new UserStore(store.db).insertUser({ tenantId, username: name, displayName, passwordHash: await hashPassword(password), role: opts.role });
  return opts.password === undefined ? { user, generatedPassword: password } : { user };
}

/** Creates the user with a generated password unless the tenant has one by that name; the password when created. */
export async function ensureUser(store: GatewayStore, tenantId: string, username: string, role: Role): Promise<string | undefined> {
  if (await new UserStore(store.db).userByName(tenantId, username)) return undefined;
  return (await createUser(store, tenantId, username, { role })).generatedPassword;
}

/**
 * Disables a user: no more sign-ins; its sessions and the API tokens its `daalu
 * login` obtained are revoked at once (a gateway may accept a token for up to
 * GATEWAY_AUTH_CACHE more). Tokens made by hand (`cli.ts token create`) belong
 * to no user and stay until revoked.
 */
export async function disableUser(store: GatewayStore, tenantId: string, username: string): Promise<void> {
  const name = normalizeUsername(username) ?? username;
  if (!(await new UserStore(store.db).disableUser(tenantId, name, new Date()))) throw new UserNotFoundError(tenantId, name);
}
