import { Kysely, Migrator, PostgresDialect, sql, type Migration } from "kysely";
import pg from "pg";
import type { Logger } from "pino";
import { Code, DaaluError } from "./errors.js";
import { trackPool } from "./metrics.js";

export type { Migration } from "kysely";
export { sql } from "kysely";

export const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test";

// bigint (int8) counts come back as numbers; they stay far below 2^53 here.
pg.types.setTypeParser(20, (v) => Number(v));

export interface DbOptions {
  url: string;
  /** The service's own schema; set as search_path so queries name bare tables. */
  schema: string;
  poolSize?: number;
  logger?: Logger;
}

export type PgPool = pg.Pool;

/** A pg pool whose sessions see only `schema` (plus public). */
export function createPool(opts: DbOptions): pg.Pool {
  if (!/^[a-z_][a-z0-9_]*$/.test(opts.schema)) throw new Error(`invalid schema name ${opts.schema}`);
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolSize ?? 10,
    options: `-c search_path=${opts.schema},public`,
    // Names the service's sessions in pg_stat_activity (the invites bench splits PostgreSQL's CPU by it).
    application_name: opts.schema,
    // Fail fast when the database is down rather than queueing forever.
    connectionTimeoutMillis: 5_000,
  });
  pool.on("error", (err) => opts.logger?.warn({ err }, "idle database connection failed"));
  // A checked-out client has no listener of its own: a server-side termination
  // (restart, pg_terminate_backend) between two statements of a transaction would
  // otherwise be an uncaught 'error' that kills the process. The statement in
  // hand still fails, and the pool drops the broken client on release.
  pool.on("connect", (client) => client.on("error", (err) => opts.logger?.warn({ err }, "database connection failed")));
  trackPool(pool, opts.schema);
  return pool;
}

/**
 * A Kysely instance on a pool whose sessions see only `schema` (plus public).
 * Pass `pool` (from createPool) to share it with code that needs the pg client
 * itself, e.g. for a multi-statement simple query.
 */
export function createDb<DB>(opts: DbOptions, pool: pg.Pool = createPool(opts)): Kysely<DB> {
  return new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
}

/**
 * Runs the service's append-only migrations to the latest, under an advisory
 * lock so that replicas starting together do not race.
 */
export async function migrateToLatest(db: Kysely<unknown>, schema: string, migrations: Record<string, Migration>, logger?: Logger): Promise<void> {
  await db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(hashtext(${`daalu-migrate-${schema}`}))`.execute(conn);
    try {
      await sql`create schema if not exists ${sql.id(schema)}`.execute(conn);
      const migrator = new Migrator({
        db: conn,
        migrationTableSchema: schema,
        provider: { getMigrations: async () => migrations },
      });
      const { error, results } = await migrator.migrateToLatest();
      for (const r of results ?? []) logger?.info({ migration: r.migrationName, status: r.status }, "migration");
      if (error) throw error;
    } finally {
      await sql`select pg_advisory_unlock(hashtext(${`daalu-migrate-${schema}`}))`.execute(conn);
    }
  });
}

/** The SQLSTATE of a pg error, if any. */
export function pgCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export const PG_UNIQUE_VIOLATION = "23505";
export const PG_EXCLUSION_VIOLATION = "23P01";
export const PG_SERIALIZATION_FAILURE = "40001";
export const PG_DEADLOCK = "40P01";

export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  return pgCode(err) === PG_UNIQUE_VIOLATION && (constraint === undefined || (err as { constraint?: string }).constraint === constraint);
}

/** Translates errors at the store boundary: connection trouble -> Unavailable. */
export function storeError(err: unknown): DaaluError {
  if (err instanceof DaaluError) return err;
  const code = pgCode(err);
  if (code?.startsWith("08") || code === "57P01" || code === "57P03") {
    return new DaaluError(Code.Unavailable, "database unavailable", { cause: err });
  }
  return DaaluError.from(err);
}
