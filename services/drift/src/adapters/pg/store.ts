import { createHash } from "node:crypto";
import { isUniqueViolation, sql } from "@daalu/runtime";
import type { Kysely } from "kysely";
import type { DesiredObject } from "../../domain/bundle.js";
import type { DriftDb } from "./schema.js";

export interface StoredBundle {
  clusterId: string;
  version: number;
  digest: string;
  objectCount: number;
  sizeBytes: number;
  uploadedBy: string;
  uploadedAt: Date;
}

/** How many times a version race between two uploads of one cluster is retried. */
const VERSION_RACE_RETRIES = 5;

/** The drift schema's queries: desired-state bundles, versioned per cluster. */
export class BundleStore {
  constructor(private readonly db: Kysely<DriftDb>) {}

  /**
   * Stores `objects` (already validated) as the cluster's next version, in one
   * statement; an upload equal to the latest version stores nothing and
   * returns that version (`created: false`).
   */
  async put(tenantId: string, clusterId: string, objects: DesiredObject[], uploadedBy: string): Promise<{ bundle: StoredBundle; created: boolean }> {
    const json = JSON.stringify(objects);
    const digest = createHash("sha256").update(json).digest("hex");
    for (let attempt = 0; ; attempt++) {
      const latest = await this.latest(tenantId, clusterId);
      if (latest?.digest === digest) return { bundle: latest, created: false };
      try {
        const row = await this.db
          .insertInto("bundles")
          .values({
            tenant_id: tenantId,
            cluster_id: clusterId,
            version: sql<number>`(select coalesce(max(version), 0) + 1 from bundles where tenant_id = ${tenantId} and cluster_id = ${clusterId})`,
            digest,
            objects: json,
            object_count: objects.length,
            size_bytes: Buffer.byteLength(json),
            uploaded_by: uploadedBy,
          })
          .returning(["cluster_id", "version", "digest", "object_count", "size_bytes", "uploaded_by", "uploaded_at"])
          .executeTakeFirstOrThrow();
        return { bundle: toBundle(row), created: true };
      } catch (err) {
        // Two uploads took the same next version: the loser reads the new latest and tries again.
        if (isUniqueViolation(err) && attempt < VERSION_RACE_RETRIES) continue;
        throw err;
      }
    }
  }

  async latest(tenantId: string, clusterId: string): Promise<StoredBundle | undefined> {
    const row = await this.meta(tenantId, clusterId).orderBy("version", "desc").limit(1).executeTakeFirst();
    return row ? toBundle(row) : undefined;
  }

  /** One version's metadata. */
  async version(tenantId: string, clusterId: string, version: number): Promise<StoredBundle | undefined> {
    const row = await this.meta(tenantId, clusterId).where("version", "=", version).executeTakeFirst();
    return row ? toBundle(row) : undefined;
  }

  private meta(tenantId: string, clusterId: string) {
    return this.db
      .selectFrom("bundles")
      .select(["cluster_id", "version", "digest", "object_count", "size_bytes", "uploaded_by", "uploaded_at"])
      .where("tenant_id", "=", tenantId)
      .where("cluster_id", "=", clusterId);
  }

  /** The objects of one version (the latest when `version` is omitted). */
  async objects(tenantId: string, clusterId: string, version?: number): Promise<{ version: number; objects: DesiredObject[] } | undefined> {
    let q = this.db.selectFrom("bundles").select(["version", "objects"]).where("tenant_id", "=", tenantId).where("cluster_id", "=", clusterId);
    if (version !== undefined) q = q.where("version", "=", version);
    const row = await q.orderBy("version", "desc").limit(1).executeTakeFirst();
    return row ? { version: row.version, objects: row.objects } : undefined;
  }
}

function toBundle(r: { cluster_id: string; version: number; digest: string; object_count: number; size_bytes: number; uploaded_by: string; uploaded_at: Date }): StoredBundle {
  return { clusterId: r.cluster_id, version: r.version, digest: r.digest, objectCount: r.object_count, sizeBytes: r.size_bytes, uploadedBy: r.uploaded_by, uploadedAt: r.uploaded_at };
}
