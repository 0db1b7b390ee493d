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
};
