import type { ColumnType, Generated } from "kysely";
import type { DesiredObject } from "../../domain/bundle.js";

/** Kysely view of the `drift` schema. */
export interface BundlesTable {
  tenant_id: string;
  cluster_id: string;
  /** 1, 2, … per cluster: each accepted upload that differs from the latest is a new version. */
  version: number;
  /** sha256 (hex) of the objects as stored: an identical re-upload is the same version. */
  digest: string;
  /** The validated objects (Secret values already hashed, bundle.ts). */
  objects: ColumnType<DesiredObject[], string, never>;
  object_count: number;
  size_bytes: number;
  uploaded_by: string;
  uploaded_at: Generated<Date>;
}

export interface DriftDb {
  bundles: BundlesTable;
}
