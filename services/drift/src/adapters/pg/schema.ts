import type { ColumnType, Generated } from "kysely";
import type { DesiredObject } from "../../domain/bundle.js";
import type { IgnoreRule, ObjectResult } from "../../domain/detect.js";

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

/** Reconciliation settings per cluster; no row = off with the defaults. */
export interface ReconciliationTable {
  tenant_id: string;
  cluster_id: string;
  enabled: boolean;
  interval_seconds: number;
  ignore: ColumnType<IgnoreRule[], string, string>;
  updated_by: string;
  updated_at: Generated<Date>;
  /** When the scheduler next checks the cluster (on its phase, domain/schedule.ts). */
  next_due_at: Date;
}

/** The latest check of each cluster. */
export interface ReportsTable {
  tenant_id: string;
  cluster_id: string;
  bundle_version: number;
  trigger: string;
  started_at: Date;
  finished_at: Date;
  in_sync: number;
  modified: number;
  missing: number;
  unknown: number;
  reads: number;
  /** A drift episode is open. */
  drifted: boolean;
  /** ObjectResult[] (Secret values only as hashes). */
  objects: ColumnType<ObjectResult[], string, string>;
}

export interface DriftDb {
  bundles: BundlesTable;
  reconciliation: ReconciliationTable;
  reports: ReportsTable;
}
