import type { ColumnType, Selectable } from "kysely";

/** Kysely view of the `invite` schema. */
export interface InvitesTable {
  id: string;
  tenant_id: string;
  cluster_id: string;
  cluster_name: string;
  selector: string;
  verifier_hash: Buffer;
  created_at: ColumnType<Date, Date, never>;
  expires_at: Date;
  redeemed_at: Date | null;
  redeemed_public_key: string | null;
  revoked_at: Date | null;
  created_by: string;
  regenerated_from: string | null;
}

export interface InviteDb {
  invites: InvitesTable;
}

export type InviteRow = Selectable<InvitesTable>;
