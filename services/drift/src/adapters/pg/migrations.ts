import { sql, type Migration } from "@daalu/runtime";
import type { Kysely } from "kysely";

/**
 * Append-only migrations of the `drift` schema. Never rename, reorder or edit
 * one that has shipped; add a new one instead.
 */
export const migrations: Record<string, Migration> = {
  "202612022100_create_bundles": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("bundles")
        .addColumn("tenant_id", "text", (c) => c.notNull())
        .addColumn("cluster_id", "uuid", (c) => c.notNull())
        .addColumn("version", "integer", (c) => c.notNull().check(sql`version > 0`))
        .addColumn("digest", "text", (c) => c.notNull().check(sql`digest ~ '^[0-9a-f]{64}$'`))
        .addColumn("objects", "jsonb", (c) => c.notNull())
        .addColumn("object_count", "integer", (c) => c.notNull())
        .addColumn("size_bytes", "integer", (c) => c.notNull())
        .addColumn("uploaded_by", "text", (c) => c.notNull())
        .addColumn("uploaded_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint("bundles_pk", ["tenant_id", "cluster_id", "version"])
        .execute();
    },
  },
  "202612030400_reconciliation_and_reports": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("reconciliation")
        .addColumn("tenant_id", "text", (c) => c.notNull())
        .addColumn("cluster_id", "uuid", (c) => c.notNull())
        .addColumn("enabled", "boolean", (c) => c.notNull())
        .addColumn("interval_seconds", "integer", (c) => c.notNull().check(sql`interval_seconds > 0`))
        .addColumn("ignore", "jsonb", (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
        .addColumn("updated_by", "text", (c) => c.notNull())
        .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn("next_due_at", "timestamptz", (c) => c.notNull())
        .addPrimaryKeyConstraint("reconciliation_pk", ["tenant_id", "cluster_id"])
        .execute();
      // The scheduler's claim: enabled clusters by due time.
      await sql`create index reconciliation_due on reconciliation (next_due_at) where enabled`.execute(db);
      await db.schema
        .createTable("reports")
        .addColumn("tenant_id", "text", (c) => c.notNull())
        .addColumn("cluster_id", "uuid", (c) => c.notNull())
        .addColumn("bundle_version", "integer", (c) => c.notNull())
        .addColumn("trigger", "text", (c) => c.notNull())
        .addColumn("started_at", "timestamptz", (c) => c.notNull())
        .addColumn("finished_at", "timestamptz", (c) => c.notNull())
        .addColumn("in_sync", "integer", (c) => c.notNull())
        .addColumn("modified", "integer", (c) => c.notNull())
        .addColumn("missing", "integer", (c) => c.notNull())
        .addColumn("unknown", "integer", (c) => c.notNull())
        .addColumn("reads", "integer", (c) => c.notNull())
        .addColumn("drifted", "boolean", (c) => c.notNull())
        .addColumn("objects", "jsonb", (c) => c.notNull())
        .addPrimaryKeyConstraint("reports_pk", ["tenant_id", "cluster_id"])
        .execute();
    },
  },
};
