/**
 * The peering store: every query of the `peering` schema, with pg errors
 * translated to domain errors (headscale's db/ layer), one store per concept
 * behind this facade: subnets (subnet-store.ts), clusters (cluster-store.ts),
 * enrollment (enrollment-store.ts), recovery claims (recovery-store.ts),
 * health (health-store.ts), RBAC widening (rbac-store.ts), the hub's
 * identity (hub-identity-store.ts) and the hub nodes' homes (home-store.ts).
 */
import type { Logger, PgPool } from "@daalu/runtime";
import type { Kysely } from "kysely";
import type { ClusterStatusName } from "../../domain/cluster.js";
import type { KeyRing } from "../../keyring.js";
import { ClusterStore } from "./cluster-store.js";
import { EnrollmentStore } from "./enrollment-store.js";
import { HealthStore } from "./health-store.js";
import { HomeStore } from "./home-store.js";
import { HubIdentityStore, type HubIdentity } from "./hub-identity-store.js";
import { RbacStore } from "./rbac-store.js";
import { RecoveryStore } from "./recovery-store.js";
import type { ClusterRecord, CommitResult, HealthPatch, PeerRecord, Reservation, StalePending, SubnetRecord, SubnetRef } from "./rows.js";
import type { PeeringDb } from "./schema.js";
import { PreparedStatements } from "./statements.js";
import { SubnetStore } from "./subnet-store.js";
import { TransitionStore } from "./transition-store.js";

export type { ClusterRecord, CommitResult, HealthPatch, PeerRecord, Reservation, StalePending, SubnetRecord, SubnetRef } from "./rows.js";

export interface StoreOptions {
  /** Pool new tenants' subnets are carved from. */
  pool: string;
  /** Pool of hub addresses (one per tenant), disjoint from every tenant subnet. */
  hubPool: string;
  defaultPrefix: number;
  /** Prefer blocks whose `growthBits`-wider enclosing block is free of other tenants. */
  growthBits: number;
  /** A hub private key from a file; when set, the database key is not used. */
  hubPrivateKey?: string;
  /** Key-encryption keys that seal the hub's private key in the database. */
  keyRing?: KeyRing;
  logger?: Logger;
  /**
   * The pool under `db`. With it the hot enrollment statements run as named
   * prepared statements: each connection parses and plans them once (planning
   * the reservation's CTE cost more than running it).
   */
  pgPool?: PgPool;
}

type EnrollmentOpts = { tenantId?: string; expectedPendingSince?: Date };

export class PeeringStore {
  readonly subnets: SubnetStore;
  readonly clusters: ClusterStore;
  readonly enrollment: EnrollmentStore;
  readonly recovery: RecoveryStore;
  readonly health: HealthStore;
  readonly identity: HubIdentityStore;
  readonly transitions: TransitionStore;
  readonly rbac: RbacStore;
  readonly homes: HomeStore;

  constructor(
    readonly db: Kysely<PeeringDb>,
    opts: StoreOptions,
  ) {
    this.subnets = new SubnetStore(db, opts);
    this.clusters = new ClusterStore(db, this.subnets);
    this.enrollment = new EnrollmentStore(db, new PreparedStatements(db, opts.pgPool), opts.logger);
    this.recovery = new RecoveryStore(db);
    this.health = new HealthStore(db);
    this.transitions = new TransitionStore(db);
    this.rbac = new RbacStore(db);
    this.homes = new HomeStore(db);
    this.identity = new HubIdentityStore(db, { fileKey: opts.hubPrivateKey, keyRing: opts.keyRing, logger: opts.logger });
  }

  getSubnet(tenantId: string): Promise<SubnetRecord | undefined> {
    return this.subnets.getSubnet(tenantId);
  }

  ensureSubnet(tenantId: string, requested?: string): Promise<SubnetRecord> {
    return this.subnets.ensureSubnet(tenantId, requested);
  }

  setSubnet(tenantId: string, cidr: string): Promise<SubnetRecord> {
    return this.subnets.setSubnet(tenantId, cidr);
  }

  listSubnets(): Promise<SubnetRef[]> {
    return this.subnets.listSubnets();
  }

  createCluster(tenantId: string, name: string): Promise<ClusterRecord> {
    return this.clusters.createCluster(tenantId, name);
  }

  getCluster(id: string, tenantId?: string): Promise<ClusterRecord> {
    return this.clusters.getCluster(id, tenantId);
  }

  listClusters(tenantId: string): Promise<ClusterRecord[]> {
    return this.clusters.listClusters(tenantId);
  }

  deleteCluster(id: string, tenantId: string): Promise<{ cluster: ClusterRecord; subnet: SubnetRecord | undefined }> {
    return this.clusters.deleteCluster(id, tenantId);
  }

  listPeers(): Promise<PeerRecord[]> {
    return this.clusters.listPeers();
  }

  reserve(clusterId: string, publicKey: string, enrollmentId: string, tenantId?: string): Promise<Reservation> {
    return this.enrollment.reserve(clusterId, publicKey, enrollmentId, tenantId);
  }

  commit(clusterId: string, enrollmentId: string, opts: EnrollmentOpts = {}): Promise<CommitResult> {
    return this.enrollment.commit(clusterId, enrollmentId, opts);
  }

  release(clusterId: string, enrollmentId: string, opts: EnrollmentOpts = {}): Promise<boolean> {
    return this.enrollment.release(clusterId, enrollmentId, opts);
  }

  claimStalePending(olderThanMs: number, leaseMs: number, limit?: number): Promise<StalePending[]> {
    return this.recovery.claimStalePending(olderThanMs, leaseMs, limit);
  }

  updateHealth(clusterId: string, patch: HealthPatch): Promise<{ cluster: ClusterRecord; previousStatus: ClusterStatusName } | undefined> {
    return this.health.updateHealth(clusterId, patch);
  }

  updateHealthMany(items: readonly { clusterId: string; patch: HealthPatch }[]): Promise<Map<string, { cluster: ClusterRecord; previousStatus: ClusterStatusName }>> {
    return this.health.updateHealthMany(items);
  }

  /** The hub's WireGuard key pair (see HubIdentityStore). */
  hubIdentity(): Promise<HubIdentity> {
    return this.identity.get();
  }

  /** The hub's private key (for the WireGuard node). Never log it. */
  hubPrivateKey(): Promise<string> {
    return this.identity.privateKey();
  }
}
