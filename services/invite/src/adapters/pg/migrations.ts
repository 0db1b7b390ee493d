import { sql, type Migration } from "@daalu/runtime";
import type { Kysely } from "kysely";

/**
 * Append-only migrations of the `invite` schema. Never rename, reorder or edit
 * one that has shipped; add a new one instead.
 */
export const migrations: Record<string, Migration> = {
  "202501010000_create_invites": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("invites")
        .addColumn("id", "uuid", (c) => c.primaryKey())
        .addColumn("tenant_id", "text", (c) => c.notNull())
        .addColumn("cluster_id", "uuid", (c) => c.notNull())
        .addColumn("cluster_name", "text", (c) => c.notNull())
        // The lookup half of the token: unique, grants nothing by itself.
        .addColumn("selector", "text", (c) => c.notNull().unique())
        // sha256 of the secret half; the token itself is never stored.
        .addColumn("verifier_hash", "bytea", (c) => c.notNull().check(sql`octet_length(verifier_hash) = 32`))
        .addColumn("created_at", "timestamptz", (c) => c.notNull())
        .addColumn("expires_at", "timestamptz", (c) => c.notNull())
        .addColumn("redeemed_at", "timestamptz")
        .addColumn("redeemed_public_key", "text")
        .addColumn("revoked_at", "timestamptz")
        .addColumn("created_by", "text", (c) => c.notNull())
        .addColumn("regenerated_from", "uuid", (c) => c.references("invites.id"))
        .addCheckConstraint("invites_redeemed_has_key", sql`(redeemed_at is null) = (redeemed_public_key is null)`)
        .execute();
      await db.schema.createIndex("invites_tenant_created").on("invites").columns(["tenant_id", "created_at desc"]).execute();
      // Finding a cluster's pending invites (to revoke them when a new one is made).
      await db.schema.createIndex("invites_cluster_open").on("invites").column("cluster_id").where(sql.ref("redeemed_at"), "is", null).execute();
    },
  },
};
