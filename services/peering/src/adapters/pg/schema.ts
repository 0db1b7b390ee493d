/** Row shapes of the `peering` schema as pg returns them (inet/cidr as text). */
import type { ClusterStatusName } from "../../domain/cluster.js";

export interface TenantSubnetsTable {
  tenant_id: string;
  cidr: string;
  hub_ip: string;
  created_at: Date;
  updated_at: Date;
}

export interface ClustersTable {
  id: string;
  tenant_id: string;
  name: string;
  public_key: string | null;
  status: ClusterStatusName;
  status_since: Date;
  last_handshake: Date | null;
  edge_version: string;
  api_reachable: boolean;
  diagnostic: string;
  created_at: Date;
  enrolled_at: Date | null;
  last_enrollment_id: string | null;
  pending_enrollment_id: string | null;
  pending_public_key: string | null;
  pending_new_address: boolean;
  pending_since: Date | null;
  recovery_claimed_at: Date | null;
  /** The hub node carrying the tunnel (home-store.ts); home_epoch is a bigint, read as text. */
  home_node: string | null;
  home_epoch: string;
  home_since: Date | null;
}

export interface AddressesTable {
  ip: string;
  tenant_id: string;
  cluster_id: string;
}

export interface EnrollmentsTable {
  enrollment_id: string;
  cluster_id: string;
  public_key: string;
  committed_at: Date;
}

/** The private key is sealed (keyring.ts); `private_key` only holds a row from before encryption until the next start seals it. */
export interface HubIdentityTable {
  id: number;
  private_key: string | null;
  public_key: string;
  created_at: Date;
  kek_id: string | null;
  wrapped_dek: Buffer | null;
  private_key_sealed: Buffer | null;
}

export interface HubNodesTable {
  id: string;
  endpoint: string;
  heartbeat_at: Date;
  draining: boolean;
}

export interface PeeringDb {
  hub_nodes: HubNodesTable;
  tenant_subnets: TenantSubnetsTable;
  clusters: ClustersTable;
  addresses: AddressesTable;
  enrollments: EnrollmentsTable;
  hub_identity: HubIdentityTable;
}
